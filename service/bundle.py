"""GET /jobs/{id}/bundle's .tar.gz, written while it streams: a tar header per member, then the member's bytes (a
file read from the store a chunk at a time), all through one gzip stream. No member is ever held whole in memory."""

import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

BLOCK = 512  # tar's block: every header and every member's data fill whole blocks
RECORD = tarfile.RECORDSIZE  # what tarfile pads an archive's end to
CHUNK = 1 << 20
# Weights are nearly incompressible: the fastest level keeps a large model's bundle from costing seconds of CPU.
LEVEL = 1
GZIP = 16 + zlib.MAX_WBITS  # zlib writes a gzip header and trailer


@dataclass(frozen=True)
class Member:
    """One file of the archive: bytes at hand, or a file to read as it streams."""

    name: str
    data: bytes | None = None
    path: Path | None = None

    def size(self) -> int:
        """The member's length in bytes."""
        return len(self.data) if self.data is not None else self.path.stat().st_size if self.path else 0

    def chunks(self, size: int) -> Iterator[bytes]:
        """The member's bytes, at most CHUNK at a time (exactly `size` of them, as its header says)."""
        if self.data is not None:
            yield self.data
            return
        assert self.path is not None
        with self.path.open("rb") as file:
            left = size
            while left > 0:
                chunk = file.read(min(CHUNK, left))
                if not chunk:
                    raise OSError(f"{self.path} became shorter while it was archived")
                left -= len(chunk)
                yield chunk


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, int(mtime), 0o644
    return info.tobuf(format=tarfile.PAX_FORMAT)


def _tar(members: list[Member], mtime: float) -> Iterator[bytes]:
    written = 0
    for member in members:
        size = member.size()
        pieces = chain([_header(member.name, size, mtime)], member.chunks(size), [b"\0" * (-size % BLOCK)])
        for piece in pieces:
            written += len(piece)
            yield piece
    end = 2 * BLOCK  # the end-of-archive marker, then padding to a whole record
    yield b"\0" * (end + (-(written + end) % RECORD))


def tar_gz(members: list[Member], *, mtime: float) -> Iterator[bytes]:
    """The members as a gzipped tar archive, in pieces as they are compressed."""
    gzip = zlib.compressobj(LEVEL, zlib.DEFLATED, GZIP)
    for piece in _tar(members, mtime):
        if compressed := gzip.compress(piece):
            yield compressed
    yield gzip.flush()
