"""A strict reader of Prometheus' text format (0.0.4) for the tests: every line must parse, every sample must belong
to a family declared by TYPE, and histograms must be cumulative up to a +Inf bucket equal to their count.

(prometheus_client's parser would do; it is not installed in the venv, so the format's rules are checked here.)
"""

import math
import re
from dataclasses import dataclass, field

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')
SAMPLE = re.compile(rf"^({NAME})(\{{.*\}})? (\S+)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "counter": ("",), "gauge": ("",)}

Labels = tuple[tuple[str, str], ...]


@dataclass
class Family:
    """A parsed family: its type, help and samples keyed by (sample name, sorted labels)."""

    kind: str
    help: str = ""
    samples: dict[tuple[str, Labels], float] = field(default_factory=dict)


def _labels(text: str | None) -> Labels:
    if not text:
        return ()
    inner, found, at = text[1:-1], [], 0
    while at < len(inner):
        match = LABEL.match(inner, at)
        assert match, f"bad labels: {text}"
        found.append((match[1], match[2].encode().decode("unicode_escape")))
        at = match.end()
    return tuple(sorted(found))


def _value(text: str) -> float:
    return float(text)  # Python reads +Inf, -Inf and NaN as the format writes them


def _family_of(name: str, families: dict[str, Family]) -> str:
    for base, family in families.items():
        if any(name == base + suffix for suffix in SUFFIXES[family.kind]):
            return base
    raise AssertionError(f"sample {name} has no TYPE line")


def parse(text: str) -> dict[str, Family]:
    """Every family of an exposition; raises AssertionError at the first line that breaks the format."""
    families: dict[str, Family] = {}
    assert text.endswith("\n"), "the exposition ends with a newline"
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            assert re.fullmatch(NAME, name) and kind in SUFFIXES and name not in families, line
            families[name] = Family(kind)
        elif line.startswith("# HELP "):
            continue
        else:
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            family = families[_family_of(match[1], families)]
            key = (match[1], _labels(match[2]))
            assert key not in family.samples, f"sample given twice: {line}"
            family.samples[key] = _value(match[3])
    for name, family in families.items():
        if family.kind == "histogram":
            _check_histogram(name, family)
    return families


def _check_histogram(name: str, family: Family) -> None:
    series: dict[Labels, list[tuple[float, float]]] = {}
    for (sample, labels), value in family.samples.items():
        if sample == name + "_bucket":
            le = dict(labels)["le"]
            rest = tuple(pair for pair in labels if pair[0] != "le")
            series.setdefault(rest, []).append((_value(le), value))
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
    """A histogram's cumulative count at one bound."""
    return value(families, name, name + "_bucket", le=le, **labels)
