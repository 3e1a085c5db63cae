"""Prometheus' text exposition, written by prometheus_client: the API's numbers are read afresh at each scrape (from
SQL and from this process's HTTP counts), so they arrive as metric families a one-scrape collector hands to
`generate_latest`, not as the library's long-lived Counter and Gauge objects."""

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Literal

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# The classic text format (what generate_latest writes for names like ours); Prometheus 2's scraper reads it.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Kind = Literal["gauge", "counter", "histogram"]
_KINDS = {"gauge": GaugeMetricFamily, "counter": CounterMetricFamily, "histogram": HistogramMetricFamily}


class Family:
    """One metric family (a counter's name gets `_total` in the exposition) and its samples."""

    def __init__(self, name: str, help: str, kind: Kind, label_names: tuple[str, ...] = ()) -> None:
        self.kind = kind
        self.metric: Metric = _KINDS[kind](name, help, labels=list(label_names))

    def add(self, values: Sequence[str], value: float) -> None:
        """A gauge's or a counter's sample."""
        self.metric.add_metric(list(values), value)  # type: ignore[attr-defined]

    def add_histogram(
        self, values: Sequence[str], *, buckets: Sequence[float], counts: Sequence[int], count: int, total: float
    ) -> None:
        """A histogram's cumulative counts at each bound, `+Inf` being the count, and the sum."""
        pairs = [(floatToGoString(bound), float(n)) for bound, n in zip(buckets, counts, strict=True)]  # type: ignore[no-untyped-call]
        self.metric.add_metric(list(values), [*pairs, ("+Inf", float(count))], total)  # type: ignore[attr-defined]

    def add_all(self, samples: Mapping[tuple[str, ...], float]) -> "Family":
        """A sample for each label set, in a stable order."""
        for values in sorted(samples):
            self.add(values, samples[values])
        return self


class _OneScrape(Collector):
    def __init__(self, families: list[Family]) -> None:
        self.families = families

    def collect(self) -> Iterator[Metric]:
        return (family.metric for family in self.families)


def render(families: Iterable[Family]) -> bytes:
    """The exposition of these families, in order."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_OneScrape(list(families)))
    return generate_latest(registry)
