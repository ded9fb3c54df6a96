"""Adapter unit tests: mappings, clients over httpx.MockTransport, the worker."""
