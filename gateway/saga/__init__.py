"""The saga's pure core: the step DAG (`plan`) and the transitions (`machine`).
Imports only `contracts` and the standard library."""
