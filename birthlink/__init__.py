"""The composition root: the `birthlink` CLI and the wiring of every role.
The only package that imports all the others."""
