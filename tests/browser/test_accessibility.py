"""Public pages scanned with axe-core for WCAG 2.2 AA faults in a real browser."""

from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
RULESETS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def violations(page) -> list[str]:
    # Evaluated through the browser's own protocol: the page's Content-Security-Policy refuses
    # inline scripts, which a script tag added to the page would be.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: tags})", RULESETS)
    return [
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['target']})"
        for v in result["violations"]
    ]


PUBLIC_PAGES = [
    "/",
    "/kpis/EIP-2WK/",
    "/deliverables/",
    "/releases/",
    "/accounts/login/",
    "/outcomes/O1/",
    "/themes/acute-crisis/adults/",
    "/places/southend/",
    "/what-matters/",
    "/methodology/",
    "/kpis/",
    "/api/",
]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_have_no_accessibility_faults(page, live_server, catalogue_data, path):
    page.goto(live_server.url + path)
    assert violations(page) == []


def test_the_kpi_catalogue_has_no_accessibility_faults(page, live_server, catalogue_data):
    page.goto(live_server.url + "/kpis/?q=recovery")
    assert "TT-RECOVERY" in page.inner_text("main")
    assert violations(page) == []


@pytest.mark.parametrize(
    "path",
    [
        "/imports/",
        "/releases/new/",
        "/tracker/",
        "/completeness/",
        "/audit/",
        "/board/",
        "/api/token/",
    ],
)
def test_the_groups_pages_have_no_accessibility_faults(
    page, live_server, catalogue_data, sig, path
):
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(sig.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + path)
    assert page.title() and "Log in" not in page.title()
    assert violations(page) == []


def test_the_board_with_icons_and_commentary_and_the_commentary_page_have_no_faults(
    page, live_server, catalogue_data, sig
):
    from django.utils import timezone

    from kpis.models import Commentary, Kpi
    from strategy.models import Place
    from tests.kpis.factories import AssessmentFactory, PeriodFactory, SeriesFactory

    kpi = Kpi.objects.get(code="ASCS-FEEL-SAFE")
    southend = Place.objects.get(code="southend")
    period = PeriodFactory(label="2024-25 Q1")
    AssessmentFactory(
        series=SeriesFactory(kpi=kpi, place=southend),
        period=period,
        is_latest=True,
        spc_point_type="special_cause_improvement",
        assurance="consistent_pass",
    )
    Commentary.objects.create(
        kpi=kpi,
        place=southend,
        period=period,
        author=sig,
        text="Two clinicians left in May; locums start in July.",
        recorded_at=timezone.now(),
    )
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(sig.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    page.goto(live_server.url + "/board/?place=southend")
    assert "Two clinicians left in May" in page.inner_text("main")
    assert violations(page) == []
    page.get_by_role("link", name="Update commentary on ASCS-FEEL-SAFE").click()
    assert page.get_by_label("Commentary").input_value().startswith("Two clinicians")
    assert violations(page) == []


def test_every_page_fits_a_phone_320_pixels_wide(browser, live_server, catalogue_data, sig):
    """Nothing makes the page scroll sideways: wide tables scroll inside their own region."""
    context = browser.new_context(viewport={"width": 320, "height": 640})
    page = context.new_page()
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    wide = {}
    for path in PUBLIC_PAGES:
        page.goto(live_server.url + path)
        wide[path] = page.evaluate("document.documentElement.scrollWidth")
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Username").fill(sig.username)
    page.get_by_label("Password").fill("correct horse battery staple")
    page.get_by_role("button", name="Log in").click()
    for path in (
        "/audit/",
        "/returns/",
        "/tracker/",
        "/completeness/",
        "/board/",
        "/releases/new/",
    ):
        page.goto(live_server.url + path)
        wide[path] = page.evaluate("document.documentElement.scrollWidth")
    context.close()
    assert {path: width for path, width in wide.items() if width > 320} == {}
    assert problems == []
