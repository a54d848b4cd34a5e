"""Which publisher released a file, told from its header row alone."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kpis.periods import PeriodSpec

from . import fingertips, mhsds, talking_therapies
from .base import (
    HEADER_SPAN,
    Layout,
    ParsedPublication,
    PublicationFormatError,
    choose_layout,
    decode,
    read_header,
)

LAYOUTS: tuple[Layout, ...] = (
    fingertips.LAYOUT,
    mhsds.LAYOUT,
    *talking_therapies.LAYOUTS,
)

PARSERS: dict[str, Callable[..., ParsedPublication]] = {
    fingertips.PUBLISHER: fingertips.parse_fingertips,
    mhsds.PUBLISHER: mhsds.parse_mhsds,
    talking_therapies.PUBLISHER: talking_therapies.parse_talking_therapies,
}


def detect_layout(content: bytes, *, filename: str = "The file") -> Layout:
    """The layout whose columns a file's header has; PublicationFormatError if none."""
    text, _ = decode(content)
    text = text[:HEADER_SPAN].replace("\x00", "")
    if not text.strip():
        raise PublicationFormatError(f"{filename} is empty.")
    return choose_layout(read_header(text), LAYOUTS, filename=filename)


def detect_publisher(content: bytes) -> str:
    """'fingertips', 'mhsds' or 'talking_therapies', told from the header row."""
    return detect_layout(content).publisher


def parse_publication(
    content: bytes,
    *,
    filename: str,
    measures: Iterable[str] | None = None,
    period: PeriodSpec | None = None,
    areas: Iterable[str] | None = None,
) -> ParsedPublication:
    """Parse a file with the parser of the publisher its header names.

    ``measures``, ``period`` and ``areas`` concern wide annual reports only: the measure
    columns to read, the financial year when the file name does not give it, and the
    organisations whose breakdown rows to read (England always, and every organisation's
    whole-population row).
    """
    layout = detect_layout(content, filename=filename)
    if layout.wide:
        return PARSERS[layout.publisher](
            content, filename=filename, measures=measures, period=period, areas=areas
        )
    return PARSERS[layout.publisher](content, filename=filename)
