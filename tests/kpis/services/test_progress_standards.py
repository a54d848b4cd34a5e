"""Stored verdicts honour the catalogued threshold standards, and the shipped rules that do so
reach a database still running an earlier shipped version."""

from datetime import date

import pytest
import yaml
from django.conf import settings

from kpis.models import Assessment, Kpi, VerdictRuleTable
from kpis.services.observations import series_get_or_create
from kpis.services.progress import (
    progress_recompute,
    verdict_rules_ensure_default,
    verdict_rules_publish,
)
from strategy.models import Place
from tests.kpis.observation_helpers import record

RULES_FILE = settings.FIXTURES_DIR / "kpis" / "verdict_rules.yaml"


def shipped() -> dict:
    return yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))


@pytest.fixture
def southend_recovery(catalogue_data):
    kpi = Kpi.objects.get(code="TT-RECOVERY")
    return series_get_or_create(kpi=kpi, place=Place.objects.get(code="sub-icb-99g"))


def test_southend_46_percent_in_2020_21_is_stored_as_below_the_standard(southend_recovery):
    # 460/1000 = 46%, Wilson 95% interval 42.93% to 49.10% (worked in
    # tests/kpis/test_assessment_standards.py): wholly below the 50% recovery standard, in
    # force since April 2015. The baseline year alone used to read "no target concern".
    record(southend_recovery, "2020-21", 460, 1000)
    progress_recompute(series_ids=[southend_recovery.pk], as_of=date(2021, 9, 30))
    stored = Assessment.objects.get(series=southend_recovery)
    assert (stored.target_kind, stored.target_value) == ("threshold", 50)
    assert stored.upper95 == pytest.approx(49.10, abs=0.01)
    assert stored.verdict == "off_track"
    assert stored.verdict_reason == "Below the standard of 50%, by more than the margin of error."
    assert stored.rule_table.rules == shipped()["rules"]


def test_a_month_whose_interval_holds_the_standard_needs_attention(southend_recovery):
    # 30/60 = 50%: Wilson centre 0.5, half-width 1.959964·sqrt(0.25/60 + 3.841459/14400) /
    # 1.064024 = 0.12265; the interval (37.73% to 62.27%) holds the standard.
    record(southend_recovery, "Apr 2023", 30, 60)
    progress_recompute(series_ids=[southend_recovery.pk], as_of=date(2023, 9, 30))
    stored = Assessment.objects.get(series=southend_recovery)
    assert stored.verdict == "needs_attention", stored.verdict_reason
    assert stored.verdict_reason.startswith("Close to the standard of 50%")


def test_the_shipped_rules_are_the_active_table_of_a_new_database(catalogue_data):
    table = VerdictRuleTable.objects.get(is_active=True)
    assert table.rules == shipped()["rules"]
    assert verdict_rules_ensure_default(path=RULES_FILE) == table  # loading again: no change


def test_a_database_running_the_earlier_shipped_rules_is_upgraded(catalogue_data):
    earlier = shipped()["supersedes"][0]
    old = verdict_rules_publish(rules=earlier["rules"], note=earlier["note"])
    table = verdict_rules_ensure_default(path=RULES_FILE)
    assert table.version == old.version + 1 and table.is_active
    assert table.rules == shipped()["rules"]
    old.refresh_from_db()
    assert not old.is_active
    # Loading once more leaves the new version in place.
    assert verdict_rules_ensure_default(path=RULES_FILE) == table


def test_rules_the_group_has_changed_are_left_alone(catalogue_data):
    own = verdict_rules_publish(
        rules=[{"when": {}, "verdict": "no_significant_change", "reason": "ours"}], note="ours"
    )
    assert verdict_rules_ensure_default(path=RULES_FILE) == own
    assert VerdictRuleTable.objects.get(is_active=True) == own


def test_rules_may_name_the_standard_status(catalogue_data):
    table = verdict_rules_publish(
        rules=[{"when": {"standard_status": ["not_met"]}, "verdict": "off_track", "reason": "x"}]
    )
    assert table.is_active
