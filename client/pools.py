"""The queue verbs of the Python client: the queued jobs in run order, the pools, the workers, a job's priority."""

from typing import Any, Protocol

import httpx


class _Requester(Protocol):
    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response: ...


class PoolVerbs:
    """Pools and the queue (mixed into Client)."""

    def queue(self: _Requester, *, pool: str | None = None) -> list[dict[str, Any]]:
        """Queued jobs in the order they will run (of one pool, when given), each with its position and reason."""
        params = {"pool": pool} if pool else {}
        return list(self._request("GET", "/queue", params=params).json()["items"])

    def pools(self: _Requester) -> list[dict[str, Any]]:
        """Each pool's slots, busy slots, running and queued jobs."""
        return list(self._request("GET", "/pools").json()["items"])

    def workers(self: _Requester) -> list[dict[str, Any]]:
        """The registered workers (admin keys only)."""
        return list(self._request("GET", "/workers").json()["items"])

    def set_priority(self: _Requester, job_id: str, priority: str) -> dict[str, Any]:
        """Change a queued job's priority (low, normal, high); the job."""
        return dict(self._request("PATCH", f"/jobs/{job_id}", json={"priority": priority}).json())
