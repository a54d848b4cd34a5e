"""The commentary page: who reads and writes it, history, the limit, where it returns to,
queries."""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kpis.models import Commentary
from strategy.access import Role
from strategy.models import Organisation, Place
from strategy.services import user_create
from tests.kpis.factories import KpiFactory, PeriodFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def council(catalogue_data):
    return Organisation.objects.get(code="SCC")


@pytest.fixture
def kpi(council):
    return KpiFactory(code="COMMENT-1", title="Seen within four weeks", owner=council)


@pytest.fixture
def period(catalogue_data):
    # A quarter's label has a space: the URL must carry it.
    return PeriodFactory(label="2024-25 Q1")


@pytest.fixture
def place_lead(make_user):
    return make_user("southend-writer", Role.PLACE_LEAD, places=("southend",))


@pytest.fixture
def officer(council):
    """Someone of the KPI's owner organisation, with no role and no place granted."""
    return user_create(
        username="council-officer", password=PASSWORD, roles=[], organisation=council
    )


def _url(kpi, place_code, period, next_url=None):
    url = reverse("reporting:commentary", args=[kpi.code, place_code, period.label])
    return f"{url}?next={next_url}" if next_url else url


def _post(kpi, place_code, period, author, text, day):
    return Commentary.objects.create(
        kpi=kpi,
        place=Place.objects.get(code=place_code),
        period=period,
        author=author,
        text=text,
        recorded_at=datetime(2025, 6, day, 10, 30, tzinfo=UTC),
    )


def test_the_url_carries_a_period_label_with_a_space(kpi, period):
    assert (
        _url(kpi, "southend", period) == "/board/kpis/COMMENT-1/commentary/southend/2024-25%20Q1/"
    )


def test_anonymous_visitors_are_sent_to_log_in(client, kpi, period):
    for response in (
        client.get(_url(kpi, "southend", period)),
        client.post(_url(kpi, "southend", period), {"text": "x"}),
    ):
        assert response.status_code == 302 and "/login" in response["Location"]
    assert not Commentary.objects.exists()


def test_analysts_may_neither_read_nor_write_and_are_told_why(client, make_user, kpi, period):
    client.force_login(make_user("analyst", Role.ANALYST))
    page = client.get(_url(kpi, "southend", period))
    assert page.status_code == 403
    assert "the place&#x27;s lead and the KPI&#x27;s owner organisation" in page.content.decode()
    posted = client.post(_url(kpi, "southend", period), {"text": "Why"})
    assert posted.status_code == 403
    assert "is written by the KPI&#x27;s owner organisation" in posted.content.decode()
    assert not Commentary.objects.exists()


def test_a_place_lead_writes_for_their_place_and_is_refused_for_another(
    client, place_lead, kpi, period
):
    client.force_login(place_lead)
    page = client.get(_url(kpi, "southend", period))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Seen within four weeks" in html and "Southend-on-Sea, 2024-25 Q1" in html
    assert 'name="text"' in html and "You can enter up to 1000 characters" in html
    response = client.post(_url(kpi, "southend", period), {"text": "Locums start in July."})
    assert response.status_code == 302
    (note,) = Commentary.objects.all()
    assert (note.place.code, note.period, note.author, note.text) == (
        "southend",
        period,
        place_lead,
        "Locums start in July.",
    )
    assert client.get(_url(kpi, "thurrock", period)).status_code == 403
    refused = client.post(_url(kpi, "thurrock", period), {"text": "Not mine to say."})
    assert refused.status_code == 403
    assert Commentary.objects.count() == 1


def test_the_owner_organisation_writes_on_its_kpi_anywhere_but_not_on_others(
    client, officer, kpi, period
):
    client.force_login(officer)
    for place in ("thurrock", "essex"):
        assert client.post(_url(kpi, place, period), {"text": f"At {place}."}).status_code == 302
    assert sorted(Commentary.objects.values_list("place__code", flat=True)) == [
        "essex",
        "thurrock",
    ]
    others = KpiFactory(owner=Organisation.objects.get(code="ECC"))
    assert client.get(_url(others, "thurrock", period)).status_code == 403
    assert client.post(_url(others, "thurrock", period), {"text": "No."}).status_code == 403


