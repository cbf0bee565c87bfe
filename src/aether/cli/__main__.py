"""`python -m aether.cli`: the `aether` command."""

from aether.cli import main

main()
