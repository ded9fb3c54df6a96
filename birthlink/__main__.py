"""`python -m birthlink` is the `birthlink` command."""

from birthlink.cli import main

main()
