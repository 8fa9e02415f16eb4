"""`python -m vyr`: the `vyr` command line."""

from vyr.cli import main

main()
