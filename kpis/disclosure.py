"""Statistical disclosure control for public outputs, by each source's own rule.

Pure module: pandas frames, a rule and the place lattice (as plain data) in, the figures the
public may see out. Rules are applied to unrounded figures: combine places first (summing
unrounded counts), then apply the rule once.

Primary suppression (``disclose``) looks at each figure on its own: small counts, surveys with
few respondents, rates from few events, zeros the source hides.

Secondary suppression (``secondary_suppress``) stops a suppressed count being worked out from
the figures that are shown. Places overlap (SET is Essex + Southend + Thurrock and also the six
alliances; an alliance is its districts), and year-to-date figures build on each other, so a
shown total minus its other shown parts gives the suppressed part away. The rule:

1. Each figure is a sum over building blocks: the areas of its place (on the place's own
   geography basis) times the stretch of time it counts. A year-to-date figure counts from
   1 April to its period's end; a snapshot is its own moment and never sums with another.
2. A suppressed count is *recoverable* when its blocks are a linear combination of the blocks
   of shown figures of the same KPI, breakdown and basis (a parent = the sum of its children,
   SET minus the rest, an alliance minus its districts, a year minus eleven of its months).
   This is checked exactly, with linear algebra, over every relation at once, not only the
   relations one thinks of.
3. While some suppressed count is recoverable, take the shortest relation found that recovers
   it (built greedily from the shown figures that fit it best, then pruned until every figure
   in it is needed) and suppress one more figure of it, "to protect another small number":
   a child or sibling before a figure that contains the suppressed one (a parent), the
   smallest count first, then the place code, then the earlier period; a true zero stays shown
   where the rule shows zeros, unless nothing else will do. Repeat to a fixed point.
4. A complementary suppression that protects nothing (its own value is recoverable from what
   is still shown) is lifted again at the end: showing it gives nothing away.
5. Over time, for year-to-date (cumulative) KPIs: within a financial year, each shown figure
   minus the previous shown figure of the same place is a count for the months between. Where
   that count would be suppressed under the source's rule (fewer than ``min_count``; zero where
   the source hides zeros) the later figure is suppressed as if it were small itself, and
   protected by steps 2-4 like any other. Steps 2-5 repeat until nothing changes.

So after secondary suppression no relation among one KPI's figures has exactly one suppressed
figure in it (counting the figures suppressed to hide a count; a rate not calculated from few
events hides none), and no shown year-to-date figure rises by a small count on the one before.

Worked example (NHS England's rule: counts under 5 suppressed). One month, where people live:
SET 120 = Essex 100 + Southend 17 + Thurrock 3, and the South East Essex alliance
45 = Southend 17 + Castle Point 12 + Rochford 16.

- Thurrock's 3 is suppressed (primary).
- SET - Essex - Southend = 3 would give it away: the other children are Essex (100) and
  Southend (17), so Southend is suppressed too.
- Now the alliance minus Castle Point minus Rochford gives Southend, and so Thurrock:
  Castle Point (12, the smaller) is suppressed.
- Every relation now has two unknowns or none: SET - Essex = Southend + Thurrock = 20 and
  the alliance - Rochford = Southend + Castle Point = 29 do not pin Thurrock down.

Year to date: April-June 12, April-September 14. The second minus the first is 2 (July to
September alone), so April-September is suppressed.

Limits: relations are exact linear ones. Rounded figures are treated as exact (safe, if
cautious); bounds from non-negative counts ("a total of 3 shared by two places") are not
tested; relations between breakdown categories (men + women = all people), between releases
(revisions) and between KPIs are not covered; the lattice is the places' areas as they are now
(membership dates are not read); medians, means, survey estimates, gaps and scores do not add
up, so only primary suppression applies to them. The complements are chosen greedily, not by
an optimiser: they protect, but are not always the fewest possible. Cost grows with the
places in a period times the areas they are built from, for each period that holds a
suppressed count.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

COUNT_STATISTICS = {"count"}
RATE_STATISTICS = {"dsr", "crude_rate", "isr"}
SURVEY_STATISTICS = {"survey_estimate"}
#: Statistics whose counts add up over places and time: counts, and the numerators and
#: denominators of proportions and rates (a DSR's events add up, though the rate does not).
ADDITIVE_STATISTICS = COUNT_STATISTICS | RATE_STATISTICS | {"proportion"}

SECONDARY_REASON = "to protect another small number"
CUMULATIVE = "ytd"
SNAPSHOT = "snapshot"

#: The lattice as plain data: each place's code -> (geography basis, the ids of its areas).
Lattice = Mapping[str, tuple[str, Collection[str]]]


@dataclass(frozen=True)
class Rule:
    min_count: int | None = None
    rounding_base: int | None = None
    min_respondents: int | None = None
    min_events_for_rate: int | None = None
    zero_shown: bool | None = True

    @classmethod
    def from_model(cls, rule) -> Rule:
        return cls(
            min_count=rule.min_count,
            rounding_base=rule.rounding_base,
            min_respondents=rule.min_respondents,
            min_events_for_rate=rule.min_events_for_rate,
            zero_shown=rule.zero_shown,
        )


def round_to_base(values: pd.Series, base: int) -> pd.Series:
    """Round half up to a multiple of ``base`` (7 -> 5, 8 -> 10 for base 5)."""
    return np.floor(values / base + 0.5) * base


def disclose(frame: pd.DataFrame, *, statistic: str, rule: Rule) -> pd.DataFrame:
    """Public figures for each row: suppressed, rounded or shown as they are.

    ``frame`` has ``numerator``, ``denominator``, ``value`` and ``source_suppressed``.
    Returns ``public_numerator``, ``public_denominator``, ``public_value``, ``suppressed``,
    ``suppression_reason`` and ``protected`` (suppressed to hide a count, which secondary
    suppression must keep hidden; a rate not calculated from few events hides no count)
    alongside the input columns.

    1. Anything the source suppressed stays suppressed.
    2. Small counts: a count (or the numerator or denominator of a proportion) from 1 to
       ``min_count - 1`` is suppressed. A true zero is shown unless the source itself hides
       zeros (``zero_shown`` False), so that "eliminate" targets can be seen to be met; a
       hidden zero gives the same reason as a small count, so the reason does not tell them
       apart.
    3. Surveys with fewer than ``min_respondents`` respondents are suppressed.
    4. Rates from fewer than ``min_events_for_rate`` events are not shown (the count may be).
    5. Shown counts are rounded to ``rounding_base``; values computed from unrounded counts are
       left as they are.
    """
    out = frame.copy()
    numerator = out["numerator"].astype(float)
    denominator = out["denominator"].astype(float)
    reason = pd.Series("", index=out.index, dtype=object)
    reason[out["source_suppressed"].fillna(False).astype(bool)] = "suppressed by the source"

    def flag(mask: pd.Series, text: str) -> None:
        reason[(reason == "") & mask.fillna(False)] = text

    if rule.min_count:
        small = lambda s: (s > 0) & (s < rule.min_count)  # noqa: E731
        flag(small(numerator), f"fewer than {rule.min_count}")
        if statistic not in COUNT_STATISTICS | RATE_STATISTICS | SURVEY_STATISTICS:
            flag(small(denominator), f"denominator fewer than {rule.min_count}")
    if rule.zero_shown is False:
        flag(numerator == 0, _hidden_zero_reason(rule))
    if rule.min_respondents and statistic in SURVEY_STATISTICS:
        flag(denominator < rule.min_respondents, f"fewer than {rule.min_respondents} respondents")
    rate_hidden = pd.Series(False, index=out.index)
    if rule.min_events_for_rate and statistic in RATE_STATISTICS:
        rate_hidden = (numerator < rule.min_events_for_rate).fillna(False)
    suppressed = reason != ""
    shown_numerator = numerator.where(~suppressed)
    shown_denominator = denominator.where(~suppressed)
    if rule.rounding_base:
        shown_numerator = round_to_base(shown_numerator, rule.rounding_base)
        if statistic == "proportion":
            shown_denominator = round_to_base(shown_denominator, rule.rounding_base)
    out["public_numerator"] = shown_numerator
    out["public_denominator"] = shown_denominator
    public_value = out["value"].astype(float).where(~suppressed & ~rate_hidden)
    if rule.rounding_base and statistic in COUNT_STATISTICS:
        public_value = round_to_base(public_value, rule.rounding_base)
    out["public_value"] = public_value
    reason[(reason == "") & rate_hidden] = (
        f"rate not calculated from fewer than {rule.min_events_for_rate} events"
    )
    out["suppressed"] = suppressed | rate_hidden
    out["suppression_reason"] = reason
    out["protected"] = suppressed
    return out


def _hidden_zero_reason(rule: Rule) -> str:
    if rule.min_count:
        return f"fewer than {rule.min_count}"
    return "the source does not distinguish zero from small counts"


# Secondary suppression -----------------------------------------------------------------------

_TOLERANCE = 1e-9


def secondary_suppress(
    frame: pd.DataFrame,
    *,
    lattice: Lattice,
    time_structure: str,
    statistic: str,
    rule: Rule,
) -> pd.DataFrame:
    """Suppress further figures of one KPI so that no suppressed count can be worked out.

    ``frame`` holds the KPI's figures after primary suppression, one row per place and period
    (and breakdown): ``place``, ``period_start``, ``period_end`` (dates), ``numerator``,
    ``denominator``, ``value``, ``suppressed``, ``suppression_reason``, and optionally
    ``protected`` (the suppressed rows whose counts must stay hidden; by default every
    suppressed row) and ``dimension`` / ``category`` (each breakdown is kept apart).
    ``lattice`` maps place codes to (geography basis, area ids); places missing from it, or
    with no areas, take part in no relation.

    Returns the frame with ``suppressed`` and ``suppression_reason`` covering the further
    figures too, ``protected`` updated, and ``secondary`` marking the complementary
    suppressions. The rule, in steps, is in the module docstring.
    """
    out = frame.copy()
    n = len(out)
    suppressed = out["suppressed"].fillna(False).to_numpy(bool).copy()
    reason = out["suppression_reason"].fillna("").astype(object).to_numpy().copy()
    if "protected" in out.columns:
        protected = suppressed & out["protected"].fillna(False).to_numpy(bool)
    else:
        protected = suppressed.copy()
    complements = np.zeros(n, dtype=bool)
    if n and statistic in ADDITIVE_STATISTICS:
        cells = _Cells.build(
            out, lattice=lattice, time_structure=time_structure, statistic=statistic
        )
        previous: dict[int, int] = {}
        while True:
            complements = cells.complements(protected, ~suppressed, previous)
            if time_structure != CUMULATIVE:
                break
            shown = ~suppressed & ~complements & np.isfinite(cells.number)
            rises = cells.small_rises(shown, rule)
            if not rises:
                break
            for row, (before, text) in rises.items():
                suppressed[row] = protected[row] = True
                reason[row] = text
                previous[row] = before
        reason[complements] = SECONDARY_REASON
    out["suppressed"] = suppressed | complements
    out["suppression_reason"] = reason
    out["protected"] = protected
    out["secondary"] = complements
    return out


@dataclass
class _Cells:
    """One KPI's figures as sums of building blocks: areas on a basis x stretches of time."""

    number: np.ndarray  # the count a figure publishes (numerator; a count's value if none)
    denominator: np.ndarray
    start: np.ndarray  # datetime64[D]; a year-to-date figure starts on 1 April
    end: np.ndarray
    place: np.ndarray
    breakdown: np.ndarray  # an integer per dimension and category
    basis: np.ndarray  # the place's basis, or None outside the lattice
    areas: dict[str, frozenset[str]]
    rank: np.ndarray  # preference as a complement, lower first: see ``_preference``
    snapshot: bool
    proportion: bool

    @classmethod
    def build(cls, frame: pd.DataFrame, *, lattice: Lattice, time_structure: str, statistic: str):
        numerator = frame["numerator"].to_numpy(float)
        if statistic in COUNT_STATISTICS:
            numerator = np.where(np.isnan(numerator), frame["value"].to_numpy(float), numerator)
        end = frame["period_end"].to_numpy("datetime64[D]")
        start = frame["period_start"].to_numpy("datetime64[D]")
        if time_structure == CUMULATIVE:
            start = _financial_year_start(end)
        place = frame["place"].astype(str).to_numpy(object)
        parts = [frame[c].astype(str) for c in ("dimension", "category") if c in frame.columns]
        breakdown = (
            pd.factorize(pd.Series(list(zip(*parts, strict=True)), dtype=object))[0]
            if parts
            else np.zeros(len(frame), dtype=int)
        )
        areas = {code: frozenset(ids) for code, (_, ids) in lattice.items() if ids}
        basis = np.array([lattice[p][0] if p in areas else None for p in place], dtype=object)
        return cls(
            number=numerator,
            denominator=frame["denominator"].to_numpy(float),
            start=start,
            end=end,
            place=place,
            breakdown=np.asarray(breakdown),
            basis=basis,
            areas=areas,
            rank=_preference(numerator, place, end),
            snapshot=time_structure == SNAPSHOT,
            proportion=statistic == "proportion",
        )

    # Step 5: small rises between year-to-date figures ------------------------------------

    def small_rises(self, shown: np.ndarray, rule: Rule) -> dict[int, tuple[int, str]]:
        """Shown year-to-date figures that rise on the previous shown one of the same place and
        year by a count the source would suppress: row -> (previous row, reason)."""
        rows = np.flatnonzero(shown)
        if not len(rows) or not (rule.min_count or rule.zero_shown is False):
            return {}
        year = _financial_year_start(self.end[rows])
        order = np.lexsort((self.end[rows], year, self.place[rows], self.breakdown[rows]))
        rows, year = rows[order], year[order]
        same = np.zeros(len(rows), dtype=bool)
        same[1:] = (
            (self.breakdown[rows[1:]] == self.breakdown[rows[:-1]])
            & (self.place[rows[1:]] == self.place[rows[:-1]])
            & (year[1:] == year[:-1])
        )
        small = np.zeros(len(rows), dtype=bool)
        for values in (self.number, self.denominator) if self.proportion else (self.number,):
            rise = np.full(len(rows), np.nan)
            rise[1:] = values[rows[1:]] - values[rows[:-1]]
            small |= self._small(rise, rule)
        if not (same & small).any():
            return {}
        found: dict[int, tuple[int, str]] = {}
        before = -1
        for position, row in enumerate(rows):
            if not same[position]:
                before = row
                continue
            text = self._rise_reason(row, before, rule)
            if text:
                found[int(row)] = (int(before), text)
            else:
                before = row
        return found

    def _small(self, rise: np.ndarray, rule: Rule) -> np.ndarray:
        small = np.zeros(len(rise), dtype=bool)
        with np.errstate(invalid="ignore"):
            if rule.min_count:
                small |= (rise > 0) & (rise < rule.min_count)
            if rule.zero_shown is False:
                small |= rise == 0
        return small

    def _rise_reason(self, row: int, before: int, rule: Rule) -> str:
        counts = [("number", self.number)]
        if self.proportion:
            counts.append(("denominator", self.denominator))
        for name, values in counts:
            rise = np.array([values[row] - values[before]])
            if self._small(rise, rule)[0]:
                if rule.min_count:
                    return (
                        f"the {name} added since the previous figure shown is fewer than "
                        f"{rule.min_count}"
                    )
                return "the source does not distinguish zero from small counts"
        return ""

    # Steps 1-4: complementary suppression ----------------------------------------------------

    def complements(
        self, protected: np.ndarray, known: np.ndarray, previous: Mapping[int, int]
    ) -> np.ndarray:
        """The complementary suppressions that keep every protected count unrecoverable."""
        known = known & np.isfinite(self.number)
        chosen = np.zeros(len(self.number), dtype=bool)
        in_lattice = self.basis != None  # noqa: E711
        groups = (
            pd.DataFrame({"breakdown": self.breakdown, "basis": self.basis.astype(str)})
            .groupby(["breakdown", "basis"], sort=True)
            .indices
        )
        for rows in groups.values():
            rows = rows[in_lattice[rows]]
            if not len(rows) or not protected[rows].any():
                continue
            for component in self._components(rows):
                if protected[component].any():
                    self._protect_component(component, protected, known, previous, chosen)
        return chosen

    def _components(self, rows: np.ndarray) -> list[np.ndarray]:
        """Rows whose stretches of time overlap, chained; a snapshot is alone with its date."""
        order = rows[np.lexsort((self.end[rows], self.start[rows]))]
        components: list[list[int]] = []
        reach = None
        for row in order:
            if self.snapshot:
                fresh = not components or (
                    (self.start[row], self.end[row])
                    != (self.start[components[-1][0]], self.end[components[-1][0]])
                )
            else:
                fresh = reach is None or self.start[row] > reach
            if fresh:
                components.append([])
                reach = self.end[row]
            else:
                reach = max(reach, self.end[row])
            components[-1].append(int(row))
        return [np.array(c) for c in components]

    def _protect_component(self, rows, protected, known, previous, chosen) -> None:
        rows = rows[np.argsort(self.rank[rows], kind="stable")]  # not the frame's row order
        spans = sorted({(self.start[r], self.end[r]) for r in rows})
        times = _time_blocks(spans)
        independent = len(spans) == 1 or _Span.of(times).size == len(spans)
        if independent:
            # Linearly independent stretches of time never combine into one another, so each
            # period is protected on its own, over places only.
            for span in spans:
                here = rows[(self.start[rows] == span[0]) & (self.end[rows] == span[1])]
                if protected[here].any():
                    vectors = self._area_vectors(here)
                    targets = [vectors[i] for i in np.flatnonzero(protected[here])]
                    picked = _protect(vectors, known[here], targets, self.rank[here])
                    chosen[here[picked]] = True
            return
        # Stretches that sum to others (a year and its months): places x time together.
        position = {span: i for i, span in enumerate(spans)}
        areas = self._area_vectors(rows)
        vectors = np.stack(
            [
                np.kron(areas[i], times[position[(self.start[r], self.end[r])]])
                for i, r in enumerate(rows)
            ]
        )
        local = {int(r): i for i, r in enumerate(rows)}
        targets = [vectors[i] for i in np.flatnonzero(protected[rows])]
        targets += [
            vectors[local[row]] - vectors[local[before]]
            for row, before in previous.items()
            if row in local and before in local
        ]
        picked = _protect(vectors, known[rows], targets, self.rank[rows])
        chosen[rows[picked]] = True

    def _area_vectors(self, rows: np.ndarray) -> np.ndarray:
        ids = sorted(set().union(*(self.areas[self.place[r]] for r in rows)))
        column = {area: j for j, area in enumerate(ids)}
        vectors = np.zeros((len(rows), len(ids)))
        for i, r in enumerate(rows):
            vectors[i, [column[a] for a in self.areas[self.place[r]]]] = 1.0
        return vectors


