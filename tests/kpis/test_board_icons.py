"""Making Data Count icons: improvement and concern are high or low by the KPI's direction."""

import pytest

from kpis.board import ASSURANCE_ICONS, spc_icon


@pytest.mark.parametrize(
    ("point_type", "direction", "icon"),
    [
        ("common_cause", "higher_is_better", "common_cause"),
        ("common_cause", "neutral", "common_cause"),
        ("special_cause_improvement", "higher_is_better", "improvement_high"),
        ("special_cause_concern", "higher_is_better", "concern_low"),
        ("special_cause_improvement", "lower_is_better", "improvement_low"),
        ("special_cause_concern", "lower_is_better", "concern_high"),
        ("special_cause_neutral_high", "neutral", "neutral_high"),
        ("special_cause_neutral_low", "neutral", "neutral_low"),
        # No SPC (too few points, refused): no icon, the words say why.
        ("", "higher_is_better", ""),
        # Improvement cannot be placed high or low for a neutral KPI: no icon, not a guess.
        ("special_cause_improvement", "neutral", ""),
    ],
)
def test_variation_icon_follows_the_kpis_direction(point_type, direction, icon):
    assert spc_icon(point_type, direction) == icon


def test_each_assurance_has_its_icon():
    assert ASSURANCE_ICONS == {
        "consistent_pass": "pass",
        "consistent_fail": "fail",
        "inconsistent": "hit_and_miss",
    }
