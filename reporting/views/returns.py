"""Pages for returns: upload, progress, issues, the values for review, the file, submit,
decide, withdraw."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from kpis.models import ReturnUpload
from kpis.returns.report import issues_csv
from kpis.returns.spec import Issue
from kpis.returns.template import build_csv, build_xlsx
from kpis.selectors.returns import (
    open_expectations_for,
    upload_file_visible_to,
    upload_issues_visible_to,
    upload_list_for,
    upload_title,
    upload_values_page,
    upload_visible_to,
    uploads_titled,
)
from kpis.services.returns import (
    upload_create,
    upload_decide,
    upload_may_decide,
    upload_may_submit,
    upload_may_withdraw,
    upload_submit,
    upload_withdraw,
)
from strategy.access import Action, user_can

from .access import require


class UploadForm(forms.Form):
    file = forms.FileField(label="Return file (CSV or XLSX)")
    kind = forms.ChoiceField(choices=ReturnUpload.Kind.choices, initial="quarterly")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        if not user_can(user, Action.UPLOAD_HISTORY):
            # Offer only what this user may upload.
            self.fields["kind"].choices = [
                (ReturnUpload.Kind.QUARTERLY.value, ReturnUpload.Kind.QUARTERLY.label)
            ]


class PageForm(forms.Form):
    page = forms.IntegerField(min_value=1, required=False)


def _page_number(request) -> int:
    form = PageForm(request.GET)
    return (form.is_valid() and form.cleaned_data["page"]) or 1


def _require_uploader(request):
    require(
        request,
        Action.UPLOAD_RETURN,
        "Returns are uploaded by place leads (for the places granted to them) and the "
        "Strategy Implementation Group.",
    )


@login_required
def returns_home(request):
    _require_uploader(request)
    form = UploadForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            upload, created = upload_create(
                user=request.user,
                filename=uploaded.name,
                content=uploaded,
                kind=form.cleaned_data["kind"],
            )
        except (ValidationError, PermissionDenied) as problem:
            form.add_error(
                "file", problem.messages[0] if hasattr(problem, "messages") else str(problem)
            )
        else:
            if not created:
                messages.info(
                    request,
                    "This exact file was already uploaded on "
                    f"{upload.uploaded_at:%d %B %Y at %H:%M}: nothing has changed.",
                )
            return redirect("reporting:return-detail", pk=upload.pk)
    return render(
        request,
        "reporting/returns/list.html",
        {"form": form, "uploads": upload_list_for(user=request.user)},
    )


def _visible_upload(request, pk, *, titled: bool = False) -> ReturnUpload:
    uploads = ReturnUpload.objects.select_related("uploaded_by", "submitted_by", "decided_by")
    upload = get_object_or_404(uploads, pk=pk)
    if not upload_visible_to(user=request.user, upload=upload):
        raise PermissionDenied("This return is not one of yours.")
    return uploads_titled([upload])[0] if titled else upload


# States in which a worker is at work on a return; its page follows the progress.
IN_PROGRESS = (
    ReturnUpload.State.RECEIVED,
    ReturnUpload.State.VALIDATING,
    ReturnUpload.State.APPROVING,
)
# States in which a return's rows are staged: checked, and kept until it is withdrawn.
STAGED_STATES = (
    ReturnUpload.State.VALIDATED,
    ReturnUpload.State.SUBMITTED,
    ReturnUpload.State.SENT_BACK,
    ReturnUpload.State.APPROVING,
    ReturnUpload.State.APPROVED,
)


@login_required
def return_detail(request, pk):
    upload = _visible_upload(request, pk, titled=True)
    state = upload.state
    issues, issues_hidden = upload_issues_visible_to(user=request.user, upload=upload)
    issues = issues[:200]
    return render(
        request,
        "reporting/returns/detail.html",
        {
            "upload": upload,
            "title": upload_title(upload),
            "values": upload_values_page(
                upload=upload, user=request.user, page=_page_number(request)
            )
            if state in STAGED_STATES
            else None,
            "may_download": upload_file_visible_to(user=request.user, upload=upload),
            "errors": [i for i in issues if i["severity"] == "error"],
            "warnings": [i for i in issues if i["severity"] == "warning"],
            "issues_hidden": issues_hidden,
            "may_decide": state == ReturnUpload.State.SUBMITTED
            and upload_may_decide(user=request.user, upload=upload),
            "may_submit": state == ReturnUpload.State.VALIDATED
            and upload_may_submit(user=request.user, upload=upload),
            "may_withdraw": state
            not in (
                ReturnUpload.State.APPROVING,
                ReturnUpload.State.APPROVED,
                ReturnUpload.State.WITHDRAWN,
            )
            and upload_may_withdraw(user=request.user, upload=upload),
            "in_progress": upload.state in IN_PROGRESS,
        },
    )


# The content type of a return file by its name; anything else is sent as bytes.
FILE_TYPES = {
    ".csv": "text/csv",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@login_required
def return_file(request, pk):
    """The uploaded file as it was uploaded, under its own name, to whoever may see it all."""
    upload = _visible_upload(request, pk)
    if not upload_file_visible_to(user=request.user, upload=upload):
        raise PermissionDenied("This file holds figures of places that are not yours.")
    name = upload.file.name
    if not name or not upload.file.storage.exists(name):
        raise Http404("The service no longer keeps this file.")
    suffix = "." + upload.original_name.rsplit(".", 1)[-1].lower()
    return FileResponse(
        upload.file.storage.open(name, "rb"),
        as_attachment=True,
        filename=upload.original_name,
        content_type=FILE_TYPES.get(suffix, "application/octet-stream"),
    )


@login_required
def return_status(request, pk):
    upload = _visible_upload(request, pk)
    return JsonResponse(
        {
            "state": upload.state,
            "state_label": upload.get_state_display(),
            "stage": upload.stage,
            "percent": upload.percent,
            "finished": upload.state not in IN_PROGRESS,
        }
    )


@login_required
def return_issues_csv(request, pk):
    upload = _visible_upload(request, pk)
    visible, _ = upload_issues_visible_to(user=request.user, upload=upload)
    issues = [Issue(**issue) for issue in visible]
    response = HttpResponse(issues_csv(issues), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="return-{upload.pk}-issues.csv"'
    return response


def _act(request, pk, action):
    upload = _visible_upload(request, pk)
    try:
        action(upload)
    except ValidationError as problem:
        messages.error(request, problem.messages[0])
    return redirect("reporting:return-detail", pk=upload.pk)


@login_required
@require_POST
def return_submit(request, pk):
    return _act(
        request,
        pk,
        lambda upload: upload_submit(
            upload=upload, user=request.user, confirm_warnings=bool(request.POST.get("confirm"))
        ),
    )


@login_required
@require_POST
def return_decide(request, pk):
    approve = request.POST.get("decision") == "approve"
    return _act(
        request,
        pk,
        lambda upload: upload_decide(
            upload=upload, user=request.user, approve=approve, reason=request.POST.get("reason", "")
        ),
    )


@login_required
@require_POST
def return_withdraw(request, pk):
    return _act(
        request,
        pk,
        lambda upload: upload_withdraw(
            upload=upload, user=request.user, reason=request.POST.get("reason", "")
        ),
    )


@login_required
def return_template(request, file_type: str):
    """A template of the KPIs the user's places supply and that are due now."""
    _require_uploader(request)
    expectations = open_expectations_for(
        user=request.user, period_label=request.GET.get("period") or None
    )
    rows = [
        {"kpi_code": e.kpi.code, "place_code": e.place.code, "period": e.period.label}
        for e in expectations
    ]
    version = settings.RETURN_TEMPLATE_VERSION
    if file_type == "xlsx":
        kpis = list({e.kpi.code: e.kpi for e in expectations}.values())
        content = build_xlsx(rows=rows, kpis=kpis, version=version)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        content = build_csv(rows, version)
        content_type = "text/csv; charset=utf-8"
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="set-return-{version}.{file_type}"'
    return response
