"""Spreadsheet returns: reading, validating and templates (pure: no ORM).

raw = read_return(filename, content, ctx)      # or ReturnRejected(issues)
result = validate_return(raw, ctx)             # errors, warnings, typed rows
"""

from kpis.returns.read import RawReturn, read_return
from kpis.returns.report import issues_csv
from kpis.returns.spec import Issue, KpiSpec, PlaceSpec, ReturnContext, ReturnRejected
from kpis.returns.template import build_csv, build_xlsx
from kpis.returns.validate import ValidationResult, validate_return

__all__ = [
    "Issue",
    "KpiSpec",
    "PlaceSpec",
    "RawReturn",
    "ReturnContext",
    "ReturnRejected",
    "ValidationResult",
    "build_csv",
    "build_xlsx",
    "issues_csv",
    "read_return",
    "validate_return",
]
