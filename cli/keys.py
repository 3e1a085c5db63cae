"""`gradyard keys`: make, list, revoke API keys and set their admin rights, straight in the database the server uses."""

from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from core import repository
from core.db import session_scope

keys_app = typer.Typer(help="Make, list and revoke API keys and set their rights (reads the server's settings).")
out = Console(highlight=False)
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id, from `gradyard keys list`.")]


def _rights(is_admin: bool) -> str:
    return "admin rights (sees and manages every job)" if is_admin else "user rights (its user's own jobs)"


@keys_app.command("create")
def create(
    user: Annotated[str, typer.Option("--user", help="The key's owner; created if new.", min=1)],
    admin: Annotated[bool, typer.Option("--admin", help="This key sees and manages every job.")] = False,
) -> None:
    """Make a key and print it: this is the only time it is shown. The user's other keys keep their rights."""
    with session_scope() as session:
        issued = repository.issue_key(session, user_name=user, is_admin=admin)
    typer.echo(issued.key)
    typer.echo(
        f"key {issued.id} for '{issued.user}' with {_rights(issued.is_admin)}: store it now, it is not shown again",
        err=True,
    )


def _as_json(key: repository.KeyInfo) -> dict[str, Any]:
    return {
        "id": key.id,
        "prefix": key.prefix,
        "user": key.user,
        "admin": key.is_admin,
        "created_at": key.created_at.isoformat(),
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as JSON, with their times.")] = False,
) -> None:
    """Every key, oldest first, with its owner, rights and state (never the secret)."""
    with session_scope() as session:
        keys = repository.list_keys(session)
    if as_json:
        out.print_json(data=[_as_json(key) for key in keys])
        return
    # Sized for 80 columns: the id (what `keys revoke` and `keys admin` take) and the prefix (how a holder finds
    # their key) never wrap; times stay in --json, where a 36-character id leaves them no room.
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    table.add_column("id", no_wrap=True)
    table.add_column("key", no_wrap=True)
    table.add_column("user", overflow="fold")
    table.add_column("admin", no_wrap=True)
    table.add_column("state", no_wrap=True)
    for key in keys:
        state = "revoked" if key.revoked_at else "live"
        table.add_row(key.id, key.prefix, key.user, "yes" if key.is_admin else "no", state)
    out.print(table)


@keys_app.command("revoke")
def revoke(key_id: KeyIdArgument) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    with session_scope() as session:
        revoked = repository.revoke_key(session, key_id=key_id)
    if not revoked:
        typer.echo(f"no live key has id '{key_id}'", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@keys_app.command("admin")
def admin(
    key_id: KeyIdArgument,
    off: Annotated[bool, typer.Option("--off", help="Take admin rights away instead of giving them.")] = False,
) -> None:
    """Give one key admin rights (it sees and manages every job), or take them away with --off."""
    with session_scope() as session:
        before = repository.set_key_admin(session, key_id=key_id, is_admin=not off)
    if before is None:
        typer.echo(f"no live key has id '{key_id}'", err=True)
        raise typer.Exit(1)
    if before.is_admin == (not off):
        typer.echo(f"key {key_id} of '{before.user}' already has {_rights(before.is_admin)}: nothing changed")
        return
    typer.echo(f"key {key_id} of '{before.user}' had {_rights(before.is_admin)}, now has {_rights(not off)}")
