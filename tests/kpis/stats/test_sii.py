"""phe_sii: exact point estimates by hand, and the simulated limits as R computes them.

The package's own SII test data (testdata_SII.xlsx) is an Excel workbook that could not be read
here. What replaces it:

* R's random numbers: values R prints for set.seed(s) (the first two are the ones quoted in
  countless R tutorials; the rest were printed by R 4.2.2 with its default RNG kinds);
* the point estimates: least squares worked by hand;
* the limits: the normal limits they converge to, worked by hand; and, to the last digit, the
  limits R 4.2.2 printed when running the package's calculation code (R/SII_function.R Part 2-3
  at ukhsa-collaboration/PHEindicatormethods 45395451; SimulationFunc, FindXValues and
  calc_reliability from R/utils.R at dhsc-govuk/PHEindicatormethods 41d9601b) on the data of
  phe_sii's own help-page example after set.seed(s).
"""

import math

import numpy as np
import pandas as pd
import pytest

from kpis.stats import SiiWarning, phe_sii
from kpis.stats.rrandom import RNormal

# --- R's random numbers --------------------------------------------------------------------------


def test_uniforms_and_normals_are_rs_for_the_same_seed():
    # set.seed(123); runif(3) and set.seed(123); rnorm(5); set.seed(42); rnorm(5)
    np.testing.assert_allclose(RNormal(123).runif(3), [0.2875775, 0.7883051, 0.4089769], atol=5e-8)
    np.testing.assert_allclose(
        RNormal(123).rnorm(0, 1, 5),
        [-0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774],
        atol=5e-9,
    )
    np.testing.assert_allclose(
        RNormal(42).rnorm(0, 1, 5),
        [1.37095845, -0.56469817, 0.36312841, 0.63286260, 0.40426832],
        atol=5e-9,
    )


def test_rnorm_recycles_means_and_draws_nothing_for_a_zero_sd():
    # R 4.2.2: set.seed(2024); rnorm(6, c(1, 2, 3), c(0.5, 0, 2))
    np.testing.assert_allclose(
        RNormal(2024).rnorm([1, 2, 3], [0.5, 0, 2], 6),
        [1.4909847056752206, 2, 3.9374300800721747, 0.94601433389177825, 2, 2.5742436620575866],
        rtol=1e-14,
    )


def test_long_streams_stay_in_step_with_r():
    # R 4.2.2: set.seed(5); x <- rnorm(100000); x[c(1, 624, 100000)] (past 320 state refills)
    x = RNormal(5).rnorm(0, 1, 100_000)
    np.testing.assert_allclose(
        x[[0, 623, 99_999]],
        [-0.84085548078629846, 0.37655983745264465, 1.5611546983595253],
        rtol=1e-14,
    )


# --- point estimates by hand ---------------------------------------------------------------------


def quintiles(values, populations=(1000,) * 5, se=(1.0,) * 5) -> pd.DataFrame:
    return pd.DataFrame({"q": [1, 2, 3, 4, 5], "pop": populations, "value": values, "se": se})


def test_sii_and_rii_for_equal_quintiles_by_hand():
    # Equal populations: a = 0.2, ranks b = 0.1, 0.3, 0.5, 0.7, 0.9, and the weighted fit is
    # ordinary least squares of y on b. y = 10, 12, 13, 15, 20: mean 14; Σ(b − 0.5)² = 0.4;
    # Σ(b − 0.5)(y − 14) = 0.4·4 + 0.2·2 + 0 + 0.2·1 + 0.4·6 = 4.6 -> slope 11.5,
    # intercept 14 − 11.5·0.5 = 8.25, RII = (8.25 + 11.5)/8.25 = 2.393939...
    data = quintiles([10, 12, 13, 15, 20])
    result = phe_sii(
        data, quantile="q", population="pop", value="value", se="se", rii=True, intercept=True,
        repetitions=1000, seed=1,
    )  # fmt: skip
    assert result["sii"].iloc[0] == pytest.approx(11.5, rel=1e-12)
    assert result["intercept"].iloc[0] == pytest.approx(8.25, rel=1e-12)
    assert result["rii"].iloc[0] == pytest.approx(19.75 / 8.25, rel=1e-12)
    # A negative multiplier flips the SII's sign and inverts the RII: 8.25/19.75.
    flipped = phe_sii(
        data, quantile="q", population="pop", value="value", se="se", rii=True,
        multiplier=-1, repetitions=1000, seed=1,
    )  # fmt: skip
    assert flipped["sii"].iloc[0] == pytest.approx(-11.5, rel=1e-12)
    assert flipped["rii"].iloc[0] == pytest.approx(8.25 / 19.75, rel=1e-12)


