"""Secondary suppression: no suppressed count can be worked out from the figures shown, over
the place lattice (SET, councils, alliances, districts) and over time. Pure: no database."""

from functools import cache
from itertools import pairwise
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kpis.combine import exact_partition
from kpis.disclosure import (
    SECONDARY_REASON,
    Rule,
    disclose,
    secondary_suppress,
)

NHSE = Rule(min_count=5, rounding_base=5, zero_shown=False)
LOCAL = Rule(min_count=5, zero_shown=True)
FINGERTIPS = Rule(min_events_for_rate=10, zero_shown=True)

GEOGRAPHY = Path(__file__).resolve().parents[2] / "fixtures" / "strategy" / "geography.yaml"
APRIL = ("2024-04-01", "2024-04-30")
QUARTERS = {
    "Q1": ("2024-04-01", "2024-06-30"),
    "Q2": ("2024-07-01", "2024-09-30"),
    "Q3": ("2024-10-01", "2024-12-31"),
    "Q4": ("2025-01-01", "2025-03-31"),
}


@cache
def lattice() -> dict[str, tuple[str, frozenset[str]]]:
    """The transcribed geography as plain data, as the progress engine passes it in."""
    places = yaml.safe_load(GEOGRAPHY.read_text(encoding="utf-8"))["places"]
    return {p["code"]: (p["geography_basis"], frozenset(p["areas"])) for p in places}


def figures(counts, *, period=APRIL, denominators=None, source_suppressed=()):
    """One row per place (or per (place, period label) with ``period`` a dict of spans)."""
    rows = []
    for key, count in counts.items():
        place, label = key if isinstance(key, tuple) else (key, "")
        start, end = period[label] if isinstance(period, dict) else period
        denominator = (denominators or {}).get(key, np.nan)
        rows.append(
            {
                "place": place,
                "label": label,
                "period_start": pd.Timestamp(start),
                "period_end": pd.Timestamp(end),
                "numerator": count,
                "denominator": denominator,
                "value": count if np.isnan(denominator) else count / denominator * 100,
                "source_suppressed": key in source_suppressed,
            }
        )
    return pd.DataFrame(rows)


def suppress(frame, *, rule=LOCAL, statistic="count", time_structure="discrete"):
    primary = disclose(frame, statistic=statistic, rule=rule)
    return secondary_suppress(
        primary,
        lattice=lattice(),
        time_structure=time_structure,
        statistic=statistic,
        rule=rule,
    )


def _keys(rows) -> list:
    """Place codes, or (place, period label) where the figures span periods."""
    if (rows["label"] == "").all():
        return list(rows["place"])
    return list(zip(rows["place"], rows["label"], strict=True))


def hidden(result) -> set:
    return set(_keys(result[result["suppressed"]]))


def secondary(result) -> set:
    rows = result[result["secondary"]]
    assert (rows["suppression_reason"] == SECONDARY_REASON).all()
    return set(_keys(rows))


# Over places -------------------------------------------------------------------------------


def test_a_council_under_the_threshold_takes_another_council_with_it():
    # SET - Essex - Southend would give Thurrock's 3 away: Southend (smaller than Essex) goes too.
    result = suppress(figures({"set": 120, "essex": 100, "southend": 17, "thurrock": 3}))
    assert hidden(result) == {"thurrock", "southend"}
    assert secondary(result) == {"southend"}
    thurrock = result.set_index("place").loc["thurrock"]
    assert thurrock["suppression_reason"] == "fewer than 5" and not thurrock["secondary"]


def test_an_alliance_of_two_districts_hides_its_other_district():
    # North East Essex = Colchester + Tendring: the alliance minus Colchester is Tendring.
    result = suppress(figures({"alliance-north-east-essex": 40, "colchester": 37, "tendring": 3}))
    assert hidden(result) == {"tendring", "colchester"}
    assert secondary(result) == {"colchester"}


def test_a_relation_with_two_suppressed_figures_needs_nothing_more():
    result = suppress(figures({"set": 107, "essex": 100, "southend": 4, "thurrock": 3}))
    assert hidden(result) == {"southend", "thurrock"}
    assert secondary(result) == set()


def test_the_worked_example_reaches_a_fixed_point_over_two_overlapping_relations():
    # Hiding Southend to protect Thurrock opens another way to it: South East Essex minus
    # Castle Point and Rochford. Castle Point (12, smaller than Rochford's 16) goes too.
    counts = {
        "set": 120,
        "essex": 100,
        "southend": 17,
        "thurrock": 3,
        "alliance-south-east-essex": 45,
        "castle-point": 12,
        "rochford": 16,
    }
    result = suppress(figures(counts))
    assert secondary(result) == {"southend", "castle-point"}
    assert hidden(result) == {"thurrock", "southend", "castle-point"}


