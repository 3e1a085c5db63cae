"""The sweep verbs of the Python client: start a search, read it and its leaderboard, follow it, stop it."""

import time
from collections.abc import Iterator, Mapping
from typing import Any, Literal, Protocol

import httpx

Sweep = dict[str, Any]
SweepPlotKind = Literal["history", "parallel", "importance"]


class _Requester(Protocol):
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


class _Reader(Protocol):
    def sweep(self, sweep_id: str) -> Sweep: ...
    def sweep_trials(self, sweep_id: str) -> list[dict[str, Any]]: ...


class SweepVerbs:
    """Hyperparameter sweeps (mixed into Client)."""

    def create_sweep(self: _Requester, spec: Mapping[str, Any]) -> Sweep:
        """Start a sweep (base job, space, objective, sampler, pruner, budget); the sweep, its first trials queued."""
        return dict(self._request("POST", "/sweeps", json=dict(spec)).json())

    def sweep(self: _Requester, sweep_id: str) -> Sweep:
        """One sweep: state, trial counts, best trial."""
        return dict(self._request("GET", f"/sweeps/{sweep_id}").json())

    def sweeps(self: _Requester, *, limit: int = 50) -> list[Sweep]:
        """Your newest sweeps."""
        return list(self._request("GET", "/sweeps", params={"limit": limit}).json()["items"])

    def sweep_trials(self: _Requester, sweep_id: str) -> list[dict[str, Any]]:
        """The leaderboard: each trial's number, job id, values, objective, status and reason, best first."""
        return list(self._request("GET", f"/sweeps/{sweep_id}/trials").json()["items"])

    def sweep_plot(
        self: _Requester, sweep_id: str, *, kind: SweepPlotKind = "history", fmt: Literal["png", "svg"] = "png"
    ) -> bytes:
        """A picture of the sweep (PNG or SVG bytes): its history, parallel coordinates, or its keys' importance."""
        return self._request("GET", f"/sweeps/{sweep_id}/plot.{fmt}", params={"kind": kind}).content

    def stop_sweep(self: _Requester, sweep_id: str) -> Sweep:
        """Stop a sweep: no new trials, its running trials cancelled (idempotent)."""
        return dict(self._request("POST", f"/sweeps/{sweep_id}/stop").json())

    def follow_sweep(
        self: _Reader, sweep_id: str, *, poll_seconds: float = 1.0, timeout: float | None = None
    ) -> Iterator[tuple[Sweep, list[dict[str, Any]]]]:
        """The sweep and its leaderboard after each poll, until it ends; TimeoutError past `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            sweep = self.sweep(sweep_id)
            yield sweep, self.sweep_trials(sweep_id)
            if sweep["state"] != "running":
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"sweep {sweep_id} is still running after {timeout}s")
            time.sleep(poll_seconds)