def test_sii_uses_the_midpoints_of_the_cumulative_population_by_hand():
    # Populations 100, 300, 200, 200, 200: a = 0.1, 0.3, 0.2, 0.2, 0.2, cumulative 0.1, 0.4,
    # 0.6, 0.8, 1 -> b = 0.05, 0.25, 0.5, 0.7, 0.9. Weighted by a: mean b = 0.5,
    # mean y = 1 + 3.6 + 2.6 + 3 + 4 = 14.2; Sxx = Σa(b − 0.5)² = 0.02025 + 0.01875 + 0 + 0.008
    # + 0.032 = 0.079; Sxy = Σa(b − 0.5)(y − 14.2) = 0.189 + 0.165 + 0 + 0.032 + 0.464 = 0.85.
    # Slope 0.85/0.079 = 10.759494; intercept 14.2 − 0.5·10.759494 = 8.820253.
    data = quintiles([10, 12, 13, 15, 20], populations=(100, 300, 200, 200, 200))
    result = phe_sii(
        data, quantile="q", population="pop", value="value", se="se", intercept=True,
        multiplier=100, repetitions=1000, seed=1,
    )  # fmt: skip
    assert result["sii"].iloc[0] == pytest.approx(100 * 0.85 / 0.079, rel=1e-12)
    assert result["intercept"].iloc[0] == pytest.approx(14.2 - 0.5 * 0.85 / 0.079, rel=1e-12)


def test_quantiles_are_ordered_by_label_not_by_row():
    shuffled = quintiles([10, 12, 13, 15, 20]).iloc[[3, 0, 4, 2, 1]]
    result = phe_sii(
        shuffled, quantile="q", population="pop", value="value", se="se",
        repetitions=1000, seed=1,
    )  # fmt: skip
    assert result["sii"].iloc[0] == pytest.approx(11.5, rel=1e-12)


def test_simulated_limits_converge_on_the_normal_limits_by_hand():
    # With equal quintiles the slope is Σ c_k·y_k with c = 2.5(b − 0.5) = −1, −0.5, 0, 0.5, 1,
    # so with standard errors of 1 the simulated slopes are Normal(11.5, √2.5 = 1.581139) and
    # the 95% limits tend to 11.5 ∓ 1.959964·1.581139 = 8.401036 and 14.598964 (99.8%:
    # ∓ 3.090232·1.581139 -> 6.613885 and 16.386115). With 100,000 repetitions the sampling
    # error of those quantiles is about 0.013 and 0.03.
    result = phe_sii(
        quintiles([10, 12, 13, 15, 20]), quantile="q", population="pop", value="value",
        se="se", confidence=[0.95, 0.998], seed=2024,
    )  # fmt: skip
    row = result.iloc[0]
    assert row["sii_lower95_0cl"] == pytest.approx(8.401036, abs=0.05)
    assert row["sii_upper95_0cl"] == pytest.approx(14.598964, abs=0.05)
    assert row["sii_lower99_8cl"] == pytest.approx(6.613885, abs=0.12)
    assert row["sii_upper99_8cl"] == pytest.approx(16.386115, abs=0.12)


# --- simulated limits as R computes them ---------------------------------------------------------

