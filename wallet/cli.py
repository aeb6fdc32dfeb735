"""`copyme wallet ...`: thin commands over the wallet library."""

from __future__ import annotations

import typer

app = typer.Typer(help="The user's consent wallet: keys, consents, status lists; CLI, local API and dashboard.", no_args_is_help=True)
