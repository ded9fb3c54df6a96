"""birthlink's contracts: the pydantic models every other package speaks.

Imports nothing of ours. `birth` is what hospitals post, `records` the
department-neutral records a step sends, `envelope`/`commands`/`replies` what
travels on the bus, `sealing` the encrypted form personal data takes in the
store and on the bus.
"""
