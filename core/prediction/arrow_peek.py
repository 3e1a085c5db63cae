"""A look at an Arrow IPC stream's message headers before any batch is read: how many rows each batch declares, and
whether its buffers are compressed. A compressed buffer declares its own unpacked size, which Arrow allocates before
it inflates: a small body could ask for gigabytes, so compressed streams are refused and rows are counted first.

The headers are flatbuffers (Arrow's format/Message.fbs): Message {version, header_type, header, bodyLength, ...};
RecordBatch {length, nodes, buffers, compression, ...}; DictionaryBatch {id, data: RecordBatch, isDelta}.
"""

import struct
from dataclasses import dataclass

import pyarrow as pa

RECORD_BATCH, DICTIONARY_BATCH = 3, 2  # MessageHeader union tags
MESSAGE_HEADER_TYPE, MESSAGE_HEADER = 1, 2
BATCH_LENGTH, BATCH_COMPRESSION = 0, 3
DICTIONARY_DATA = 1


class MalformedHeader(ValueError):
    """A message header that is not a valid flatbuffer of the expected shape."""


def _read(fmt: str, buf: bytes, pos: int) -> int:
    if pos < 0 or pos + struct.calcsize(fmt) > len(buf):
        raise MalformedHeader("a header offset points outside the message")
    return int(struct.unpack_from(fmt, buf, pos)[0])


def _field(buf: bytes, table: int, index: int) -> int | None:
    """Where a table's field lies in the buffer, or None when the field is absent."""
    vtable = table - _read("<i", buf, table)
    vtable_size = _read("<H", buf, vtable)
    if 4 + 2 * index >= vtable_size:
        return None
    offset = _read("<H", buf, vtable + 4 + 2 * index)
    return None if offset == 0 else table + offset


def _table_at(buf: bytes, pos: int) -> int:
    return pos + _read("<I", buf, pos)


@dataclass(frozen=True)
class BatchHeader:
    """What a batch message declares: its rows, and whether its body is compressed."""

    dictionary: bool
    rows: int
    compressed: bool


def _batch_header(metadata: bytes) -> BatchHeader | None:
    root = _table_at(metadata, 0)
    kind_at = _field(metadata, root, MESSAGE_HEADER_TYPE)
    kind = _read("<B", metadata, kind_at) if kind_at is not None else 0
    header_at = _field(metadata, root, MESSAGE_HEADER)
    if kind not in (RECORD_BATCH, DICTIONARY_BATCH) or header_at is None:
        return None
    batch = _table_at(metadata, header_at)
    if kind == DICTIONARY_BATCH:
        data_at = _field(metadata, batch, DICTIONARY_DATA)
        if data_at is None:
            raise MalformedHeader("a dictionary batch without its data")
        batch = _table_at(metadata, data_at)
    length_at = _field(metadata, batch, BATCH_LENGTH)
    rows = _read("<q", metadata, length_at) if length_at is not None else 0
    compressed = _field(metadata, batch, BATCH_COMPRESSION) is not None
    return BatchHeader(dictionary=kind == DICTIONARY_BATCH, rows=rows, compressed=compressed)


def batch_headers(stream: pa.Buffer) -> list[BatchHeader]:
    """Each batch message's header, in order (the schema message has none); MalformedHeader or pyarrow's errors when
    the stream cannot be walked."""
    headers = []
    for message in pa.ipc.MessageReader.open_stream(stream):
        header = _batch_header(message.metadata.to_pybytes())
        if header is not None:
            headers.append(header)
    return headers
