"""The typed Python client of the gradyard API; the `gradyard` command uses it for every client verb."""

import time
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Literal, overload

import httpx

from client.config import resolve_settings
from client.datasets import DatasetVerbs
from client.errors import ApiError, Unreachable
from client.frames import ARROW_TYPE, FrameKind, frame_of, have_pyarrow, read_stream, wide_arrow
from client.models import ModelVerbs
from client.pools import PoolVerbs
from client.sse import StreamEvent, parse_events
from client.sweeps import SweepVerbs
from client.table import Series, loads, to_frame

Job = dict[str, Any]
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
PlotFormat = Literal["png", "svg"]


def _csv(values: list[str] | tuple[str, ...] | None) -> str | None:
    return None if values is None else ",".join(values)


class Client(DatasetVerbs, ModelVerbs, PoolVerbs, SweepVerbs):
    """A gradyard server: `Client(url, key)`; both default to GRADYARD_URL/GRADYARD_KEY, the config file, loopback."""

    def __init__(
        self,
        url: str | None = None,
        key: str | None = None,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = resolve_settings(url=url, key=key)
        self.url = settings.url
        headers = {"User-Agent": "gradyard-client/0.1"}
        if settings.key:
            headers["Authorization"] = f"Bearer {settings.key}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout, transport=transport)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise Unreachable(f"no answer from {self.url}: {exc}") from exc
        if response.is_error:
            raise ApiError.of(response)
        return response

    def submit(self, spec: Mapping[str, Any], *, idempotency_key: str | None = None) -> Job:
        """Submit a job spec; the new job (status `queued`, the spec with defaults filled in)."""
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return dict(self._request("POST", "/jobs", json=dict(spec), headers=headers).json())

    def get(self, job_id: str) -> Job:
        """One job: status, resolved spec, progress, timestamps, a summary of each metric."""
        return dict(self._request("GET", f"/jobs/{job_id}").json())

    def jobs(self, *, status: str | None = None, limit: int = 50) -> list[Job]:
        """The newest jobs (at most `limit`), optionally only those with this status."""
        params: dict[str, Any] = {"limit": limit} | ({"status": status} if status else {})
        return list(self._request("GET", "/jobs", params=params).json()["items"])

    def cancel(self, job_id: str) -> Job:
        """Ask a job to stop (idempotent); the job as it is now."""
        return dict(self._request("POST", f"/jobs/{job_id}/cancel").json())

    def catalog(self) -> dict[str, list[dict[str, Any]]]:
        """Every dataset, model, loss, optimizer and scheduler with its parameters, defaults and bounds."""
        return dict(self._request("GET", "/catalog").json())

    @overload
    def metrics(
        self,
        job_id: str,
        *,
        names: list[str] | None = ...,
        after_step: int = ...,
        max_points: int | None = ...,
        as_frame: Literal[False] = ...,
    ) -> dict[str, Series]: ...
    @overload
    def metrics(
        self,
        job_id: str,
        *,
        names: list[str] | None = ...,
        after_step: int = ...,
        max_points: int | None = ...,
        as_frame: Literal[True] | FrameKind,
    ) -> Any: ...
    def metrics(
        self,
        job_id: str,
        *,
        names: list[str] | None = None,
        after_step: int = 0,
        max_points: int | None = None,
        as_frame: bool | FrameKind = False,
    ) -> Any:
        """The history: {name: {"step", "epoch", "value", "time"}} columns; with as_frame a wide DataFrame indexed by
        step (pandas; as_frame="polars" gives a polars one with `step` as a column), read from the Arrow answer."""
        params: dict[str, Any] = {"after_step": after_step}
        if names is not None:
            params["names"] = _csv(names)
        if max_points is not None:
            params["max_points"] = max_points
        path = f"/jobs/{job_id}/metrics"
        kind: FrameKind = "polars" if as_frame == "polars" else "pandas"
        if as_frame and (kind == "polars" or have_pyarrow()):
            stream = self._request("GET", path, params=params, headers={"Accept": ARROW_TYPE}).content
            return frame_of(wide_arrow(read_stream(stream), names), kind=kind)
        metrics: dict[str, Series] = loads(self._request("GET", path, params=params).content)["metrics"]
        if names is not None:  # columns in the order asked for
            metrics = {name: metrics[name] for name in names if name in metrics}
        return to_frame(metrics) if as_frame else metrics

    def follow(self, job_id: str, *, poll_seconds: float = 1.0, timeout: float | None = None) -> Iterator[Job]:
        """The job after each poll, until it ends (the last one yielded is terminal); TimeoutError past `timeout`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            yield job
            if job["status"] in TERMINAL:
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"job {job_id} is still {job['status']} after {timeout}s")
            time.sleep(poll_seconds)

    def events(
        self, job_id: str, *, names: list[str] | None = None, last_event_id: str | None = None, reconnects: int = 5
    ) -> Iterator[StreamEvent]:
        """The job's live stream (status, metrics, rewind, end) until it ends; a dropped connection resumes where it
        stopped, with Last-Event-ID, up to `reconnects` times in a row."""
        params = {"names": _csv(names)} if names is not None else {}
        failures = 0
        while True:
            headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
            try:
                with self._http.stream(
                    "GET",
                    f"/jobs/{job_id}/events",
                    params=params,
                    headers=headers,
                    timeout=httpx.Timeout(30, read=None),
                ) as response:
                    if response.is_error:
                        response.read()
                        raise ApiError.of(response)
                    for event in parse_events(response.iter_lines()):
                        failures, last_event_id = 0, event.id or last_event_id
                        yield event
                        if event.event == "end":
                            return
            except httpx.TransportError as exc:
                failures += 1
                if failures > reconnects:
                    raise Unreachable(f"the stream of job {job_id} from {self.url} broke: {exc}") from exc
                time.sleep(1.0)  # the server's `retry:` advice

    def wait(self, job_id: str, *, poll_seconds: float = 1.0, timeout: float | None = None) -> Job:
        """Block until the job ends; the finished job (check its `status`)."""
        *_, finished = self.follow(job_id, poll_seconds=poll_seconds, timeout=timeout)
        return finished

    def plot(self, job_id: str, *, names: list[str] | None = None, fmt: PlotFormat = "png", log: bool = False) -> bytes:
        """A picture of the job's curves (PNG or SVG bytes), one panel per family of metrics."""
        params: dict[str, Any] = {"log": log} | ({"names": _csv(names)} if names else {})
        return self._request("GET", f"/jobs/{job_id}/plot.{fmt}", params=params).content

    def compare_plot(self, job_ids: list[str], *, metric: str, fmt: PlotFormat = "png", log: bool = False) -> bytes:
        """One metric of several jobs on one chart (PNG or SVG bytes)."""
        params = {"jobs": _csv(job_ids), "metric": metric, "log": log}
        return self._request("GET", f"/compare/plot.{fmt}", params=params).content
