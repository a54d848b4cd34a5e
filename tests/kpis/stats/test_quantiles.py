"""phe_quantile against the deciles the Fingertips tool published, and hand-worked cases.

The package's own test workbook (testdata_Quantiles.xlsx) could not be read here; the deciles
in files/phe/fd_quantiles_subset.csv come from the repository's fd_quantiles.csv, the tool
output that workbook was built from (see files/phe/README.md).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kpis.stats import TooFewValuesForQuantilesWarning, phe_quantile

FILES = Path(__file__).parent / "files" / "phe"


def test_within_region_deciles_match_the_published_tool_output():
    # Two indicators (40501 under-75 cancer mortality, low is good, so inverted; 90366 life
    # expectancy, high is good), deciles within each region: 125 areas in 9 groups of 11-23.
    data = pd.read_csv(FILES / "fd_quantiles_subset.csv")
    enough = data["Tool output - number of areas"] >= 10
    with pytest.warns(TooFewValuesForQuantilesWarning):
        deciles = phe_quantile(
            data["Value"],
            nquantiles=10,
            invert=(data["Polarity"] == "RAG - Low is good").to_numpy(),
            groups=[data["IndicatorID"], data["ParentCode"]],
        )
    assert enough.sum() == 125
    assert deciles[enough].tolist() == data.loc[enough, "Tool Output Decile"].astype(float).tolist()
    # East Midlands has 9 areas: R's phe_quantile assigns none (the Excel tool still did).
    assert np.isnan(deciles[~enough]).all() and (~enough).sum() == 9


def test_ties_share_the_lowest_rank_and_invert_reverses_the_order():
    # n = 10, q = 5, so n/q = 2 and quantile = floor(6 − ceiling((11 − rank)/2)).
    # Not inverted, ranks 1,2,2,4,5,...,10 give (11 − rank)/2 = 5, 4.5, 4.5, 3.5, 3, 2.5, 2, 1.5,
    # 1, 0.5 -> ceilings 5,5,5,4,3,3,2,2,1,1 -> quantiles 1,1,1,2,3,3,4,4,5,5.
    values = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9]
    assert phe_quantile(values, 5, invert=False).tolist() == [1, 1, 1, 2, 3, 3, 4, 4, 5, 5]
    # Inverted, 9 − value ranks the 9 first; the two 2s tie at rank 8 and the 1 is rank 10:
    # ranks 10,8,8,7,6,5,4,3,2,1 -> quantiles 5,4,4,4,3,3,2,2,1,1.
    assert phe_quantile(values, 5).tolist() == [5, 4, 4, 4, 3, 3, 2, 2, 1, 1]


def test_a_zero_from_floating_point_becomes_quantile_one():
    # n = 17, q = 7: 17 / (17/7) is 7.000000000000001 in IEEE doubles (as in R), so the top
    # rank's ceiling is 8 and the formula gives 0, which the package turns into 1.
    assert 17 / (17 / 7) > 7
    quantiles = phe_quantile(np.arange(17.0), 7, invert=False)
    assert quantiles[0] == 1 and quantiles.min() == 1 and quantiles.max() == 7


def test_missing_values_get_no_quantile_and_do_not_count():
    # 10 values and one missing: n = 10 for the others, so quintiles come out as without it.
    values = [1, 2, np.nan, 3, 4, 5, 6, 7, 8, 9, 10]
    result = phe_quantile(values, 5, invert=False)
    assert np.isnan(result[2])
    assert result[[0, 1, 3, 4, 5, 6, 7, 8, 9, 10]].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_groups_are_assigned_separately_and_too_small_groups_warn():
    values = list(range(10)) + [5.0, 6.0]
    groups = ["A"] * 10 + ["B"] * 2
    with pytest.warns(TooFewValuesForQuantilesWarning, match="too few small areas"):
        result = phe_quantile(values, 5, invert=False, groups=groups)
    assert result[:10].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert np.isnan(result[10:]).all()


def test_invert_must_be_constant_within_a_group():
    with pytest.raises(ValueError, match="same logical value"):
        phe_quantile([1, 2, 3, 4], 2, invert=np.array([True, False, True, True]), groups=[1] * 4)
    with pytest.raises(ValueError, match="True, False"):
        phe_quantile([1, 2], 2, invert=[6, 6])
