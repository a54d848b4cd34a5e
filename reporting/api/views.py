"""The analysts' API, ``/api/v1/``: thin views over selectors; access through the access table.

Every view declares its ``access_action``; ``AccessTablePermission`` asks the table (token calls
also need ``USE_API_TOKEN``). Lists page by cursor in JSON and come whole as CSV or XLSX
(``?format=csv``); the figure endpoints stream their CSV in constant memory and answer
conditional requests (ETag, Last-Modified) before reading any figure.
"""

from __future__ import annotations

import hashlib
from itertools import islice

from django.db import connection
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date, quote_etag
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework import generics
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response

from kpis.selectors.figures import (
    ASSESSMENT_COLUMNS,
    ASSESSMENT_FIELDS,
    OBSERVATION_COLUMNS,
    FigureFilters,
    View,
    assessment_frame,
    assessment_rows,
    figures_last_changed,
    observation_fields,
    observation_frame,
    observation_rows,
    published_observation_csv,
)
from kpis.selectors.public import published_release_get
from strategy.access import Action, places_for, user_can
from strategy.selectors import strategy_get

from ..exports import (
    XLSX_CONTENT_TYPE,
    csv_rows_stream,
    csv_stream,
    frame_rows,
    xlsx_frames_bytes,
)
from ..selectors import api_deliverables, api_kpis, api_periods, api_places, api_releases
from .pagination import IdCursorPagination
from .renderers import CSVRenderer, XLSXRenderer
from .serializers import (
    AssessmentSerializer,
    DeliverableSerializer,
    FigureFilterSerializer,
    KpiSerializer,
    ObservationSerializer,
    PeriodSerializer,
    PlaceSerializer,
    ReleaseSerializer,
    StrategySerializer,
)

FILE_FORMATS = ("csv", "xlsx")
#: Rows read and shaped at a time by a streamed export.
EXPORT_CHUNK = 20_000
#: An XLSX download is built whole in memory; larger exports are for CSV.
XLSX_MAX_ROWS = 100_000


class BrowsableApiRenderer(BrowsableAPIRenderer):
    """The browsable API without DRF's filter form: the figures' filters are query parameters,
    documented in the schema, not filter backends."""

    def get_filter_form(self, data, view, request):
        return None


#: The reference page draws with Redoc, whose styles are inline; everything comes from here.
REFERENCE_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; worker-src 'self' blob:; connect-src 'self'; font-src 'self' data:"
)


class ApiReference(SpectacularRedocView):
    """The OpenAPI reference page, from this site alone (its credit image included)."""

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = REFERENCE_CSP
        return response


def _paged(ordering: str) -> type[IdCursorPagination]:
    return type(f"CursorBy{ordering.title()}", (IdCursorPagination,), {"ordering": ordering})


class ApiView(generics.GenericAPIView):
    """What every endpoint shares: JSON, the browsable API, CSV and XLSX; no caching by
    shared caches of what a signed-in caller read."""

    access_action = Action.READ_PUBLISHED
    renderer_classes = [JSONRenderer, BrowsableApiRenderer, CSVRenderer, XLSXRenderer]
    pagination_class = IdCursorPagination
    file_name = "data"

    def paginate_queryset(self, queryset):
        if self.request.accepted_renderer.format in FILE_FORMATS:
            return None
        return super().paginate_queryset(queryset)

    def finalize_response(self, request, response, *args, **kwargs):
        if isinstance(response, Response) and response.status_code >= 400:
            # Errors are JSON in every format, so a client reads why, whatever it asked for.
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_vary_headers(response, ["Accept", "Authorization", "Cookie"])
        authenticated = request.user.is_authenticated
        response.headers.setdefault(
            "Cache-Control", "private, no-cache" if authenticated else "public, no-cache"
        )
        renderer = getattr(request, "accepted_renderer", None)
        if renderer is not None and renderer.format in FILE_FORMATS and response.status_code == 200:
            response.headers.setdefault(
                "Content-Disposition", f'attachment; filename="{self.file_name}.{renderer.format}"'
            )
        return response


class ApiListView(generics.ListAPIView, ApiView):
    pass


