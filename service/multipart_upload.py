"""A multipart/form-data body read as it streams: the `file` part goes to the store while it is hashed, never whole
in memory; the small text fields are kept, each bounded."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from python_multipart.multipart import MultipartParser, parse_options_header

from core.store import BlobWriter

MAX_FIELD_BYTES = 1000
MAX_FIELDS = 8


class MalformedUpload(Exception):
    """The body is not the multipart form POST /datasets takes."""


@dataclass
class Upload:
    """What the body held: the file's name and size (its bytes are in the writer), and the text fields."""

    writer: BlobWriter
    limit: int
    filename: str | None = None
    fields: dict[str, bytearray] = field(default_factory=dict)
    too_large: bool = False
    file_parts: int = 0
    _part: str | None = None
    _header: bytes = b""
    _value: bytes = b""
    _headers: dict[bytes, bytes] = field(default_factory=dict)

    def parser(self, boundary: bytes) -> MultipartParser:
        """A streaming parser whose callbacks fill this upload."""
        callbacks = {
            "on_part_begin": self._begin,
            "on_header_field": lambda data, start, end: self._add_header(data[start:end], b""),
            "on_header_value": lambda data, start, end: self._add_header(b"", data[start:end]),
            "on_header_end": self._end_header,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
        }
        return MultipartParser(boundary, callbacks, max_header_size=4096)  # type: ignore[arg-type]

    def _begin(self) -> None:
        self._part, self._headers, self._header, self._value = None, {}, b"", b""

    def _add_header(self, name: bytes, value: bytes) -> None:
        self._header += name
        self._value += value

    def _end_header(self) -> None:
        self._headers[self._header.lower()] = self._value
        self._header, self._value = b"", b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._part = name
        if name == "file":
            self.file_parts += 1
            raw = options.get(b"filename", b"upload").decode("utf-8", "replace")
            self.filename = PurePosixPath(raw.replace("\\", "/")).name[:200] or "upload"
        elif name not in self.fields:
            if len(self.fields) >= MAX_FIELDS:
                raise MalformedUpload(f"more than {MAX_FIELDS} form fields")
            self.fields[name] = bytearray()

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._part == "file":
            if self.file_parts > 1 or self.too_large:
                return
            if self.writer.size + (end - start) > self.limit:
                self.too_large = True
                return
            self.writer.write(data[start:end])
        elif self._part is not None:
            value = self.fields[self._part]
            if len(value) + end - start > MAX_FIELD_BYTES:
                raise MalformedUpload(f"form field '{self._part}' is longer than {MAX_FIELD_BYTES} bytes")
            value += data[start:end]

    def text(self, name: str) -> str | None:
        """A text field's value (None when absent or blank)."""
        value = self.fields.get(name)
        if value is None:
            return None
        try:
            return value.decode("utf-8").strip() or None
        except UnicodeDecodeError as exc:
            raise MalformedUpload(f"form field '{name}' is not UTF-8") from exc


async def receive_upload(chunks: AsyncIterator[bytes], boundary: bytes, upload: Upload, *, drain: int) -> None:
    """Feed the body to the parser; past the limit keep reading (up to `drain` bytes) without storing, so a client
    that streams its body finishes sending and then reads the 413."""
    parser = upload.parser(boundary)
    drained = 0
    async for chunk in chunks:
        if upload.too_large:
            drained += len(chunk)
            if drained > drain:
                return
            continue
        try:
            parser.write(chunk)
        except MalformedUpload:
            raise
        except Exception as exc:  # python-multipart raises its own parse errors on a malformed body
            raise MalformedUpload(f"the multipart body cannot be parsed: {exc}") from exc
    if not upload.too_large:
        parser.finalize()
