"""Which job ids still have a message in the broker, waiting or delivered but unacknowledged (Redis transport)."""

import base64
import binascii
import json
from collections.abc import Iterable

from celery import Celery

UNACKED_KEY = "unacked"  # kombu's Redis transport keeps delivered, unacknowledged messages in this hash


def _texts(raw: bytes) -> list[str]:
    """A stored message as text: the envelope, and its body decoded (where the job id is)."""
    text = raw.decode(errors="replace")
    texts = [text]
    try:
        envelope = json.loads(text)
        if isinstance(envelope, list):  # unacked entries are [message, exchange, routing_key]
            envelope = envelope[0]
        body = envelope.get("body", "")
        if envelope.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body).decode(errors="replace")
        texts.append(str(body))
    except (ValueError, AttributeError, IndexError, binascii.Error):
        pass  # not a kombu message we can parse: the raw text still counts
    return texts


def jobs_with_messages(app: Celery, *, queues: Iterable[str], job_ids: Iterable[str]) -> set[str]:
    """The job ids among these that some message in the queues, or in flight, still carries."""
    with app.connection_for_read() as connection:
        client = connection.default_channel.client
        raw_messages = [raw for queue in queues for raw in client.lrange(queue, 0, -1)]
        raw_messages += list(client.hvals(UNACKED_KEY))
    texts = [text for raw in raw_messages for text in _texts(raw)]
    return {job_id for job_id in job_ids if any(job_id in text for text in texts)}
