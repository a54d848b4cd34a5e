"""Commentary on a KPI at a place for a period: read its current text and history, post one."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from kpis.models import Commentary, Kpi, Period
from kpis.selectors.commentary import (
    READ_REFUSAL,
    commentary_history,
    commentary_may_read,
    commentary_subject,
)
from kpis.services.commentary import WRITE_REFUSAL, commentary_may_write, commentary_post
from strategy.models import Place


class CommentaryForm(forms.Form):
    # The service strips and measures the text (a CRLF counts as one character, as in the
    # browser), so the form neither strips nor limits it.
    text = forms.CharField(
        strip=False,
        label="Commentary",
        error_messages={"required": "Write the commentary: it cannot be blank."},
    )


def _safe_next(request) -> str:
    """Where to go after posting: the page the user came from, if it is on this site."""
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return wanted
    return reverse("reporting:board")


@login_required
def commentary_page(request, code: str, place: str, period: str):
    try:
        kpi, where, when = commentary_subject(kpi_code=code, place_code=place, period_label=period)
    except (Kpi.DoesNotExist, Place.DoesNotExist, Period.DoesNotExist) as missing:
        raise Http404("No such KPI, place or period") from missing
    may_write = commentary_may_write(request.user, kpi, where)
    if request.method == "POST" and not may_write:
        raise PermissionDenied(WRITE_REFUSAL)
    if not commentary_may_read(request.user, kpi, where):
        raise PermissionDenied(READ_REFUSAL)
    form = CommentaryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            commentary_post(
                user=request.user,
                kpi=kpi,
                place=where,
                period=when,
                text=form.cleaned_data["text"],
            )
        except ValidationError as refused:
            form.add_error("text", refused)
        else:
            messages.success(
                request, f"Commentary on {kpi.code} for {where.name}, {when} recorded."
            )
            return redirect(_safe_next(request))
    history = commentary_history(kpi=kpi, place=where, period=when)
    return render(
        request,
        "reporting/internal/commentary.html",
        {
            "kpi": kpi,
            "place": where,
            "period": when,
            "current": history[0] if history else None,
            "earlier": history[1:],
            "form": form if may_write else None,
            "write_refusal": WRITE_REFUSAL,
            "max_length": Commentary.MAX_LENGTH,
            "next": _safe_next(request),
        },
        status=400 if form.errors else 200,
    )
