"""A Server-Sent Events reader for the tests, written from the SSE format alone (not the client's)."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from client.sse import StreamEvent


@dataclass(frozen=True)
class Event:
    """One dispatched event: its id, its type and its data parsed as JSON."""

    id: str | None
    event: str
    data: Any


def read_events(lines: Iterable[str]) -> Iterator[Event]:
    """The events of a stream of lines; comments and `retry:` lines are skipped."""
    event_id: str | None = None
    kind, data = "message", list[str]()
    for line in lines:
        if line == "":
            if data:
                yield Event(event_id, kind, json.loads("\n".join(data)))
            kind, data = "message", list[str]()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "id":
            event_id = value
        elif name == "event":
            kind = value
        elif name == "data":
            data.append(value)


def flatten(events: Iterable[Event | StreamEvent]) -> dict[str, dict[str, list[Any]]]:
    """The metric points of `metrics` events joined into one columnar history, as GET /jobs/{id}/metrics shows it."""
    history: dict[str, dict[str, list[Any]]] = {}
    for event in events:
        if event.event == "rewind":
            for series in history.values():
                keep = sum(1 for step in series["step"] if step <= event.data["step"])
                for column in series.values():
                    del column[keep:]
        if event.event == "metrics":
            for name, series in event.data["metrics"].items():
                into = history.setdefault(name, {"step": [], "epoch": [], "value": [], "time": []})
                for column, values in series.items():
                    into[column].extend(values)
    return {name: series for name, series in history.items() if series["step"]}
