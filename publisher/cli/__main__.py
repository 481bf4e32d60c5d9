"""``python -m publisher.cli``: the ``herald`` console script, settings checked first."""

from publisher.cli import main

main()
