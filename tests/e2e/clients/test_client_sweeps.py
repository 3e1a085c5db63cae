"""The Python client's sweep pictures against the live stack: each kind as PNG and SVG, a bad kind the server's 422."""

import pytest

from client import ApiError, Client
from tests.e2e.conftest import Stack
from tests.e2e.test_sweeps import SWEEP

pytestmark = pytest.mark.e2e


def test_a_sweeps_pictures_of_every_kind(live_stack: Stack) -> None:
    client = Client(live_stack.url, live_stack.key)
    spec = SWEEP | {"name": "client-plots", "pruner": "none", "max_trials": 2, "base": SWEEP["base"] | {"epochs": 2}}
    sweep = client.create_sweep(spec)
    *_, (done, board) = client.follow_sweep(sweep["id"], poll_seconds=0.2, timeout=120)
    assert done["state"] == "succeeded" and len(board) == 2
    for kind in ("history", "parallel", "importance"):
        assert client.sweep_plot(sweep["id"], kind=kind).startswith(b"\x89PNG")
        assert client.sweep_plot(sweep["id"], kind=kind, fmt="svg").lstrip().startswith(b"<?xml")
    with pytest.raises(ApiError) as refused:
        client.sweep_plot(sweep["id"], kind="pie")  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.errors[0]["loc"]) == (422, ["query", "kind"])