def test_a_suppressed_parent_is_not_given_away_by_its_children():
    # The source suppressed SET itself: the sum of the three councils would give it away.
    frame = figures(
        {"set": 120, "essex": 100, "southend": 12, "thurrock": 8}, source_suppressed={"set"}
    )
    result = suppress(frame)
    assert secondary(result) == {"thurrock"}


def test_ties_go_to_the_place_code_and_the_choice_does_not_depend_on_row_order():
    counts = {"set": 60, "essex": 40, "southend": 10, "thurrock": 10, "basildon": 3}
    frame = figures({"set": 60, "essex": 47, "southend": 10, "thurrock": 3})
    assert secondary(suppress(frame)) == {"southend"}
    # Essex 40 = 3 (Basildon) + the other districts, which are not shown: nothing to recover.
    shuffled = figures(counts).sample(frac=1, random_state=3)
    again = figures(counts)
    assert hidden(suppress(shuffled)) == hidden(suppress(again)) == {"basildon"}
    tie = figures(
        {"set": 60, "essex": 40, "southend": 10, "thurrock": 10}, source_suppressed={"set"}
    )
    # Southend and Thurrock tie on 10: "southend" comes first.
    assert secondary(suppress(tie)) == {"southend"}
    assert secondary(suppress(tie.iloc[::-1])) == {"southend"}


def test_a_complementary_suppression_that_protects_nothing_is_lifted_again():
    # GP-registered: Mid and South Essex = its five sub-ICB locations, Thurrock's (07G) 3.
    # The CCG for Southend (same areas as its sub-ICB location, same count) is hidden first,
    # but the sub-ICB location still shows its figure; hiding Basildon and Brentwood (99E) is
    # what protects Thurrock, and the CCG's figure, recoverable anyway, is shown again.
    counts = {
        "ics-mse": 70,
        "sub-icb-99e": 10,
        "sub-icb-99f": 20,
        "sub-icb-06q": 27,
        "sub-icb-99g": 10,
        "sub-icb-07g": 3,
        "ccg-99g": 10,
    }
    result = suppress(figures(counts))
    assert secondary(result) == {"sub-icb-99e"}
    assert hidden(result) == {"sub-icb-07g", "sub-icb-99e"}


def test_numerators_and_denominators_of_proportions_are_protected():
    # Thurrock 3 of 40: SET's numerator minus Essex's and Southend's would give the 3 away.
    counts = {"set": 60, "essex": 40, "southend": 17, "thurrock": 3}
    denominators = {"set": 400, "essex": 300, "southend": 60, "thurrock": 40}
    result = suppress(figures(counts, denominators=denominators), statistic="proportion")
    assert secondary(result) == {"southend"}


def test_a_true_zero_stays_shown_where_the_rule_shows_zeros():
    # SET 20 = Essex 17 + Southend 0 + Thurrock 3: hiding the zero would be cheapest, but the
    # rule shows true zeros ("eliminate" targets must be seen to be met), so Essex goes.
    result = suppress(figures({"set": 20, "essex": 17, "southend": 0, "thurrock": 3}), rule=LOCAL)
    assert secondary(result) == {"essex"}
    assert not result.set_index("place").loc["southend", "suppressed"]
    # Where the source hides zeros the zero is already suppressed: two unknowns, nothing more.
    nhse = suppress(figures({"set": 20, "essex": 17, "southend": 0, "thurrock": 3}), rule=NHSE)
    assert hidden(nhse) == {"southend", "thurrock"} and secondary(nhse) == set()


def test_places_on_another_basis_or_outside_the_lattice_take_part_in_no_relation():
    # The GP-registered SET and England are not sums of the resident councils.
    counts = {"set-registered": 120, "england": 5000, "essex": 100, "southend": 17, "thurrock": 3}
    assert secondary(suppress(figures(counts))) == set()


def test_a_rate_hidden_for_few_events_protects_no_count():
    # Fingertips shows the count behind a rate it does not calculate: nothing to protect.
    counts = {"set": 120, "essex": 100, "southend": 11, "thurrock": 9}
    denominators = {"set": 1_800_000, "essex": 1_500_000, "southend": 180_000, "thurrock": 170_000}
    frame = figures(counts, denominators=denominators)
    result = suppress(frame, statistic="dsr", rule=FINGERTIPS)
    assert hidden(result) == {"thurrock"} and secondary(result) == set()


def test_figures_that_do_not_add_up_are_left_to_primary_suppression():
    frame = figures({"set": 120, "essex": 100, "southend": 17, "thurrock": 3})
    result = suppress(frame, statistic="median")
    assert secondary(result) == set()


# Over time ---------------------------------------------------------------------------------


