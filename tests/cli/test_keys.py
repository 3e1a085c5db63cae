"""`gradyard keys` as an operator runs it: processes on a real database (SQLite and PostgreSQL), rights per key."""

import itertools
import json
import os
import subprocess
import sys
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core import repository
from core.db import make_engine
from core.keys import key_prefix

SCREEN = 80


def gradyard(database_url: str, *args: str, columns: int | None = SCREEN) -> subprocess.CompletedProcess[str]:
    """Run `gradyard ARGS` as a process on this database, its output piped, COLUMNS set unless None."""
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"GRADYARD_DATABASE_URL": database_url}
    env |= {"COLUMNS": str(columns)} if columns else {}
    return subprocess.run([sys.executable, "-m", "cli", *args], env=env, capture_output=True, text=True, timeout=60)


def create(database_url: str, user: str, *flags: str) -> tuple[str, str]:
    """A new key made with `keys create`: its secret, and what the command said on stderr."""
    done = gradyard(database_url, "keys", "create", "--user", user, *flags)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip(), done.stderr.strip()


def rights(database_url: str, key: str) -> tuple[str, bool] | None:
    """Whose key the server takes it for and whether it is an admin key; None for a key it refuses."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session:
            found = repository.principal_for_key(session, key=key)
    finally:
        engine.dispose()
    return None if found is None else (found.name, found.is_admin)


def listed(database_url: str) -> list[dict[str, Any]]:
    """`keys list --json`."""
    done = gradyard(database_url, "keys", "list", "--json")
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout))


def key_id(database_url: str, secret: str) -> str:
    """The id `keys list` gives the key with this secret."""
    return next(k["id"] for k in listed(database_url) if secret.startswith(k["prefix"]))


def test_an_admin_key_leaves_the_user_s_other_keys_as_they_were(database_url: str) -> None:
    plain, said = create(database_url, "alice")
    assert said.endswith("for 'alice' with user rights (its user's own jobs): store it now, it is not shown again")
    admin, said = create(database_url, "alice", "--admin")
    assert "for 'alice' with admin rights (sees and manages every job)" in said
    assert [rights(database_url, plain), rights(database_url, admin)] == [("alice", False), ("alice", True)]
    another, _ = create(database_url, "alice")  # a plain key after an admin one takes nothing from it either
    assert [rights(database_url, k) for k in (plain, admin, another)] == [
        ("alice", False),
        ("alice", True),
        ("alice", False),
    ]


def test_admin_rights_are_given_and_taken_per_key(database_url: str) -> None:
    admin, _ = create(database_url, "root", "--admin")
    other, _ = create(database_url, "root", "--admin")
    admin_id = key_id(database_url, admin)
    off = gradyard(database_url, "keys", "admin", admin_id, "--off")
    assert off.returncode == 0, off.stderr
    assert off.stdout.strip() == (
        f"key {admin_id} of 'root' had admin rights (sees and manages every job), "
        "now has user rights (its user's own jobs)"
    )
    assert [rights(database_url, admin), rights(database_url, other)] == [("root", False), ("root", True)]
    again = gradyard(database_url, "keys", "admin", admin_id, "--off")
    assert again.stdout.strip().endswith("already has user rights (its user's own jobs): nothing changed")
    back = gradyard(database_url, "keys", "admin", admin_id)
    assert back.stdout.strip().endswith("now has admin rights (sees and manages every job)")
    assert rights(database_url, admin) == ("root", True)
    assert gradyard(database_url, "keys", "revoke", admin_id).returncode == 0
    for args in ((admin_id,), ("no-such-key", "--off")):
        refused = gradyard(database_url, "keys", "admin", *args)
        assert (refused.returncode, refused.stderr.strip()) == (1, f"no live key has id '{args[0]}'")


def table_rows(text: str) -> list[dict[str, str]]:
    """A rich table's rows as {header: cell}, cut at the header's column positions; wrapped lines joined."""
    lines = text.splitlines()
    headers = lines[0].split()
    starts = [lines[0].index(h) for h in headers] + [None]
    rows: list[dict[str, str]] = []
    for line in lines[2:]:
        cells = [line[start:end].strip() for start, end in itertools.pairwise(starts)]
        if cells[0]:
            rows.append(dict(zip(headers, cells, strict=True)))
        else:  # a wrapped cell's next line
            rows[-1] = {h: (rows[-1][h] + cell) for h, cell in zip(headers, cells, strict=True)}
    return rows


@pytest.mark.parametrize("columns", [SCREEN, None], ids=["COLUMNS=80", "piped"])
def test_the_list_fits_80_columns_with_whole_ids_and_true_states(database_url: str, columns: int | None) -> None:
    alice, _ = create(database_url, "alice")
    root, _ = create(database_url, "root-with-a-rather-long-name", "--admin")
    gone, _ = create(database_url, "bob")
    assert gradyard(database_url, "keys", "revoke", key_id(database_url, gone)).returncode == 0
    ids = {key["prefix"]: key["id"] for key in listed(database_url)}
    done = gradyard(database_url, "keys", "list", columns=columns)
    assert done.returncode == 0, done.stderr
    assert max(len(line) for line in done.stdout.splitlines()) <= SCREEN
    assert "…" not in done.stdout  # nothing cut off: a long cell wraps
    expected = [
        (alice, "alice", "no", "live"),
        (root, "root-with-a-rather-long-name", "yes", "live"),
        (gone, "bob", "no", "revoked"),
    ]
    assert table_rows(done.stdout) == [
        {"id": ids[key_prefix(secret)], "key": key_prefix(secret), "user": user, "admin": admin, "state": state}
        for secret, user, admin, state in expected
    ]


def test_the_json_list_carries_rights_and_times(database_url: str) -> None:
    secret, _ = create(database_url, "alice", "--admin")
    [key] = listed(database_url)
    assert secret.startswith(key["prefix"]) and (key["user"], key["admin"], key["revoked_at"]) == ("alice", True, None)
    assert key["created_at"].endswith("+00:00")
