"""``python -m copyme`` runs the CLI."""

from copyme.cli import main

main()