# phe_sii's help-page example: two areas, deciles, life expectancy with 95% limits and SEs.
EXAMPLE = pd.DataFrame(
    {
        "area": ["Area1"] * 10 + ["Area2"] * 10,
        "decile": list(range(1, 11)) * 2,
        "population": [7291, 7997, 6105, 7666, 5790, 6934, 5918, 5974, 7147, 7534,
                       21675, 20065, 19750, 24713, 20112, 19618, 22408, 19752, 18939, 19312],
        "value": [75.9, 78.3, 83.8, 83.6, 80.5, 81.1, 81.7, 84.2, 80.6, 86.3,
                  70.5, 71.6, 72.5, 73.5, 73.1, 76.2, 78.7, 80.6, 80.9, 80],
        "lowerCL": [72.7, 75.3, 80.9, 80.2, 77.1, 78, 79, 81.4, 75.8, 83.2,
                    70.1, 71.1, 72, 73.1, 72.7, 75.7, 78.2, 80.1, 80.4, 79.5],
        "upperCL": [79.1, 81.4, 86.8, 87.1, 83.8, 84.2, 84.4, 86.9, 85.4, 89.4,
                    71, 72.1, 73.2, 73.7, 75.8, 78.8, 79.8, 81.2, 81.3, 80.9],
        "StandardError": [1.64, 1.58, 1.51, 1.78, 1.7, 1.56, 1.37, 1.4, 2.43, 1.57,
                          0.23, 0.26, 0.3, 0.16, 0.79, 0.78, 0.4, 0.28, 0.23, 0.35],
    }
)  # fmt: skip
EXAMPLE["p"] = EXAMPLE["value"] / 100
EXAMPLE["pl"] = EXAMPLE["lowerCL"] / 100
EXAMPLE["pu"] = EXAMPLE["upperCL"] / 100
BY_AREA = {"quantile": "decile", "population": "population", "group_by": "area"}

