"""Nothing a page serves comes from another host: the vendored styles and scripts refer only to
files of their own (nhsuk-frontend's web fonts live on assets.nhs.uk under a licence that does
not allow copying, so their @font-face rules are removed and the type falls back to Arial)."""

import re
from pathlib import Path

from django.conf import settings

REMOTE = re.compile(r"""(?:url\(\s*['"]?|(?:src|href)=['"]|@import\s+['"])(?:https?:)?//""")


def test_static_files_and_templates_ask_no_other_host():
    roots = [*map(str, settings.STATICFILES_DIRS), str(settings.BASE_DIR / "templates")]
    offenders = []
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.suffix in {".css", ".js", ".html"} and REMOTE.search(
                path.read_text(encoding="utf-8", errors="replace")
            ):
                offenders.append(str(path))
    assert offenders == []
