"""`gradyard keys`: make, list and revoke API keys, straight in the database the server uses."""

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core import repository
from core.db import session_scope

keys_app = typer.Typer(help="Make, list and revoke API keys (reads the same settings as the server).")
console = Console()


@keys_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="The key's owner; created if new.", min=1)],
    admin: Annotated[bool, typer.Option("--admin", help="The user sees and manages every job.")] = False,
) -> None:
    """Make a key and print it: this is the only time it is shown."""
    with session_scope() as session:
        issued = repository.issue_key(session, user_name=user, is_admin=admin)
    typer.echo(issued.key)
    kind = "admin" if issued.is_admin else "user"
    typer.echo(f"key {issued.id} for {kind} '{issued.user}': store it now, it is not shown again", err=True)


@keys_app.command("list")
def list_keys() -> None:
    """Every key with its owner and state (never the secret)."""
    table = Table("prefix", "user", "admin", "created", "revoked")
    table.add_column("id", no_wrap=True)
    with session_scope() as session:
        for key in repository.list_keys(session):
            table.add_row(
                key.id,
                key.prefix + "...",
                key.user,
                "yes" if key.is_admin else "",
                key.created_at,
                key.revoked_at or "",
            )
    console.print(table)


@keys_app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id, from `gradyard keys list`.")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with session_scope() as session:
        revoked = repository.revoke_key(session, key_id=key_id)
    if not revoked:
        typer.echo(f"no live key has id '{key_id}'", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")
