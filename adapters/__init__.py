"""Department adapters: one package per step over a shared worker runtime.

Each adapter consumes its department's command queue, maps the step's
department-neutral record (`contracts.records`) to the department's wire format
(docs/departments.md), calls the department over HTTP with the command's
`Idempotency-Key`, and publishes a `StepReply` to the results exchange.

The composition root uses `adapters.registry` (`AdapterRuntime`, `build_adapter`)
and `adapters._runtime.settings.AdapterSettings`.
"""
