"""The five simulated departments (nhc, cdc, mps, nhsa, hrss) as one ASGI app.

The sandbox stands on the other side of the wire: it speaks the formats of
``docs/departments.md`` with pydantic models of its own and imports nothing
from the rest of birthlink. Build it with :func:`sandbox.app.create_sandbox`.
"""
