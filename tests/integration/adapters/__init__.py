"""Adapters against the sandbox departments over real HTTP."""
