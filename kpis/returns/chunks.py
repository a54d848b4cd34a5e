"""Large CSV returns a chunk at a time (pure: no ORM).

``csv_chunks`` splits a file's bytes into its comment and header lines and chunks of data lines
that never end inside a quoted cell; ``IssueTally`` counts every issue of a chunked file but keeps
only as many as an upload stores, so memory does not grow with the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import islice

from .spec import Issue


class IssueTally:
    """Every issue of a chunked file counted, but only as many kept as an upload stores, so
    memory does not grow with the file."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.kept: list[Issue] = []
        self.count = 0

    @property
    def room(self) -> int:
        return max(0, self.limit - len(self.kept))

    def add(self, issues: list[Issue], count: int | None = None) -> None:
        """Add a chunk's issues (``count`` of them when only the first were built)."""
        if room := self.room:
            self.kept.extend(issues[:room])
        self.count += len(issues) if count is None else count


# A quoted cell spanning more lines than this is taken to be a stray quote mark instead.
MAX_LINES_IN_A_CELL = 1_000


@dataclass(frozen=True)
class Chunk:
    content: bytes
    lines: int
    # Records (spreadsheet rows): fewer than lines when a quoted cell holds line breaks.
    records: int


def csv_chunks(handle, chunk_rows: int):
    """The leading comment and header lines once, then the data in chunks of about
    ``chunk_rows`` lines, never ending inside a quoted cell; each chunk is decoded, and its
    encoding checked, by the reader like a whole file."""
    prefix = []
    for line in handle:
        prefix.append(line)
        if not line.removeprefix(b"\xef\xbb\xbf").startswith(b"#"):
            break
    yield b"".join(prefix)
    while lines := list(islice(handle, chunk_rows)):
        content = b"".join(lines)
        records = len(lines)
        if b'"' in content:
            # A record ends where the count of quote marks so far is even.
            odd = False
            records = 0
            for line in lines:
                odd ^= bool(line.count(b'"') & 1)
                records += not odd
            extra = []
            while odd and len(extra) < MAX_LINES_IN_A_CELL:
                if (line := next(handle, None)) is None:
                    break
                extra.append(line)
                odd ^= bool(line.count(b'"') & 1)
                records += not odd
            if extra:
                content += b"".join(extra)
                lines += extra
            records += odd  # a cell left open still ends a record for the reader
        yield Chunk(content, len(lines), records)