def test_a_group_member_writes_anywhere(client, sig, kpi, period):
    client.force_login(sig)
    assert client.post(_url(kpi, "alliance-mid-essex", period), {"text": "Mid."}).status_code == 302
    assert Commentary.objects.get().author == sig


def test_history_is_kept_and_the_latest_is_current(client, sig, place_lead, kpi, period):
    client.force_login(sig)
    client.post(_url(kpi, "southend", period), {"text": "Two clinicians left in May."})
    client.post(_url(kpi, "southend", period), {"text": "Recovery plan agreed in June."})
    latest, earlier = Commentary.objects.all()  # newest first
    assert (latest.text, earlier.text) == (
        "Recovery plan agreed in June.",
        "Two clinicians left in May.",
    )
    html = client.get(_url(kpi, "southend", period)).content.decode()
    current = html.split('id="current-commentary"')[1].split("</figure>")[0]
    assert "Recovery plan agreed in June." in current and "sig-member" in current
    history = html.split("<h2>Earlier commentary</h2>")[1]
    assert "Two clinicians left in May." in history
    assert "Recovery plan agreed in June." not in history
    assert "Update the commentary" in html


def test_the_page_shows_author_and_date_of_each_post(client, sig, place_lead, kpi, period):
    place_lead.first_name, place_lead.last_name = "Sam", "Lead"
    place_lead.save()
    _post(kpi, "southend", period, place_lead, "First.", 2)
    _post(kpi, "southend", period, sig, "Second.", 3)
    client.force_login(place_lead)
    html = client.get(_url(kpi, "southend", period)).content.decode()
    # 10:30 UTC is 11:30 in London in June.
    assert "sig-member, 3 Jun 2025 11:30" in html
    assert "Sam Lead, 2 Jun 2025 11:30" in html


def test_over_long_commentary_is_refused_and_kept_in_the_form(client, sig, kpi, period):
    client.force_login(sig)
    response = client.post(_url(kpi, "southend", period), {"text": "a" * 1001})
    assert response.status_code == 400
    html = response.content.decode()
    assert "Keep the commentary to 1,000 characters: this one has 1,001." in html
    assert "a" * 1001 in html  # what was written is not lost
    assert not Commentary.objects.exists()
    blank = client.post(_url(kpi, "southend", period), {"text": "   "})
    assert blank.status_code == 400 and "cannot be blank" in blank.content.decode()


@pytest.mark.parametrize(
    ("next_url", "lands_on"),
    [
        ("/board/?sort=code", "/board/?sort=code"),
        ("https://evil.example/board/", "/board/"),
        ("//evil.example/", "/board/"),
        ("", "/board/"),
    ],
)
def test_after_posting_only_a_local_next_is_followed(client, sig, kpi, period, next_url, lands_on):
    client.force_login(sig)
    url = _url(kpi, "southend", period)
    # The page hands next on through its form.
    form = client.get(url, {"next": next_url}).content.decode()
    assert f'name="next" value="{lands_on}"' in form.replace("&amp;", "&")
    response = client.post(url, {"text": "Noted.", "next": next_url})
    assert response.status_code == 302 and response["Location"] == lands_on


def test_unknown_kpi_place_or_period_is_not_found(client, sig, kpi, period):
    client.force_login(sig)
    base = ["COMMENT-1", "southend", "2024-25 Q1"]
    for position, wrong in enumerate(["NO-SUCH-KPI", "nowhere", "2099-00 Q9"]):
        args = list(base)
        args[position] = wrong
        assert client.get(reverse("reporting:commentary", args=args)).status_code == 404


@pytest.mark.parametrize("how_many", [2, 20])
def test_page_queries_do_not_grow_with_the_history(client, sig, kpi, period, how_many):
    client.force_login(sig)
    for day in range(1, how_many + 1):
        _post(kpi, "southend", period, sig, f"Post {day}.", day)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(_url(kpi, "southend", period)).content.decode()
    assert f"Post {how_many}." in html and "Post 1." in html
    # Session, user, the user's roles; KPI, place, period; the history with its authors.
    assert len(queries) == 7
