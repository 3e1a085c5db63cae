"""Server-Sent Events as the gradyard stream sends them: `id`, `event` and one line of JSON `data` per event."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StreamEvent:
    """One event of GET /jobs/{id}/events: `status`, `metrics`, `rewind` or `end`, its id and its parsed data."""

    id: str | None
    event: str
    data: Any


def parse_events(lines: Iterable[str]) -> Iterator[StreamEvent]:
    """The events of a stream's lines; comments (keep-alives) and `retry:` lines are skipped."""
    event_id: str | None = None
    kind, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield StreamEvent(event_id, kind, json.loads("\n".join(data)))
            kind, data = "message", list[str]()
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            kind = value
        elif field == "data":
            data.append(value)
