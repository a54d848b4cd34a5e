"""The API's documentation page, with its worked examples, and an analyst's own token."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from strategy.access import Action, user_can

from .tokens import api_token_get, api_token_issue

EXAMPLES_DIR = Path(__file__).resolve().parent / "examples"
#: The address the example files name; the page shows this site's own address instead.
EXAMPLE_BASE_URL = "http://127.0.0.1:8000"
EXAMPLES = [
    ("python", "Python (pandas)", "observations.py"),
    ("r", "R (readr and httr2)", "observations.R"),
    ("power-query", "Excel and Power BI (Power Query)", "observations.pq"),
]
ENDPOINTS = [
    ("strategy", "The strategy: vision, outcomes, what matters, themes and priorities."),
    ("deliverables", "Deliverables, with their progress updates for signed-in callers."),
    ("places", "Places: their areas, geography basis, GSS and ODS codes and validity dates."),
    ("kpis", "KPIs with their definitions, versions, series breaks, targets and sources."),
    ("periods", "Reporting periods."),
    ("releases", "Releases: published, and announced ones still to come."),
    ("observations", "Every value with its counts, intervals, flags, version and release."),
    ("assessments", "Baseline and change, England comparison, SPC, target progress, verdict."),
]


def example_sources(base_url: str) -> list[dict]:
    return [
        {
            "slug": slug,
            "title": title,
            "file": name,
            "code": (EXAMPLES_DIR / name).read_text().replace(EXAMPLE_BASE_URL, base_url),
        }
        for slug, title, name in EXAMPLES
    ]


def api_docs(request):
    base_url = request.build_absolute_uri("/").rstrip("/")
    rates = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    return render(
        request,
        "reporting/public/api_docs.html",
        {
            "base_url": base_url,
            "endpoints": [(f"/api/v1/{name}/", words) for name, words in ENDPOINTS],
            "examples": example_sources(base_url),
            "anon_rate": rates["anon"],
            "user_rate": rates["user"],
            "may_use_token": user_can(request.user, Action.USE_API_TOKEN),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def api_token_page(request):
    if not user_can(request.user, Action.USE_API_TOKEN):
        raise PermissionDenied("Your role does not call the API with a token.")
    if request.method == "POST":
        api_token_issue(user=request.user)
        messages.success(request, "Your new token is below. Any earlier token no longer works.")
        return redirect("reporting:api-token")
    return render(
        request,
        "reporting/internal/api_token.html",
        {"token": api_token_get(user=request.user)},
    )
