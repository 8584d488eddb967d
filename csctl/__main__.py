"""`python -m csctl`, the same as the `csctl` console script."""

from csctl.cli.main import main

main()
