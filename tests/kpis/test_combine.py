"""Combining places: exact partitions of one basis only, and the KPI's own rule."""

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpis.combine import NotCombinable, check_partition, combine, exact_partition

SOUTHEND, CASTLE_POINT, ROCHFORD = "E06000033", "E07000069", "E07000075"
SEE = frozenset({SOUTHEND, CASTLE_POINT, ROCHFORD})


def test_an_alliance_is_exactly_partitioned_by_its_council_and_districts():
    parts = {
        "southend": frozenset({SOUTHEND}),
        "castle-point": frozenset({CASTLE_POINT}),
        "rochford": frozenset({ROCHFORD}),
        "basildon": frozenset({"E07000066"}),
        "essex": frozenset({CASTLE_POINT, ROCHFORD, "E07000066"}),
    }
    # Essex reaches outside South East Essex, so it is not a part of it.
    assert exact_partition(SEE, parts) == ["castle-point", "rochford", "southend"]


def test_overlapping_parts_are_no_partition():
    parts = {"see": SEE, "southend": frozenset({SOUTHEND})}
    assert (
        exact_partition(SEE | {"E07000066"}, {**parts, "basildon": frozenset({"E07000066"})})
        is None
    )


def test_check_refuses_mixed_bases_overlaps_gaps_and_places_beyond_set():
    with pytest.raises(NotCombinable, match="another geography basis"):
        check_partition(
            SEE,
            {"southend": frozenset({SOUTHEND}), "rest": SEE - {SOUTHEND}},
            target_basis="resident",
            part_bases={"southend": "resident", "rest": "gp_registered"},
        )
    with pytest.raises(NotCombinable, match="overlaps"):
        check_partition(
            SEE,
            {"see": SEE, "southend": frozenset({SOUTHEND})},
            target_basis="resident",
            part_bases={"see": "resident", "southend": "resident"},
        )
    with pytest.raises(NotCombinable, match="missing"):
        check_partition(
            SEE,
            {"southend": frozenset({SOUTHEND})},
            target_basis="resident",
            part_bases={"southend": "resident"},
        )
    # An ICB reaching into Suffolk is built from no SET areas: it never combines into SET.
    with pytest.raises(NotCombinable, match="beyond"):
        check_partition(
            SEE,
            {"ics-snee": frozenset()},
            target_basis="gp_registered",
            part_bases={"ics-snee": "gp_registered"},
        )


def frame(rows, target="t"):
    return pd.DataFrame(
        [
            {"target": target, "period": "2023-24", "numerator": n, "denominator": d, "value": v}
            for n, d, v in rows
        ]
    )


def test_proportions_are_recomputed_from_sums_never_averaged():
    # 1/10 (10%) and 90/100 (90%): the mean of rates would be 50%; the true rate is 91/110.
    result = combine(
        frame([(1, 10, 10.0), (90, 100, 90.0)]), combinability="ratio_of_sums", multiplier=100
    )
    assert result["value"].iloc[0] == pytest.approx(91 / 110 * 100)
    assert (result["numerator"].iloc[0], result["denominator"].iloc[0]) == (91, 110)


def test_indirectly_standardised_ratios_sum_observed_and_expected():
    # Observed 30 and 10 against expected 20 and 20: 40/40 = 100.
    result = combine(
        frame([(30, 20, 150.0), (10, 20, 50.0)]), combinability="isr_sums", multiplier=100
    )
    assert result["value"].iloc[0] == pytest.approx(100.0)


@pytest.mark.parametrize("rule", ["not_combinable", "dsr_from_age_bands"])
def test_non_combinable_statistics_raise(rule):
    with pytest.raises(NotCombinable):
        combine(frame([(1, 10, 10.0), (2, 10, 20.0)]), combinability=rule)


def test_rounded_or_suppressed_inputs_are_never_combined():
    rounded = frame([(5, 10, 50.0), (10, 20, 50.0)]).assign(rounded=[True, False])
    with pytest.raises(NotCombinable, match="Rounded"):
        combine(rounded, combinability="sum")
    suppressed = frame([(5, 10, 50.0), (10, 20, 50.0)]).assign(suppressed=[False, True])
    with pytest.raises(NotCombinable, match="suppressed"):
        combine(suppressed, combinability="ratio_of_sums")


parts_strategy = st.lists(
    st.tuples(st.integers(0, 500), st.integers(0, 500)).map(lambda t: (t[0], t[0] + t[1])),
    min_size=2,
    max_size=12,
)


@given(parts=parts_strategy, data=st.data())
def test_any_grouping_order_of_a_partition_gives_the_same_result(parts, data):
    rows = [(n, d, n / d * 100 if d else None) for n, d in parts]
    direct = combine(frame(rows), combinability="ratio_of_sums", multiplier=100)
    order = data.draw(st.permutations(range(len(rows))))
    cut = data.draw(st.integers(1, len(rows) - 1))
    first = combine(
        frame([rows[i] for i in order[:cut]]), combinability="ratio_of_sums", multiplier=100
    )
    second = combine(
        frame([rows[i] for i in order[cut:]]), combinability="ratio_of_sums", multiplier=100
    )
    staged = combine(
        frame(
            [
                tuple(first[["numerator", "denominator", "value"]].iloc[0]),
                tuple(second[["numerator", "denominator", "value"]].iloc[0]),
            ]
        ),
        combinability="ratio_of_sums",
        multiplier=100,
    )
    assert staged["numerator"].iloc[0] == direct["numerator"].iloc[0]
    assert staged["denominator"].iloc[0] == direct["denominator"].iloc[0]
    if direct["denominator"].iloc[0]:
        assert staged["value"].iloc[0] == pytest.approx(direct["value"].iloc[0])


@given(
    numerator=st.integers(0, 10_000),
    extra=st.integers(1, 10_000),
    cuts=st.lists(st.floats(0, 1), min_size=1, max_size=6),
)
def test_splitting_a_place_and_recombining_is_the_identity(numerator, extra, cuts):
    denominator = numerator + extra
    fractions = sorted(cuts)
    n_edges = [0, *[int(numerator * f) for f in fractions], numerator]
    d_edges = [0, *[int(denominator * f) for f in fractions], denominator]
    pieces = []
    for i in range(len(n_edges) - 1):
        n = n_edges[i + 1] - n_edges[i]
        d = max(d_edges[i + 1] - d_edges[i], n)
        pieces.append([n, d])
    # Keep the denominators summing to the whole (the last piece absorbs any difference).
    pieces[-1][1] += denominator - sum(d for _, d in pieces)
    if pieces[-1][1] < pieces[-1][0]:
        return
    rows = [(n, d, n / d * 100 if d else None) for n, d in pieces]
    result = combine(frame(rows), combinability="ratio_of_sums", multiplier=100)
    assert (result["numerator"].iloc[0], result["denominator"].iloc[0]) == (numerator, denominator)
    assert result["value"].iloc[0] == pytest.approx(numerator / denominator * 100)
