"""Health commission (`nhc`): the birth medical certificate (出生医学证明)."""
