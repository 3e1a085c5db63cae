"""Prometheus' text exposition format (version 0.0.4), written by hand: a few families of gauges, counters and
histograms need no client library (prometheus_client is not a dependency of the API)."""

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Kind = Literal["gauge", "counter", "histogram"]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    return "{" + ",".join(f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)) + "}"


@dataclass
class Family:
    """One metric family: its name, help, type, label names and its sample lines."""

    name: str
    help: str
    kind: Kind
    label_names: tuple[str, ...] = ()
    lines: list[str] = field(default_factory=list)

    def add(self, values: Sequence[str], value: float) -> None:
        """A gauge's or a counter's sample (a counter's name gets `_total`)."""
        suffix = "_total" if self.kind == "counter" else ""
        self.lines.append(f"{self.name}{suffix}{_labels(self.label_names, values)} {_number(value)}")

    def add_histogram(
        self, values: Sequence[str], *, buckets: Sequence[float], counts: Sequence[int], count: int, total: float
    ) -> None:
        """A histogram's samples: cumulative `_bucket`s up to `+Inf`, then `_sum` and `_count`."""
        names = (*self.label_names, "le")
        for bound, at_most in [*zip(buckets, counts, strict=True), (math.inf, count)]:
            self.lines.append(f"{self.name}_bucket{_labels(names, (*values, _number(bound)))} {at_most}")
        self.lines.append(f"{self.name}_sum{_labels(self.label_names, values)} {_number(total)}")
        self.lines.append(f"{self.name}_count{_labels(self.label_names, values)} {count}")

    def add_all(self, samples: Mapping[tuple[str, ...], float]) -> "Family":
        """A sample for each label set, in a stable order."""
        for values in sorted(samples):
            self.add(values, samples[values])
        return self

    def render(self) -> str:
        """The family's HELP and TYPE lines and its samples."""
        name = f"{self.name}_total" if self.kind == "counter" else self.name
        head = [f"# HELP {name} {self.help}", f"# TYPE {name} {self.kind}"]
        return "\n".join(head + self.lines) + "\n"


def render(families: Iterable[Family]) -> bytes:
    """The exposition: every family, one after the other."""
    return "".join(family.render() for family in families).encode()