@extend_schema(summary="The strategy: vision, outcomes, what matters, themes and priorities")
class StrategyApi(generics.RetrieveAPIView, ApiView):
    serializer_class = StrategySerializer
    file_name = "strategy"

    def get_object(self):
        return strategy_get()


@extend_schema(summary="Deliverables, with their progress updates for signed-in callers")
class DeliverableListApi(ApiListView):
    serializer_class = DeliverableSerializer
    pagination_class = _paged("code")
    file_name = "deliverables"

    def _with_updates(self) -> bool:
        return user_can(self.request.user, Action.SEE_DELIVERABLE_UPDATES)

    def get_queryset(self):
        return api_deliverables()

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "updates": self._with_updates()}


@extend_schema(summary="Places: their areas, geography basis, codes and validity")
class PlaceListApi(ApiListView):
    serializer_class = PlaceSerializer
    pagination_class = _paged("code")
    file_name = "places"

    def get_queryset(self):
        return api_places()


class _KpiContext:
    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "internal_notes": user_can(self.request.user, Action.SEE_UNPUBLISHED),
        }


@extend_schema(summary="KPIs with their full metadata")
class KpiListApi(_KpiContext, ApiListView):
    serializer_class = KpiSerializer
    pagination_class = _paged("code")
    file_name = "kpis"

    def get_queryset(self):
        return api_kpis()


@extend_schema(summary="One KPI with its full metadata")
class KpiDetailApi(_KpiContext, generics.RetrieveAPIView, ApiView):
    serializer_class = KpiSerializer
    lookup_field = "code"
    file_name = "kpi"

    def get_queryset(self):
        return api_kpis()


@extend_schema(summary="Reporting periods")
class PeriodListApi(ApiListView):
    serializer_class = PeriodSerializer
    file_name = "periods"

    def get_queryset(self):
        return api_periods()


@extend_schema(summary="Releases: published, and announced ones still to come")
class ReleaseListApi(ApiListView):
    serializer_class = ReleaseSerializer
    file_name = "releases"

    def get_queryset(self):
        return api_releases()


# Figures ------------------------------------------------------------------------------------


def _figure_scope(request, data: dict) -> dict:
    """Which rows the caller may read, from the access table: the view, the release read and,
    for the internal view, the places whose unpublished values the caller may see."""
    view = data["view"]
    as_of = None
    internal_place_ids: list[int] = []
    if view == View.INTERNAL:
        if not user_can(request.user, Action.SEE_UNPUBLISHED):
            raise PermissionDenied("Your role may not see unpublished figures.")
        if data.get("as_of"):
            raise ValidationError(
                {"as_of": ["as_of reads published figures: it cannot be used with view=internal."]}
            )
        allowed = dict(places_for(request.user, Action.SEE_UNPUBLISHED).values_list("code", "id"))
        refused = sorted(set(data.get("place", ())) - set(allowed))
        if refused:
            raise PermissionDenied(f"You may not see unpublished figures of {', '.join(refused)}.")
        internal_place_ids = sorted(allowed.values())
    if data.get("as_of"):
        as_of = published_release_get(release_id=data["as_of"])
        if as_of is None:
            raise NotFound(f"No published release {data['as_of']}.")
    filters = FigureFilters(
        kpis=data.get("kpi", ()),
        places=data.get("place", ()),
        period_from=data.get("period_from"),
        period_to=data.get("period_to"),
        outcome=data.get("outcome", ""),
        theme=data.get("theme", ""),
        cohort=data.get("cohort", ""),
        breakdown=data.get("breakdown", ""),
        release=data.get("release"),
        latest_only=data.get("latest", False),
    )
    return {
        "filters": filters,
        "view": view,
        "as_of": as_of,
        "internal_place_ids": internal_place_ids,
    }


def _chunks(iterator, size: int):
    while chunk := list(islice(iterator, size)):
        yield chunk


_FIGURE_PARAMETERS = [
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=["json", "csv", "xlsx"],
        description="json (default, paged by cursor), csv (streamed, every row) or xlsx "
        f"(up to {XLSX_MAX_ROWS:,} rows).",
    ),
]


