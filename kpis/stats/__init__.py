"""Pure statistics engine for SET Outcomes: arrays and frames in, arrays and frames out.

No Django, ORM or settings here. Methods follow PHEindicatormethods (intervals, funnel plots,
quantiles, slope index of inequality), Fingertips (benchmark comparison), Newcombe 1998
(difference of proportions) and NHSRplotthedots (SPC); each module's docstring states its
methods and any departure from those references.
"""

from ._common import DIRECTION_SIGNS, IntervalResult
from .change import (
    ChangeVerdict,
    classify_change,
    difference_from_intervals,
    newcombe_difference,
    rate_ratio,
)
from .compare import (
    compare_to_benchmark,
    compare_to_benchmark_two_levels,
    exclude_place,
    exclude_place_frame,
)
from .funnels import (
    SIGNIFICANCE_LEVELS,
    assign_funnel_significance,
    calculate_funnel_limits,
    calculate_funnel_points,
)
from .intervals import (
    ESP2013,
    ESP2013_18,
    ESP2013_18_AGE_BANDS,
    ESP2013_AGE_BANDS,
    byars_bounds,
    crude_rate,
    dsr,
    dsr_frame,
    exact_poisson_bounds,
    expected_events,
    isr,
    mean_interval,
    poisson_count_bounds,
    proportion,
    wilson_bounds,
)
from .progress import (
    DistanceProgress,
    TrajectoryComparison,
    TrendProjection,
    compare_to_trajectory,
    distance_achieved,
    linear_trend_projection,
    planned_trajectory,
    projection_status,
    share_of_periods_met,
    share_of_periods_met_frame,
    trend_projection_frame,
)
from .quantiles import TooFewValuesForQuantilesWarning, phe_quantile
from .sii import SiiWarning, phe_sii
from .spc import (
    SpcNotApplicable,
    SpcTrialLimitsWarning,
    assurance_type,
    not_applicable_reason,
    spc,
    spc_frame,
    spc_summary,
)

__all__ = [
    "DIRECTION_SIGNS",
    "ESP2013",
    "ESP2013_18",
    "ESP2013_18_AGE_BANDS",
    "ESP2013_AGE_BANDS",
    "ChangeVerdict",
    "DistanceProgress",
    "IntervalResult",
    "SIGNIFICANCE_LEVELS",
    "SiiWarning",
    "SpcNotApplicable",
    "SpcTrialLimitsWarning",
    "TooFewValuesForQuantilesWarning",
    "TrajectoryComparison",
    "TrendProjection",
    "assign_funnel_significance",
    "assurance_type",
    "byars_bounds",
    "calculate_funnel_limits",
    "calculate_funnel_points",
    "classify_change",
    "compare_to_benchmark",
    "compare_to_benchmark_two_levels",
    "compare_to_trajectory",
    "crude_rate",
    "difference_from_intervals",
    "distance_achieved",
    "dsr",
    "dsr_frame",
    "exact_poisson_bounds",
    "exclude_place",
    "exclude_place_frame",
    "expected_events",
    "isr",
    "linear_trend_projection",
    "mean_interval",
    "newcombe_difference",
    "not_applicable_reason",
    "phe_quantile",
    "phe_sii",
    "planned_trajectory",
    "poisson_count_bounds",
    "projection_status",
    "proportion",
    "rate_ratio",
    "share_of_periods_met",
    "share_of_periods_met_frame",
    "spc",
    "spc_frame",
    "spc_summary",
    "trend_projection_frame",
    "wilson_bounds",
]
