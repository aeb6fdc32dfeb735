"""`copyme issuer ...`: thin commands over the issuer library."""

from __future__ import annotations

import typer

app = typer.Typer(help="The data user's SDK: sign consent requests, show the CopyMe button, receive consents, fetch data.", no_args_is_help=True)
