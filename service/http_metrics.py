"""The API's own request counts and latencies, by route template (`/jobs/{job_id}`, never an id), in this process.

Per process, as HTTP numbers are: each API process is its own scrape target. (The domain's numbers come from SQL
instead, see core.repository.monitoring, and agree across processes.)
"""

import time
from collections import defaultdict
from dataclasses import dataclass, field

from service.body_limits import App, Message, Receive, Scope, Send
from service.prometheus_text import Family

# Seconds to an answer's first byte: a stream's life is not its latency.
LATENCY_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
UNMATCHED = "unmatched"  # every path no route matched: one label value, whatever was asked


@dataclass
class _Latency:
    counts: list[int] = field(default_factory=lambda: [0] * len(LATENCY_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        for index, bound in enumerate(LATENCY_BUCKETS):
            if seconds <= bound:
                self.counts[index] += 1
        self.count += 1
        self.total += seconds


class HttpStats:
    """Requests by (method, route, status code) and latency by (method, route), as this process answered them."""

    def __init__(self) -> None:
        self.requests: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: defaultdict[tuple[str, str], _Latency] = defaultdict(_Latency)

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Count one answer."""
        self.requests[(method, route, str(status))] += 1
        self.latency[(method, route)].observe(seconds)

    def families(self) -> list[Family]:
        """The counts and the latency histogram, in exposition form."""
        requests = Family(
            "gradyard_http_requests", "HTTP requests this API process answered.", "counter", ("method", "route", "code")
        ).add_all({key: float(n) for key, n in self.requests.items()})
        latency = Family(
            "gradyard_http_request_duration_seconds",
            "Seconds from a request's arrival to its answer's first byte, in this API process.",
            "histogram",
            ("method", "route"),
        )
        for key in sorted(self.latency):
            seen = self.latency[key]
            latency.add_histogram(key, buckets=LATENCY_BUCKETS, counts=seen.counts, count=seen.count, total=seen.total)
        return [requests, latency]


def route_template(scope: Scope) -> str:
    """The matched route's path template (a mount's prefix), or UNMATCHED: never the path as asked."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) and path else UNMATCHED


class HttpMetrics:
    """ASGI middleware that counts each HTTP answer in `stats`, by route template, once its status is known."""

    def __init__(self, app: App, stats: HttpStats) -> None:
        self.app = app
        self.stats = stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Time the request to its answer's start, then count it under the route that served it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.stats.observe(
                    method=scope["method"],
                    route=route_template(scope),
                    status=int(message["status"]),
                    seconds=time.perf_counter() - started,
                )
            await send(message)

        await self.app(scope, receive, counted)