def test_a_small_rise_between_year_to_date_figures_is_suppressed():
    # April-June 12, April-September 14: July-September alone is 2.
    counts = {("set", "Q1"): 12, ("set", "Q2"): 14, ("set", "Q3"): 30, ("set", "Q4"): 33}
    result = suppress(figures(counts, period=QUARTERS), time_structure="ytd")
    # Q4 rises by 3 on Q3: suppressed too.
    assert hidden(result) == {("set", "Q2"), ("set", "Q4")}
    reasons = result.set_index("label")["suppression_reason"]
    assert reasons["Q2"] == "the number added since the previous figure shown is fewer than 5"


def test_a_rise_is_measured_from_the_previous_figure_shown():
    # Q2 is suppressed, so Q3 - Q1 = 3 would give away a small count for July-December.
    counts = {("set", "Q1"): 12, ("set", "Q2"): 14, ("set", "Q3"): 15, ("set", "Q4"): 40}
    result = suppress(figures(counts, period=QUARTERS), time_structure="ytd")
    assert hidden(result) == {("set", "Q2"), ("set", "Q3")}


def test_a_new_financial_year_starts_the_count_again():
    periods = {"Mar": ("2024-03-01", "2024-03-31"), "Apr": ("2024-04-01", "2024-04-30")}
    result = suppress(
        figures({("set", "Mar"): 300, ("set", "Apr"): 20}, period=periods), time_structure="ytd"
    )
    assert hidden(result) == set()


def test_discrete_figures_do_not_compare_periods():
    counts = {("set", "Q1"): 12, ("set", "Q2"): 14}
    assert hidden(suppress(figures(counts, period=QUARTERS))) == set()


def test_year_to_date_figures_are_protected_over_places_as_well():
    # Thurrock rises by 2 in Q2; then SET - Essex - Southend would give its Q2 figure away.
    counts = {
        ("set", "Q1"): 150,
        ("essex", "Q1"): 110,
        ("southend", "Q1"): 30,
        ("thurrock", "Q1"): 10,
        ("set", "Q2"): 300,
        ("essex", "Q2"): 220,
        ("southend", "Q2"): 68,
        ("thurrock", "Q2"): 12,
    }
    result = suppress(figures(counts, period=QUARTERS), time_structure="ytd")
    assert hidden(result) == {("thurrock", "Q2"), ("southend", "Q2")}
    assert secondary(result) == {("southend", "Q2")}


def test_a_month_is_not_given_away_by_the_year_it_sums_into():
    # A discrete count held monthly and for the year: the year minus eleven months is the
    # twelfth. The smallest other month goes too.
    months = pd.period_range("2024-04", "2025-03", freq="M")
    periods = {str(m): (m.start_time.date(), m.end_time.date()) for m in months}
    periods["2024-25"] = ("2024-04-01", "2025-03-31")
    counts = {("set", str(m)): 20 + i for i, m in enumerate(months)}
    counts[("set", "2024-07")] = 3
    counts[("set", "2024-25")] = sum(counts.values())
    result = suppress(figures(counts, period=periods))
    assert secondary(result) == {("set", "2024-04")}


# Properties --------------------------------------------------------------------------------

RESIDENT = {code: areas for code, (basis, areas) in lattice().items() if basis == "resident"}
RESIDENT = {code: areas for code, areas in RESIDENT.items() if areas}
BLOCKS = sorted(set().union(*RESIDENT.values()))


@cache
def relations() -> list[tuple[str, list[str]]]:
    """The relations one would write down: a place = an exact partition of it by the places
    of one kind, or by single-area places; places with the same areas."""
    places = yaml.safe_load(GEOGRAPHY.read_text(encoding="utf-8"))["places"]
    kinds = {p["code"]: p["kind"] for p in places}
    found = []
    for parent, areas in RESIDENT.items():
        others = {c: a for c, a in RESIDENT.items() if c != parent}
        families = [
            {c: a for c, a in others.items() if kinds[c] == kind} for kind in set(kinds.values())
        ]
        families.append({c: a for c, a in others.items() if len(a) == 1})
        for family in families:
            children = exact_partition(areas, family)
            if children:
                found.append((parent, children))
    return found


def vector(place: str) -> np.ndarray:
    return np.array([area in RESIDENT[place] for area in BLOCKS], dtype=float)


def recoverable(target: np.ndarray, shown: list[np.ndarray]) -> bool:
    if not shown:
        return False
    matrix = np.array(shown)
    return np.linalg.matrix_rank(np.vstack([matrix, target])) == np.linalg.matrix_rank(matrix)


block_counts = st.fixed_dictionaries({area: st.integers(0, 14) for area in BLOCKS})
place_sets = st.sets(st.sampled_from(sorted(RESIDENT)), min_size=2)


