"""`python -m vyr.cli`."""

from vyr.cli import main

main()
