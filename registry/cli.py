"""`copyme registry ...`: thin commands over the registry library."""

from __future__ import annotations

import typer

app = typer.Typer(help="The status registry: serves signed status lists and pushes their changes; holds no consents.", no_args_is_help=True)