# (R call after set.seed(seed), keyword arguments here, values R printed for Area1 and Area2).
# With transform = TRUE R names the limits without the "cl" suffix (sii_lower95_0); here the
# names are the same either way.
R_RUNS = {
    "normal_limits_default_repetitions": (
        "set.seed(1); phe_sii(group_by(data, area), decile, population, value = value, "
        "lower_cl = lowerCL, upper_cl = upperCL, rii = TRUE, intercept = TRUE)",
        {"value": "value", "lower_cl": "lowerCL", "upper_cl": "upperCL", "rii": True,
         "intercept": True, "seed": 1},
        {
            "sii": (7.0002347600799, 12.6227385636316),
            "rii": (1.08970970491194, 1.1820343480015),
            "sii_lower95_0cl": (3.16653666168201, 12.0098986717729),
            "sii_upper95_0cl": (10.8405270455664, 13.2360523684153),
            "rii_lower95_0cl": (1.03962700496855, 1.17252034512217),
            "rii_upper95_0cl": (1.14227014196576, 1.19164414978063),
            "intercept": (78.0320787695299, 69.3426196880598),
        },
    ),
    "rate_drawn_on_log_scale": (
        "set.seed(12); phe_sii(..., value_type = 1, value = value, lower_cl = lowerCL, "
        "upper_cl = upperCL, repetitions = 4000, multiplier = 1000, rii = TRUE)",
        {"value_type": 1, "value": "value", "lower_cl": "lowerCL", "upper_cl": "upperCL",
         "repetitions": 4000, "multiplier": 1000, "rii": True, "seed": 12},
        {
            "sii": (7000.23476007988, 12622.7385636317),
            "sii_lower95_0cl": (3158.91993469553, 11998.0843445302),
            "sii_upper95_0cl": (10933.0047853643, 13222.0135188991),
            "rii_lower95_0cl": (1.03953469971449, 1.17230272167081),
            "rii_upper95_0cl": (1.14352592893326, 1.1914444690049),
        },
    ),
    "rate_transformed_negative_multiplier": (
        "set.seed(13); phe_sii(..., value_type = 1, value = value, lower_cl = lowerCL, "
        "upper_cl = upperCL, repetitions = 4000, multiplier = -1, rii = TRUE, intercept = TRUE, "
        "transform = TRUE)",
        {"value_type": 1, "value": "value", "lower_cl": "lowerCL", "upper_cl": "upperCL",
         "repetitions": 4000, "multiplier": -1, "rii": True, "intercept": True,
         "transform": True, "seed": 13},
        {
            "sii": (-7.06624104648841, -12.6077307582058),
            "rii": (0.916952766522346, 0.846484761680172),
            "sii_lower95_0cl": (-11.148742099135, -13.2192005607553),
            "sii_upper95_0cl": (-3.15326082365594, -11.9940838905622),
            "rii_lower95_0cl": (0.872209240949717, 0.839686946641451),
            "rii_upper95_0cl": (0.9620405575743, 0.85336442629975),
            "intercept": (78.0207720975411, 69.5191701031886),
        },
    ),
    "proportion_transformed_two_levels": (
        "set.seed(14); phe_sii(..., value_type = 2, value = p, lower_cl = pl, upper_cl = pu, "
        "repetitions = 3000, multiplier = 100, rii = TRUE, transform = TRUE, "
        "confidence = c(0.95, 0.998))",
        {"value_type": 2, "value": "p", "lower_cl": "pl", "upper_cl": "pu",
         "repetitions": 3000, "multiplier": 100, "rii": True, "transform": True,
         "confidence": [0.95, 0.998], "seed": 14},
        {
            "sii": (6.89470474411387, 12.7039360585972),
            "rii": (1.08837243899828, 1.18427018200424),
            "sii_lower95_0cl": (2.86463121525096, 12.0724748589435),
            "sii_upper95_0cl": (10.7523224035552, 13.3467390577381),
            "rii_lower95_0cl": (1.035700252919, 1.17417574561163),
            "rii_upper95_0cl": (1.14197283171534, 1.19466569397121),
            "sii_lower99_8cl": (-0.571710853147211, 11.748544895129),
            "sii_upper99_8cl": (13.1839746285445, 13.7369440470985),
            "rii_lower99_8cl": (0.993028014263557, 1.16904172104912),
            "rii_upper99_8cl": (1.17763387473344, 1.20103645367537),
        },
    ),
    "reliability_transformed_two_levels": (
        "set.seed(18); phe_sii(..., value_type = 1, value = value, lower_cl = lowerCL, "
        "upper_cl = upperCL, repetitions = 1000, rii = TRUE, reliability_stat = TRUE, "
        "transform = TRUE, confidence = c(0.95, 0.998))",
        {"value_type": 1, "value": "value", "lower_cl": "lowerCL", "upper_cl": "upperCL",
         "repetitions": 1000, "rii": True, "reliability_stat": True, "transform": True,
         "confidence": [0.95, 0.998], "seed": 18},
        {
            "sii": (7.06624104648841, 12.6077307582058),
            "rii": (1.09056871467068, 1.18135617469961),
            "sii_lower95_0cl": (3.10695147850876, 11.9958401301524),
            "sii_upper95_0cl": (10.7485872180529, 13.2463101051373),
            "rii_lower95_0cl": (1.03886669583048, 1.17185945346855),
            "rii_upper95_0cl": (1.14090948199661, 1.19134575027337),
            "sii_lower99_8cl": (0.203597348670385, 11.6720713442964),
            "sii_upper99_8cl": (12.4259646765597, 13.5022578137731),
            "rii_lower99_8cl": (1.00250194621389, 1.16686416434865),
            "rii_upper99_8cl": (1.16458039114365, 1.19537229710727),
            "sii_mad95_0": (0.215272614334904, 0.0219361531966129),
            "rii_mad95_0": (0.00292439784023837, 0.000343272574184625),
            "sii_mad99_8": (0.517309353496062, 0.0726791793090611),
            "rii_mad99_8": (0.00701089426204071, 0.0011239355133029),
        },
    ),
    "reliability_negative_multiplier": (
        "set.seed(17); phe_sii(..., value = value, se = StandardError, repetitions = 1000, "
        "rii = TRUE, reliability_stat = TRUE, multiplier = -1)",
        {"value": "value", "se": "StandardError", "repetitions": 1000, "rii": True,
         "reliability_stat": True, "multiplier": -1, "seed": 17},
        {
            "sii": (-7.0002347600799, -12.6227385636316),
            "rii": (0.917675593318506, 0.845999104586709),
            "sii_lower95_0cl": (-10.6661141799545, -13.2858857577076),
            "sii_upper95_0cl": (-3.40284817251015, -12.0348521782978),
            "rii_lower95_0cl": (0.877374725411167, 0.838846698648985),
            "rii_upper95_0cl": (0.959121141167443, 0.852509616981239),
            "sii_mad95_0": (0.28147332382823, 0.0411165892543074),
            "rii_mad95_0": (0.00319598518655895, 0.000419917925351004),
        },
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(R_RUNS))
def test_simulated_limits_are_the_ones_r_gives_after_the_same_seed(case):
    _, arguments, printed = R_RUNS[case]
    result = phe_sii(EXAMPLE, **BY_AREA, **arguments)
    assert result["area"].tolist() == ["Area1", "Area2"]
    for column, values in printed.items():
        # R printed 15 significant digits; the mean absolute differences lose a few more to
        # cancellation.
        np.testing.assert_allclose(result[column], values, rtol=1e-12, err_msg=column)


def test_output_columns_follow_r():
    _, arguments, _ = R_RUNS["reliability_negative_multiplier"]
    result = phe_sii(EXAMPLE, **BY_AREA, **arguments, intercept=True)
    assert list(result.columns) == [
        "area", "sii", "rii", "sii_lower95_0cl", "sii_upper95_0cl", "rii_lower95_0cl",
        "rii_upper95_0cl", "sii_mad95_0", "rii_mad95_0", "intercept",
    ]  # fmt: skip
    plain = phe_sii(EXAMPLE, **BY_AREA, value="value", se="StandardError", repetitions=1000)
    assert list(plain.columns) == ["area", "sii", "sii_lower95_0cl", "sii_upper95_0cl"]


def test_without_a_seed_the_limits_vary_by_monte_carlo_error_only():
    first = phe_sii(EXAMPLE, **BY_AREA, value="value", se="StandardError", repetitions=20_000)
    second = phe_sii(EXAMPLE, **BY_AREA, value="value", se="StandardError", repetitions=20_000)
    assert first["sii"].tolist() == second["sii"].tolist()
    np.testing.assert_allclose(first["sii_lower95_0cl"], second["sii_lower95_0cl"], atol=0.2)
    assert (first["sii_lower95_0cl"] < first["sii"]).all()
    assert (first["sii"] < first["sii_upper95_0cl"]).all()


# --- inputs --------------------------------------------------------------------------------------


def test_a_group_missing_a_quantile_is_dropped_with_a_warning():
    short = EXAMPLE.drop(index=3)  # Area1 loses decile 4
    with pytest.warns(SiiWarning, match="removed"):
        result = phe_sii(short, **BY_AREA, value="value", se="StandardError", repetitions=1000)
    assert result["area"].tolist() == ["Area2"]


def test_more_than_ten_quantiles_warn_and_fewer_than_five_are_refused():
    twelve = pd.DataFrame({"q": range(12), "pop": 100.0, "value": np.arange(12.0), "se": 1.0})
    with pytest.warns(SiiWarning, match="unstable"):
        phe_sii(twelve, quantile="q", population="pop", value="value", se="se", repetitions=1000)
    with pytest.raises(ValueError, match="between 5 and 100"):
        phe_sii(twelve.head(4), quantile="q", population="pop", value="value", se="se")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"value": "value", "se": "StandardError", "repetitions": 999}, "1000 or greater"),
        ({"value": "value", "se": "StandardError", "value_type": 3}, "0, 1 or 2"),
        ({"value": "value", "se": "StandardError", "transform": True, "value_type": 1}, "se"),
        ({"value": "value", "lower_cl": "lowerCL", "upper_cl": "upperCL", "transform": True},
         "1 or 2"),
        ({"value": "value"}, "lower_cl and upper_cl, or se"),
        ({"value": "value", "se": "StandardError", "confidence": 0.8}, "between 90 and 100"),
        ({"value": "value", "se": "StandardError", "value_type": 2}, "between 0 and 1"),
    ],
)  # fmt: skip
def test_arguments_the_package_refuses_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        phe_sii(EXAMPLE, **BY_AREA, **arguments)


def test_proportions_from_counts_need_positive_counts_and_populations():
    data = EXAMPLE.assign(x=(EXAMPLE["p"] * EXAMPLE["population"]).round())
    result = phe_sii(
        data, **BY_AREA, x="x", value_type=2, lower_cl="pl", upper_cl="pu", repetitions=1000,
        seed=3,
    )  # fmt: skip
    share = data["x"] / data["population"]
    assert math.isfinite(result["sii"].iloc[0]) and share.between(0, 1).all()
    with pytest.raises(ValueError, match="zero or negative count"):
        phe_sii(data.assign(x=0), **BY_AREA, x="x", value_type=2, lower_cl="pl", upper_cl="pu")
    with pytest.raises(ValueError, match="population"):
        phe_sii(data.assign(population=0), **BY_AREA, value="value", se="StandardError")
