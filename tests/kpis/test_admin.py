from decimal import Decimal

import pytest

from kpis.models import Kpi, Series
from strategy.access import Role
from tests.kpis.factories import KpiFactory, ObservationFactory, SeriesFactory
from tests.strategy.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def administrator(client):
    client.force_login(UserFactory(roles=[Role.ADMINISTRATOR]))


def test_observation_versions_are_read_only_in_the_admin(client, administrator):
    observation = ObservationFactory(
        period__label="2023-24 Q2", numerator=Decimal(3), denominator=Decimal(4), value=None
    )
    url = f"/admin/kpis/observation/{observation.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(url, {"value": "99"}).status_code == 403
    assert client.get("/admin/kpis/observation/add/").status_code == 403
    assert (
        client.post(
            f"/admin/kpis/observation/{observation.pk}/delete/", {"post": "yes"}
        ).status_code
        == 403
    )
    observation.refresh_from_db()
    assert observation.value is None


def test_kpi_definitions_are_editable_by_administrators(client, administrator):
    kpi = KpiFactory()
    assert client.get(f"/admin/kpis/kpi/{kpi.pk}/change/").status_code == 200


def test_editing_a_kpi_in_the_admin_marks_its_series_for_recomputation(client, administrator):
    kpi = KpiFactory()
    series = SeriesFactory(kpi=kpi)
    Series.objects.update(needs_recompute=False)
    url = f"/admin/kpis/kpi/{kpi.pk}/change/"
    form = client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data.update(
        {
            "priorities": [p.pk for p in kpi.priorities.all()],
            "outcomes": [o.pk for o in kpi.outcomes.all()],
            "what_matters": [w.pk for w in kpi.what_matters.all()],
            "title": kpi.title + " (edited)",
        }
    )
    for prefix in ("definition_versions", "targets"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    series.refresh_from_db()
    assert series.needs_recompute
    assert Kpi.objects.get(pk=kpi.pk).title.endswith("(edited)")
