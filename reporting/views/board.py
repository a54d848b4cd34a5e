"""The board view: one row per KPI, one column per place, latest internal assessments."""

from functools import partial

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone

from kpis.board import VERDICT_LABELS
from kpis.selectors.board import BOARD_COLUMNS, EXPORT_COLUMNS, board
from kpis.selectors.commentary import commentary_may_read
from kpis.services.commentary import commentary_may_write
from strategy.access import Action, places_for, user_can_everywhere
from strategy.models import Cohort, Outcome, Theme

from ..exports import XLSX_CONTENT_TYPE, csv_response, xlsx_bytes
from ..page_cache import cached_content
from .access import require

REFUSAL = (
    "The board shows unpublished figures: it is for the Strategy Implementation Group, and for "
    "place leads for their own places."
)


class BoardFilterForm(forms.Form):
    outcome = forms.ChoiceField(required=False, label="Outcome")
    theme = forms.ChoiceField(required=False, label="Theme")
    cohort = forms.ChoiceField(
        required=False, label="Cohort", choices=[("", "All cohorts"), *Cohort.choices]
    )
    place = forms.ChoiceField(required=False, label="Place")
    verdict = forms.ChoiceField(
        required=False,
        label="Verdict",
        choices=[("", "Any verdict"), *VERDICT_LABELS.items()],
    )
    sort = forms.ChoiceField(
        required=False,
        label="Sort by",
        choices=[("group", "Outcome, theme and cohort"), ("code", "KPI code"), ("title", "Title")],
    )

    def __init__(self, data, *, places):
        super().__init__(data)
        self.fields["outcome"].choices = [("", "All outcomes")] + [
            (o.code, f"{o.code} {o.text[:60]}") for o in Outcome.objects.order_by("position")
        ]
        self.fields["theme"].choices = [("", "All themes")] + [
            (code, name)
            for code, name in Theme.objects.order_by("position").values_list("code", "name")
        ]
        self.fields["place"].choices = [("", "All places")] + places
        for bound in self.fields.values():
            bound.widget.attrs["class"] = "nhsuk-select"


def _board_columns(request) -> dict[str, str]:
    """The board's columns the user may see, code to name; refused if none."""
    require(request, Action.SEE_UNPUBLISHED, REFUSAL)
    allowed = dict(
        places_for(request.user, Action.SEE_UNPUBLISHED)
        .filter(code__in=BOARD_COLUMNS)
        .values_list("code", "name")
    )
    if not allowed:
        raise PermissionDenied(REFUSAL)
    return allowed


def _board(request, allowed: dict[str, str]):
    """The board of these columns, filtered as the query string asks (invalid filters are
    ignored, with the form's errors shown)."""
    codes = [code for code in BOARD_COLUMNS if code in allowed]
    form = BoardFilterForm(request.GET, places=[(code, allowed[code]) for code in codes])
    filters = form.cleaned_data if form.is_valid() else {}
    if filters.get("place"):
        codes = [filters["place"]]
    table = board(
        column_codes=codes,
        today=timezone.localdate(),
        outcome=filters.get("outcome", ""),
        theme=filters.get("theme", ""),
        cohort=filters.get("cohort", ""),
        verdict=filters.get("verdict", ""),
        sort=filters.get("sort") or "group",
        may_read_commentary=partial(commentary_may_read, request.user),
        may_write_commentary=partial(commentary_may_write, request.user),
    )
    return form, table


@login_required
def board_page(request):
    require(request, Action.SEE_UNPUBLISHED, REFUSAL)
    if not user_can_everywhere(request.user, Action.SEE_UNPUBLISHED):
        _board_columns(request)  # a place lead with no place on the board is refused here

    def content():
        form, table = _board(request, _board_columns(request))
        query = request.GET.urlencode()
        return render_to_string(
            "reporting/internal/_board_content.html",
            {"form": form, "board": table, "query": f"?{query}" if query else ""},
            request=request,
        )

    return render(
        request,
        "reporting/internal/board.html",
        {"content": cached_content(request, page="board", build=content)},
    )


@login_required
def board_csv(request):
    _, table = _board(request, _board_columns(request))
    return csv_response(table.export_rows(), columns=EXPORT_COLUMNS, filename="board.csv")


@login_required
def board_xlsx(request):
    _, table = _board(request, _board_columns(request))
    response = HttpResponse(
        xlsx_bytes(table.export_rows(), columns=EXPORT_COLUMNS, sheet="board"),
        content_type=XLSX_CONTENT_TYPE,
    )
    response["Content-Disposition"] = 'attachment; filename="board.xlsx"'
    return response
