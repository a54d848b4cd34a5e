"""plotly.js served from the installed plotly package, so the browser library is always the one
the Python figures were written for, and no page asks another host for it."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_JS = "plotly.min.js"
PLOTLY_PREFIX = "vendor/plotly"


class PlotlyJsFinder(BaseFinder):
    """Finds ``vendor/plotly/plotly.min.js`` (and nothing else) in plotly's package data."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.storage = FileSystemStorage(location=Path(plotly.__file__).parent / "package_data")
        self.storage.prefix = PLOTLY_PREFIX

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        find_all = find_all or kwargs.get("all", False)
        if path != f"{PLOTLY_PREFIX}/{PLOTLY_JS}":
            return [] if find_all else None
        match = self.storage.path(PLOTLY_JS)
        return [match] if find_all else match

    def list(self, ignore_patterns):
        yield PLOTLY_JS, self.storage
