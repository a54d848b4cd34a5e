"""CSV and XLSX renderers: a list of records (nested ones flattened) as one sheet, every text
cell neutralised (``reporting.exports``). The figure endpoints stream their CSV themselves."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework.renderers import BaseRenderer

from ..exports import XLSX_CONTENT_TYPE, csv_bytes, flat_row, xlsx_bytes


def _records(data) -> list[dict]:
    """The rows to write: a list's records, or one record (an error's detail included)."""
    if isinstance(data, Mapping):
        if isinstance(data.get("results"), list):
            data = data["results"]
        else:
            data = [data]
    return [flat_row(item) if isinstance(item, Mapping) else {"value": item} for item in data]


def _columns(rows: list[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    return list(columns)


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = _records(data if data is not None else [])
        return csv_bytes(rows, columns=_columns(rows))


class XLSXRenderer(BaseRenderer):
    media_type = XLSX_CONTENT_TYPE
    format = "xlsx"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        rows = _records(data if data is not None else [])
        return xlsx_bytes(rows, columns=_columns(rows))
