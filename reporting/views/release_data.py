"""Each published release's figures for everyone: CSV, XLSX, a Frictionless Data Package, an
Atom feed of releases and a "what changed" page.

No log-in; published figures only (``kpis.selectors.vintages``, which reads through
``published_assessments``). A release not yet published is a 404 for everyone, signed in or
not: its contents are never served here, not even their existence.
"""

from django.contrib.syndication.views import Feed
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.feedgenerator import Atom1Feed

from kpis.board import VERDICT_LABELS, format_number
from kpis.models import Release
from kpis.selectors.public import published_release_get
from kpis.selectors.vintages import (
    FIGURE_COLUMNS,
    FIGURE_PRIMARY_KEY,
    FIGURE_SCHEMA,
    release_changes,
    release_figures,
    release_sources,
    releases_published,
)

from ..exports import csv_response, data_package, frame_rows, xlsx_response

PUBLISHER = "Southend, Essex and Thurrock Mental Health Strategy Implementation Group"


def _day(moment) -> str:
    """A date as the pages write it, in UK time: "2 January 2027"."""
    return dateformat.format(timezone.localtime(moment), "j F Y")


def _published(pk: int) -> Release:
    release = published_release_get(release_id=pk)
    if release is None:
        raise Http404("No published release with this number.")
    return release


def release_data_csv(request, pk: int):
    release = _published(pk)
    rows = frame_rows(release_figures(release=release), columns=FIGURE_COLUMNS)
    return csv_response(rows, columns=FIGURE_COLUMNS, filename="data.csv")


def release_data_xlsx(request, pk: int):
    release = _published(pk)
    rows = frame_rows(release_figures(release=release), columns=FIGURE_COLUMNS)
    return xlsx_response(rows, columns=FIGURE_COLUMNS, filename="data.xlsx", sheet="figures")


def _source(source: dict[str, str]) -> dict[str, str]:
    title = ": ".join(part for part in (source["publisher"], source["dataset"]) if part)
    return {"title": title, "path": source["url"]} if source["url"] else {"title": title}


def release_datapackage(request, pk: int):
    release = _published(pk)
    published = release.published_at
    descriptor = data_package(
        name=f"set-outcomes-release-{release.pk}",
        title=f"SET mental health outcomes: {release.title}",
        description=(
            f"The figures of the Southend, Essex and Thurrock Mental Health Strategy 2023-28 "
            f"outcomes framework as the release '{release.title}' published them on "
            f"{_day(published)}: one row per KPI, place, period and breakdown, with the "
            f"verdict and whether each value was revised since first published. Values a "
            f"source's disclosure rule withholds are blank, with the reason."
        ),
        created=published,
        sources=[_source(source) for source in release_sources(release=release)],
        resource_name="figures",
        resource_path="data.csv",
        schema=FIGURE_SCHEMA,
        primary_key=FIGURE_PRIMARY_KEY,
        homepage=request.build_absolute_uri(reverse("reporting:release-changes", args=[pk])),
        publisher=PUBLISHER,
    )
    return JsonResponse(descriptor, json_dumps_params={"indent": 2})


def _value_text(row, *, value="value", suppressed="suppressed", reason="suppression_reason"):
    if row[suppressed]:
        return f"Suppressed ({row[reason]})" if row[reason] else "Suppressed"
    text = format_number(row[value], row["unit"])
    return text or "No value"


def _rows(frame, *, compared: bool = False) -> list[dict]:
    """The frame's rows in words, as the changes page shows them; ``compared`` rows also say
    what the previous release showed."""
    rows = []
    for row in frame.to_dict("records"):
        shown = {
            "kpi_code": row["kpi_code"],
            "kpi_title": row["kpi_title"],
            "place": row["place_name"],
            "period": row["period_label"],
            "breakdown": row["breakdown"],
            "value": _value_text(row),
            "verdict": VERDICT_LABELS.get(row["verdict"], row["verdict"]),
            "value_release": row["value_release"],
        }
        if compared:
            shown["value_before"] = _value_text(
                row,
                value="value_before",
                suppressed="suppressed_before",
                reason="suppression_reason_before",
            )
            shown["value_release_before"] = row["value_release_before"]
            shown["verdict_before"] = VERDICT_LABELS.get(
                row["verdict_before"], row["verdict_before"]
            )
        rows.append(shown)
    return rows


def release_changes_page(request, pk: int):
    changes = release_changes(release=_published(pk))
    return render(
        request,
        "reporting/public/release_changes.html",
        {
            "release": changes.release,
            "previous": changes.previous,
            "new": _rows(changes.new),
            "revised": _rows(changes.revised, compared=True),
            "verdicts": _rows(changes.verdicts, compared=True),
        },
    )


class ReleaseFeed(Feed):
    """Published releases, the latest first, each linking to what it changed."""

    feed_type = Atom1Feed
    title = "SET mental health outcomes: releases"
    subtitle = (
        "Each release of the Southend, Essex and Thurrock Mental Health Strategy's outcome "
        "figures, and what it changed."
    )
    author_name = PUBLISHER

    def link(self):
        return reverse("reporting:releases")

    def feed_url(self):
        return reverse("reporting:release-feed")

    def items(self):
        return releases_published()

    def item_title(self, item: Release):
        return item.title

    def item_description(self, item: Release):
        if item.corrects_id:
            return f"Correction to {item.corrects.title}: {item.correction_note}"
        return item.note or f"Figures published {_day(item.published_at)}."

    def item_link(self, item: Release):
        return reverse("reporting:release-changes", args=[item.pk])

    def item_pubdate(self, item: Release):
        return item.published_at

    def item_updateddate(self, item: Release):
        return item.published_at


release_feed = ReleaseFeed()
