"""The deliverables tracker: RAG, overdue flags and latest updates; owners post updates."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from strategy.models import Deliverable
from strategy.selectors import deliverable_get, deliverable_tracker
from strategy.services import deliverable_update_may_post, deliverable_update_post


class DeliverableUpdateForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(s.value, s.label) for s in Deliverable.Status if s != Deliverable.Status.EXPIRED]
    )
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label="What has happened")


@login_required
def deliverable_tracker_page(request):
    tracked = deliverable_tracker(today=timezone.localdate())
    counts = {rag: sum(1 for t in tracked if t.rag == rag) for rag in ("red", "amber", "green")}
    return render(
        request,
        "reporting/internal/deliverable_tracker.html",
        {"tracked": tracked, "counts": counts},
    )


@login_required
def deliverable_update(request, code: str):
    try:
        deliverable = deliverable_get(code=code)
    except Deliverable.DoesNotExist as missing:
        raise Http404("No such deliverable") from missing
    if not deliverable_update_may_post(request.user, deliverable):
        raise PermissionDenied(
            "Updates are posted by the deliverable's owner and the Strategy Implementation Group."
        )
    form = DeliverableUpdateForm(request.POST or None, initial={"status": deliverable.status})
    if request.method == "POST" and form.is_valid():
        try:
            deliverable_update_post(
                user=request.user,
                deliverable=deliverable,
                status=form.cleaned_data["status"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, f"Update to {deliverable.code} recorded.")
            return redirect("reporting:deliverable-tracker")
    return render(
        request,
        "reporting/internal/deliverable_update.html",
        {"deliverable": deliverable, "form": form},
        status=400 if form.errors else 200,
    )
