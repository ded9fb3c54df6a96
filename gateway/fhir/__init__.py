"""HL7 FHIR (R4, R4B) at the edge: BFDR-shaped Bundles in, Tasks and
OperationOutcomes out (SPEC §12). Parsing and building go through the
``fhir.resources`` R4B models; the birth event contract stays the only rule book."""
