"""`copyme verifier ...`: thin commands over the verifier library."""

from __future__ import annotations

import typer

app = typer.Typer(help="The data holder's gate: release data only under a valid, current consent.", no_args_is_help=True)
