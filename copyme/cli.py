"""The root of the ``copyme`` command; each package contributes its own command group."""

from __future__ import annotations

import typer

from copyme.demo import command as demo_command
from issuer.cli import app as issuer_app
from protocol import __version__
from registry.cli import app as registry_app
from verifier.cli import app as verifier_app
from wallet.cli import app as wallet_app

app = typer.Typer(
    name="copyme",
    help=(
        "CopyMe: consents you sign and keep in your own wallet. Companies ask at the moment "
        "they serve you; data holders check your consent before releasing anything."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(wallet_app, name="wallet", help="Your consent wallet: receive, list, revoke, suspend, resume.")
app.add_typer(issuer_app, name="issuer", help="For companies that use data: requests, the CopyMe button, fetching data.")
app.add_typer(verifier_app, name="verifier", help="For data holders: verify consents before releasing data.")
app.add_typer(registry_app, name="registry", help="The status registry: signed status lists, pushed changes.")
app.command("demo")(demo_command)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"copyme {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """CopyMe: a consent wallet for sharing personal data between companies."""


def main() -> None:
    """Entry point of the ``copyme`` console script."""
    app()
