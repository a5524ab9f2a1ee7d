"""`python -m gcfetch.cli`, the same as the `gcfetch` command."""

from gcfetch.cli import main

main()
