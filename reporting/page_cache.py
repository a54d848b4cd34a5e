"""Dashboard pages, cached per viewer until the figures change.

The summary table, KPI and place pages take hundreds of milliseconds to compose (assessments,
spreads, Plotly figures) but change only when a transaction touching the figures commits. Their
main content is kept in the ``pages`` cache under the figures' version (one query; see
``kpis.selectors.versions``), today's date (staleness markers count from it), the viewer (what
they may see and write differs) and the query string. The page around it (the viewer's name,
the log-out form's CSRF token, messages) is rendered afresh on every request, and access is
always checked before the cache is read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import caches
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from kpis.selectors.versions import figures_version

PAGE_CACHE = "pages"


def cached_content(request, *, page: str, build: Callable[[], str]) -> SafeString:
    """The page's content as ``build`` renders it, from the cache when these figures, this
    viewer and this query have been rendered before today."""
    version = figures_version()
    if version is None:
        return mark_safe(build())
    query = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    key = ":".join(
        [
            "page",
            settings.PAGE_CACHE_BUILD,
            page,
            str(version),
            timezone.localdate().isoformat(),
            str(request.user.pk),
            query,
        ]
    )
    cache = caches[PAGE_CACHE]
    content = cache.get(key)
    if content is None:
        content = _without_indentation(build())
        cache.set(key, str(content), timeout=settings.PAGE_CACHE_SECONDS)
    # Content rendered by this site's own templates, escaped there.
    return mark_safe(content)


def _without_indentation(html: str) -> str:
    """The templates' indentation dropped (a fifth of the board's bytes): a line break stays
    where there was whitespace, so the page reads the same. Kept as it is where whitespace is
    shown as written."""
    if "<pre" in html or "<textarea" in html:
        return html
    return re.sub(r"\n[ \t]+", "\n", html)