@settings(max_examples=150, deadline=None)
@given(block_counts, place_sets, st.sampled_from([LOCAL, NHSE]))
def test_no_suppressed_count_can_be_worked_out_from_what_is_shown(counts, places, rule):
    frame = figures({p: sum(counts[a] for a in RESIDENT[p]) for p in sorted(places)})
    primary = disclose(frame, statistic="count", rule=rule)
    result = suppress(frame, rule=rule)
    # Primary suppressions stand; nothing shown is recoverable... nothing hidden is.
    assert (result["suppressed"] | ~primary["suppressed"]).all()
    shown = [vector(p) for p, s in zip(result["place"], result["suppressed"], strict=True) if not s]
    for place in result.loc[result["suppressed"], "place"]:
        assert not recoverable(vector(place), shown), place
    # So no written-down relation has exactly one suppressed figure in it.
    status = dict(zip(result["place"], result["suppressed"], strict=True))
    for parent, children in relations():
        members = [parent, *children]
        if all(m in status for m in members):
            assert sum(status[m] for m in members) != 1, (parent, children)
    # The same figures in another order give the same answer.
    again = suppress(frame.iloc[::-1], rule=rule)
    assert set(again.loc[again["suppressed"], "place"]) == set(
        result.loc[result["suppressed"], "place"]
    )


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({a: st.integers(0, 6) for a in ("essex", "southend", "thurrock")}),
        min_size=4,
        max_size=4,
    ),
)
def test_no_shown_year_to_date_figure_rises_by_a_small_count(quarters):
    counts = {}
    running = dict.fromkeys(("essex", "southend", "thurrock"), 0)
    for label, added in zip(QUARTERS, quarters, strict=True):
        for place in running:
            running[place] += added[place]
            counts[(place, label)] = running[place]
        counts[("set", label)] = sum(running.values())
    result = suppress(figures(counts, period=QUARTERS), rule=LOCAL, time_structure="ytd")
    for place, rows in result.sort_values("period_end").groupby("place"):
        shown = rows.loc[~rows["suppressed"], "numerator"].tolist()
        for before, after in pairwise(shown):
            assert not 0 < after - before < 5, (place, shown)
    for _, rows in result.groupby("label"):
        visible = [
            vector(p) for p, s in zip(rows["place"], rows["suppressed"], strict=True) if not s
        ]
        for place in rows.loc[rows["suppressed"], "place"]:
            assert not recoverable(vector(place), visible)


@pytest.mark.parametrize("rule", [LOCAL, NHSE])
def test_the_whole_lattice_in_one_month_protects_thurrock(rule):
    # Every resident place shown, Thurrock 3: whatever is hidden, Thurrock cannot be worked out.
    counts = {area: 20 + i for i, area in enumerate(BLOCKS)}
    counts["E06000034"] = 3
    frame = figures({p: sum(counts[a] for a in areas) for p, areas in RESIDENT.items()})
    result = suppress(frame, rule=rule)
    shown = [vector(p) for p, s in zip(result["place"], result["suppressed"], strict=True) if not s]
    assert not recoverable(vector("thurrock"), shown)
    # SET, the headline, stays shown.
    assert not result.set_index("place").loc["set", "suppressed"]


MONTHS = {
    "Apr": ("2024-04-01", "2024-04-30"),
    "May": ("2024-05-01", "2024-05-31"),
    "Jun": ("2024-06-01", "2024-06-30"),
    "Q1": ("2024-04-01", "2024-06-30"),
}


def block(place: str, label: str) -> np.ndarray:
    """A figure's building blocks: its areas x the months it counts."""
    months = [label] if label != "Q1" else ["Apr", "May", "Jun"]
    return np.kron(vector(place), np.array([m in months for m in ("Apr", "May", "Jun")], float))


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.fixed_dictionaries({a: st.integers(0, 8) for a in ("essex", "southend", "thurrock")}),
        min_size=3,
        max_size=3,
    )
)
def test_months_and_their_quarter_together_give_nothing_away(months):
    counts = {}
    for label, added in zip(("Apr", "May", "Jun"), months, strict=True):
        counts.update({(place, label): n for place, n in added.items()})
        counts[("set", label)] = sum(added.values())
    for place in ("set", "essex", "southend", "thurrock"):
        counts[(place, "Q1")] = sum(counts[(place, m)] for m in ("Apr", "May", "Jun"))
    result = suppress(figures(counts, period=MONTHS), rule=LOCAL)
    keys = list(zip(result["place"], result["label"], strict=True))
    shown = [block(*k) for k, s in zip(keys, result["suppressed"], strict=True) if not s]
    for key, suppressed in zip(keys, result["suppressed"], strict=True):
        if suppressed:
            assert not recoverable(block(*key), shown), key
