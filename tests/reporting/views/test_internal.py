"""Internal pages: the audit log and the completeness of returns."""

from django.urls import reverse

from strategy.access import Role
from tests.kpis.upload_helpers import GOOD, uploaded


def test_audit_log_and_completeness_are_for_the_strategy_implementation_group(
    client, lead, sig, make_user
):
    uploaded(lead, GOOD)
    for user in (lead, make_user("analyst", Role.ANALYST)):
        client.force_login(user)
        assert client.get(reverse("reporting:audit")).status_code == 403
        assert client.get(reverse("reporting:completeness")).status_code == 403
    client.force_login(sig)
    page = client.get(reverse("reporting:audit")).content.decode()
    assert "Uploaded a return" in page and "southend-lead" in page
    completeness = client.get(reverse("reporting:completeness") + "?period=2024-25")
    # Due in May 2025: Southend's is uploaded but not submitted, the other three are late.
    page = completeness.content.decode()
    assert (
        "Released: 0. Approved: 0. Submitted: 0. Uploaded, not submitted: 1. Late: 3. "
        "Expected: 0." in page
    )
    # Each row links to its action: the return where there is one, else the upload page.
    assert page.count('href="/returns/"') >= 3 and "Open the return" in page
