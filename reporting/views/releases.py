"""Making releases: the Strategy Implementation Group announces, fills and publishes them;
people named for pre-release access see a release's figures before it publishes."""

from zoneinfo import ZoneInfo

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from kpis.models import Kpi, Release
from kpis.selectors.releases import (
    release_access_for,
    release_choices,
    release_contents_summary,
    release_detail_get,
)
from kpis.services.releases import (
    ReleaseContents,
    release_pre_release_view,
    release_publish,
    release_schedule,
)
from strategy.access import Action, user_can
from strategy.models import User

from .access import require

LONDON = ZoneInfo("Europe/London")
MANAGERS = "Releases are made by the Strategy Implementation Group."


class ReleaseForm(forms.Form):
    title = forms.CharField(max_length=200)
    scheduled_for = forms.DateTimeField(
        label="Publishes at (UK time)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    uploads = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="Approved returns"
    )
    kpis = forms.ModelMultipleChoiceField(
        queryset=Kpi.objects.order_by("code"), required=False, label="KPIs"
    )
    publications = forms.ModelMultipleChoiceField(
        queryset=None, required=False, label="National publications"
    )
    approved_up_to = forms.DateTimeField(
        required=False,
        label="Everything approved by (UK time)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    pre_release = forms.ModelMultipleChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        required=False,
        label="Pre-release access",
    )
    corrects = forms.ModelChoiceField(
        queryset=None, required=False, label="Corrects the published release"
    )
    correction_note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="What it corrects"
    )
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = release_choices()
        self.fields["uploads"].queryset = choices["uploads"]
        self.fields["publications"].queryset = choices["publications"]
        self.fields["corrects"].queryset = choices["published"]
        for name in ("scheduled_for", "approved_up_to"):
            self.fields[name].widget.attrs["class"] = "nhsuk-input nhsuk-input--width-20"


def _aware(moment):
    if moment is None or timezone.is_aware(moment):
        return moment
    return moment.replace(tzinfo=LONDON)


@login_required
def release_new(request):
    require(request, Action.MANAGE_RELEASES, MANAGERS)
    form = ReleaseForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            release = release_schedule(
                title=data["title"],
                scheduled_for=_aware(data["scheduled_for"]),
                user=request.user,
                note=data["note"],
                contents=ReleaseContents(
                    uploads=list(data["uploads"]),
                    kpis=list(data["kpis"]),
                    publications=list(data["publications"]),
                    approved_up_to=_aware(data["approved_up_to"]),
                ),
                pre_release=list(data["pre_release"]),
                corrects=data["corrects"],
                correction_note=data["correction_note"],
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, f"{release.title} is announced.")
            return redirect("reporting:release-detail", pk=release.pk)
    return render(
        request,
        "reporting/internal/release_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


@login_required
def release_detail(request, pk: int):
    try:
        release = release_detail_get(pk)
    except Release.DoesNotExist as missing:
        raise Http404("No such release") from missing
    managing = user_can(request.user, Action.MANAGE_RELEASES)
    named = release_access_for(release, request.user) is not None
    if not (managing or named):
        raise PermissionDenied("Only the group and the people named for a release see it here.")
    figures = None
    if release.published_at is None and (named or user_can(request.user, Action.SEE_PRE_RELEASE)):
        figures = list(release_pre_release_view(release=release, user=request.user)[:200])
    release = release_detail_get(pk)  # seen times just recorded
    return render(
        request,
        "reporting/internal/release_detail.html",
        {
            "release": release,
            "summary": release_contents_summary(release).to_dict("records"),
            "figures": figures,
            "managing": managing,
            "due": release.published_at is None and release.scheduled_for <= timezone.now(),
        },
    )


@login_required
@require_POST
def release_publish_now(request, pk: int):
    require(request, Action.MANAGE_RELEASES, MANAGERS)
    try:
        release = release_detail_get(pk)
    except Release.DoesNotExist as missing:
        raise Http404("No such release") from missing
    try:
        count = release_publish(release=release, user=request.user)
    except ValidationError as refused:
        messages.error(request, " ".join(refused.messages))
    else:
        messages.success(request, f"Published {count} values.")
    return redirect("reporting:release-detail", pk=pk)
