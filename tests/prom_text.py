"""The tests read the exposition with prometheus_client's own parser, and check on top of it what the parser lets
pass: a sample given twice, histograms that are not cumulative up to a +Inf bucket equal to their count."""

import math
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """A parsed family: its type, help and samples keyed by (sample name, sorted labels)."""

    kind: str
    help: str = ""
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)


def parse(text: str) -> dict[str, Family]:
    """Every family of an exposition, by the name its TYPE line gives (a counter's with `_total`); raises at the
    first thing that breaks the format."""
    assert text.endswith("\n"), "the exposition ends with a newline"
    families: dict[str, Family] = {}
    for parsed in text_string_to_metric_families(text):
        name = parsed.name + "_total" if parsed.type == "counter" else parsed.name
        assert name not in families, f"family {name} declared twice"
        family = families[name] = Family(parsed.type, parsed.documentation)
        for sample in parsed.samples:
            key = (sample.name, tuple(sorted(sample.labels.items())))
            assert key not in family.samples, f"sample given twice: {key}"
            family.samples[key] = sample.value
        if family.kind == "histogram":
            _check_histogram(parsed.name, family)
    return families


def _check_histogram(name: str, family: Family) -> None:
    series: dict[Labels, list[tuple[float, float]]] = {}
    for (sample, labels), value in family.samples.items():
        if sample == name + "_bucket":
            le = dict(labels)["le"]
            rest = tuple(pair for pair in labels if pair[0] != "le")
            series.setdefault(rest, []).append((float(le), value))
    for rest, buckets in series.items():
        buckets.sort()
        counts = [count for _, count in buckets]
        assert counts == sorted(counts), f"{name}{rest}: buckets not cumulative"
        assert buckets[-1][0] == math.inf, f"{name}{rest}: no +Inf bucket"
        assert family.samples[(name + "_count", rest)] == buckets[-1][1], f"{name}{rest}: +Inf bucket != count"


def value(families: dict[str, Family], name: str, sample: str | None = None, **labels: str) -> float:
    """One sample's value: family `name`, sample name (default the family's), exactly these labels."""
    return families[name].samples[(sample or name, tuple(sorted(labels.items())))]


def bucket(families: dict[str, Family], name: str, le: str, **labels: str) -> float:
    """A histogram's cumulative count at one bound (`le` as a number: "1" finds the bucket written "1.0")."""
    return value(families, name, name + "_bucket", le=floatToGoString(float(le)), **labels)