def _preference(number: np.ndarray, place: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each row's rank as a complement: smallest count first, then place code, then the
    earlier period; a true zero last (it stays shown where the rule shows zeros, and where the
    rule hides zeros it is suppressed already)."""
    number = np.where(np.isfinite(number), number, np.inf)
    codes = pd.factorize(pd.Series(place, dtype=object), sort=True)[0]
    order = np.lexsort((end, codes, number, (number == 0).astype(int)))
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(len(order))
    return rank


def _financial_year_start(end: np.ndarray) -> np.ndarray:
    """1 April of the financial year each date falls in."""
    months = end.astype("datetime64[M]").astype(int)  # months since January 1970
    year = 1970 + months // 12 - (months % 12 < 3)
    april = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + np.timedelta64(3, "M")
    return april.astype("datetime64[D]")


def _time_blocks(spans: list[tuple]) -> np.ndarray:
    """Each stretch of time as the elementary stretches (between any two boundaries) it covers."""
    edges = sorted({s for s, _ in spans} | {e + np.timedelta64(1, "D") for _, e in spans})
    blocks = np.zeros((len(spans), len(edges) - 1))
    for i, (start, end) in enumerate(spans):
        for j in range(len(edges) - 1):
            blocks[i, j] = start <= edges[j] and edges[j + 1] <= end + np.timedelta64(1, "D")
    return blocks


def _protect(
    vectors: np.ndarray, known: np.ndarray, targets: list[np.ndarray], rank: np.ndarray
) -> list[int]:
    """Rows of ``vectors`` to suppress so that no target is a combination of the known rows.

    1. While some target is a combination of the known rows, find a short relation that
       recovers it (``_relation``) and suppress one of its rows: one not containing the
       target before one that does, then by ``rank``.
    2. Lift again any suppression whose own row is still a combination of the known rows.
    """
    known = known.copy()
    picked: list[int] = []
    # The span of the known rows is built with the likeliest complements (lowest rank) last,
    # so that suppressing one only re-adds the rows after it.
    order = [int(r) for r in np.flatnonzero(known)[np.argsort(-rank[known], kind="stable")]]
    span = _Span(vectors.shape[1], capacity=min(len(order), vectors.shape[1]))
    sizes: list[int] = []
    _extend(span, vectors, order, sizes)
    while True:
        exposed = next((t for t in targets if span.contains(t)), None)
        if exposed is None:
            break
        rows = np.flatnonzero(known)
        relation = _relation(vectors, rows[np.argsort(rank[rows], kind="stable")], exposed)
        inside = np.flatnonzero(exposed > _TOLERANCE)
        contains = (vectors[np.ix_(relation, inside)] > 0.5).all(axis=1)
        pick = int(min(zip(contains, rank[relation], relation, strict=True))[2])
        known[pick] = False
        picked.append(pick)
        position = order.index(pick)
        del order[position], sizes[position:]
        span.size = sizes[-1] if sizes else 0
        _extend(span, vectors, order[position:], sizes)
    return [p for p in picked if not span.contains(vectors[p])]


def _extend(span: _Span, vectors: np.ndarray, rows: list[int], sizes: list[int]) -> None:
    for row in rows:
        span.add(vectors[row])
        sizes.append(span.size)


def _relation(vectors: np.ndarray, rows: np.ndarray, target: np.ndarray) -> list[int]:
    """A minimal set of ``rows`` whose combination gives ``target``, short where possible.

    1. Greedily add the row best aligned with what is left to explain (orthogonal matching
       pursuit; ties go to the earlier row), until the target is explained exactly. Each row
       added is independent of the ones before, so the combination is unique.
    2. Drop the rows whose coefficient in it is zero: every row left is then needed.
    """
    candidates = vectors[rows]
    norms = np.linalg.norm(candidates, axis=1)
    norms[norms == 0] = 1.0
    span = _Span(candidates.shape[1], capacity=min(len(rows), candidates.shape[1]))
    selected: list[int] = []
    residual = target.astype(float)
    while not span.is_small(residual, target) and len(selected) < len(rows):
        scores = np.round(np.abs(candidates @ residual) / norms, 9)
        scores[selected] = -1.0
        best = int(np.argmax(scores))
        if scores[best] <= 0 or not span.add(candidates[best]):
            break
        selected.append(best)
        residual = span.residual(target)
    weights = span.coefficients(target)
    return [int(rows[s]) for s, w in zip(selected, weights, strict=True) if abs(w) > 1e-7]


class _Span:
    """The span of some rows, as an orthonormal basis grown one row at a time.

    Classical Gram-Schmidt, applied twice over, with matrix-vector products only: small
    LAPACK calls (SVD, least squares) are far slower when BLAS threads compete for cores.
    """

    def __init__(self, width: int, *, capacity: int | None = None):
        self.basis = np.zeros((capacity if capacity is not None else width, width))
        self.size = 0
        # Each added row in terms of the basis: row j = sum over i <= j of weights[j, i] q_i.
        self.weights = np.zeros((self.basis.shape[0], self.basis.shape[0]))

    @classmethod
    def of(cls, matrix: np.ndarray) -> _Span:
        span = cls(matrix.shape[1], capacity=min(matrix.shape))
        for row in matrix:
            if span.size == span.basis.shape[0]:
                break
            span.add(row)
        return span

    def residual(self, vector: np.ndarray) -> np.ndarray:
        return self._split(vector)[1]

    def is_small(self, residual: np.ndarray, vector: np.ndarray) -> bool:
        return bool(np.linalg.norm(residual) <= 1e-7 * max(1.0, float(np.linalg.norm(vector))))

    def contains(self, vector: np.ndarray) -> bool:
        return self.is_small(self.residual(vector), vector)

    def add(self, vector: np.ndarray) -> bool:
        """Add a row; False (and nothing added) if it is already in the span."""
        weights, residual = self._split(vector)
        length = float(np.linalg.norm(residual))
        if length <= 1e-9 * max(1.0, float(np.linalg.norm(vector))):
            return False
        self.basis[self.size] = residual / length
        self.weights[self.size, : self.size] = weights
        self.weights[self.size, self.size] = length
        self.size += 1
        return True

    def coefficients(self, vector: np.ndarray) -> np.ndarray:
        """The combination of the added rows giving ``vector`` (which lies in the span)."""
        projection = self.basis[: self.size] @ vector
        weights = self.weights[: self.size, : self.size]
        result = np.zeros(self.size)
        for j in range(self.size - 1, -1, -1):  # back-substitution: weights.T is upper triangular
            result[j] = (projection[j] - weights[j + 1 :, j] @ result[j + 1 :]) / weights[j, j]
        return result

    def _split(self, vector: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        basis = self.basis[: self.size]
        residual = vector.astype(float)
        weights = np.zeros(self.size)
        if self.size:
            for _ in range(2):
                step = basis @ residual
                residual = residual - basis.T @ step
                weights += step
        return weights, residual