class FigureListApi(ApiView):
    """Rows of a figure read (``rows``), shaped a page or chunk at a time (``frame``)."""

    rows = staticmethod(observation_rows)
    frame = staticmethod(observation_frame)
    columns = OBSERVATION_COLUMNS
    #: Published rows as CSV written by the database itself (PostgreSQL), if the kind has it.
    database_csv = staticmethod(published_observation_csv)

    def fields(self, view: str) -> dict[str, str]:
        return observation_fields(view)

    def _frames(self, rows, scope: dict):
        """The rows shaped a chunk at a time, read by a server-side cursor."""
        chunks = _chunks(
            rows.values_list(*self.fields(scope["view"])).iterator(chunk_size=EXPORT_CHUNK),
            EXPORT_CHUNK,
        )
        return (self.frame(chunk, view=scope["view"], as_of=scope["as_of"]) for chunk in chunks)

    def _csv_body(self, rows, scope: dict):
        if (
            self.database_csv is not None
            and scope["view"] == View.PUBLISHED
            and connection.vendor == "postgresql"
        ):
            blocks = self.database_csv(filters=scope["filters"], as_of=scope["as_of"])
            return csv_rows_stream(blocks, columns=self.columns)
        return csv_stream(self._frames(rows, scope), columns=self.columns)

    def get(self, request, *args, **kwargs):
        query = FigureFilterSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        scope = _figure_scope(request, query.validated_data)
        fmt = request.accepted_renderer.format
        last_modified, tag = figures_last_changed(
            view=scope["view"], internal_place_ids=scope["internal_place_ids"]
        )
        etag = quote_etag(
            hashlib.sha256(
                "|".join(
                    [tag, fmt, request.get_full_path(), str(scope["internal_place_ids"])]
                ).encode()
            ).hexdigest()[:32]
        )
        # HTTP dates are whole seconds.
        timestamp = int(last_modified.timestamp()) if last_modified else None
        not_modified = get_conditional_response(request, etag=etag, last_modified=timestamp)
        if not_modified is not None:
            return not_modified
        rows = self.rows(**scope)
        if fmt == "csv":
            response = StreamingHttpResponse(
                self._csv_body(rows, scope), content_type="text/csv; charset=utf-8"
            )
        elif fmt == "xlsx":
            if rows.count() > XLSX_MAX_ROWS:
                raise ValidationError(
                    {
                        "format": f"An XLSX download holds up to {XLSX_MAX_ROWS:,} rows: narrow "
                        "the filters, or ask for format=csv, which streams every row."
                    }
                )
            response = HttpResponse(
                xlsx_frames_bytes(
                    self._frames(rows, scope), columns=self.columns, sheet=self.file_name
                ),
                content_type=XLSX_CONTENT_TYPE,
            )
        else:
            page = self.paginate_queryset(rows)
            records = frame_rows(
                self.frame(page, view=scope["view"], as_of=scope["as_of"]), columns=self.columns
            )
            response = self.get_paginated_response(self.get_serializer(records, many=True).data)
        response["ETag"] = etag
        if last_modified:
            response["Last-Modified"] = http_date(timestamp)
        return response


@extend_schema(
    summary="Observations: every value with its counts, intervals, flags and vintage",
    parameters=[FigureFilterSerializer, *_FIGURE_PARAMETERS],
    responses=ObservationSerializer(many=True),
)
class ObservationListApi(FigureListApi):
    serializer_class = ObservationSerializer
    file_name = "observations"


@extend_schema(
    summary="Assessments: baseline and change, benchmarks, SPC, target progress and verdict",
    parameters=[FigureFilterSerializer, *_FIGURE_PARAMETERS],
    responses=AssessmentSerializer(many=True),
)
class AssessmentListApi(FigureListApi):
    serializer_class = AssessmentSerializer
    rows = staticmethod(assessment_rows)
    frame = staticmethod(assessment_frame)
    database_csv = None

    def fields(self, view: str) -> dict[str, str]:
        return ASSESSMENT_FIELDS

    columns = ASSESSMENT_COLUMNS
    file_name = "assessments"
