"""Recipes: counts joined from separate measures, the printed figure kept and checked."""

import numpy as np
import pandas as pd

from kpis.national import parse_publication
from kpis.national.breakdowns import breakdown_keys
from kpis.national.recipes import Measure, Recipe, recipe_rows, recipes_from

HEADER = (
    "REPORTING_PERIOD_START,REPORTING_PERIOD_END,GROUP_TYPE,ORG_CODE1,ORG_NAME1,ORG_CODE2,"
    "ORG_NAME2,MEASURE_ID,MEASURE_NAME,MEASURE_VALUE_SUPPRESSED\n"
)
RECOVERY = Recipe(
    kpi="TT-RECOVERY",
    publisher="talking_therapies",
    numerator=(Measure("M191", ("Count_Recovery",)),),
    denominator=(
        Measure("M076", ("Count_FinishedCourseTreatment",)),
        Measure("M179", ("Count_NotAtCaseness",), sign=-1),
    ),
    published=Measure("M192", ("Percentage_Recovery",)),
)


def monthly(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """A monthly file of (sub-ICB code, measure id, value) rows for June 2025."""
    lines = [
        f"2025-06-01,2025-06-30,{'England' if code == 'all' else 'SubICB'},{code},N,all,"
        f"all Providers,{measure},Name,{value}"
        for code, measure, value in rows
    ]
    return parse_publication((HEADER + "\n".join(lines) + "\n").encode(), filename="m.csv").frame


def rows_of(frame, recipe=RECOVERY, rounding_base=5.0):
    issues: list[str] = []
    rows, sources = recipe_rows(
        frame, recipe, multiplier=100.0, rounding_base=rounding_base, issues=issues
    )
    return rows.set_index("area_code"), sources, issues


def test_counts_make_numerator_and_denominator_and_the_printed_value_is_kept():
    frame = monthly(
        [
            ("99G", "M076", "285"),
            ("99G", "M179", "25"),
            ("99G", "M191", "135"),
            ("99G", "M192", "52"),
        ]
    )
    rows, sources, _ = rows_of(frame)
    southend = rows.loc["99G"]
    # 135 / (285 - 25) = 51.92%: the printed 52 is within rounding.
    assert (southend["numerator"], southend["denominator"], southend["value"]) == (135, 260, 52)
    assert southend["source_value"] == 52 and not southend["source_value_differs"]
    assert southend["rounded"]
    assert sorted(sources["source_row"]) == [2, 3, 4, 5]


def test_disagreement_is_judged_after_the_sources_rounding():
    # 100 / (210 - 10) = 50.0%. Each count may be 2.5 off (the denominator has two counts, so
    # 5 off): 97.5 / 205 = 47.56% to 102.5 / 195 = 52.56%. Printed as whole numbers (each
    # half a point wide), 48 to 53 agree, 47 and 54 do not.
    cases = {"AAA": "48", "BBB": "53", "CCC": "47", "DDD": "54"}
    frame = monthly(
        [
            (code, measure, value)
            for code, printed in cases.items()
            for measure, value in (
                ("M076", "210"),
                ("M179", "10"),
                ("M191", "100"),
                ("M192", printed),
            )
        ]
    )
    rows, _, _ = rows_of(frame)
    assert rows["source_value_differs"].to_dict() == {
        "AAA": False,
        "BBB": False,
        "CCC": True,
        "DDD": True,
    }
    unrounded, _, _ = rows_of(frame, rounding_base=None)
    # Without rounding only the printed figure's own half unit is allowed: 49.5 to 50.5.
    assert unrounded["source_value_differs"].to_dict() == {
        "AAA": True,
        "BBB": True,
        "CCC": True,
        "DDD": True,
    }


def test_a_suppressed_part_leaves_the_figure_suppressed_without_a_value():
    frame = monthly([("07G", "M076", "*"), ("07G", "M179", "*"), ("07G", "M191", "*")])
    rows, _, _ = rows_of(frame)
    thurrock = rows.loc["07G"]
    assert thurrock["suppressed"] and np.isnan(thurrock["value"]) and thurrock["marker"] == "*"


def test_england_is_not_rounded_and_computes_without_a_printed_value():
    frame = monthly([("all", "M076", "55000"), ("all", "M179", "4500"), ("all", "M191", "25000")])
    rows, _, _ = rows_of(frame)
    england = rows.loc["E92000001"]
    assert not england["rounded"] and np.isnan(england["source_value"])
    assert round(england["value"], 4) == round(25000 / 50500 * 100, 4)


def test_recipes_are_read_from_data():
    recipes = recipes_from(
        {
            "recipes": [
                {
                    "kpi": "K",
                    "publisher": "p",
                    "numerator": [{"id": "A", "names": ["Count_A"]}],
                    "denominator": [{"id": "B"}, {"id": "C", "sign": -1}],
                    "published_value": {"id": "P"},
                    "cohort": {"dimension": "age_band", "category": "65+"},
                }
            ]
        }
    )
    (recipe,) = recipes
    assert [m.sign for m in recipe.denominator] == [1, -1]
    assert recipe.cohort == ("age_band", "65+")
    assert recipe.measure_names() == {"A", "Count_A", "B", "C", "P"}


def test_breakdown_labels_map_to_catalogue_categories_or_to_nothing():
    frame = pd.DataFrame(
        {
            "category_type": [
                "",
                "",
                "Age Group",
                "Age Group",
                "Gender",
                "Ethnic Group",
                "Ethnic Group",
                "Indices of Deprivation Decile",
                "Provider",
                "",
            ],
            "category": [
                "",
                "",
                "65+",
                "26-35",
                "Female",
                "Asian or Asian British",
                "Asian or Asian British; Indian",
                "1",
                "R1L",
                "",
            ],
            "sex": ["Persons", "", "", "", "", "", "", "", "", "Male"],
        }
    )
    keys = breakdown_keys(frame)
    assert list(zip(keys["breakdown_dimension"], keys["breakdown_category"], strict=True)) == [
        ("all", "all"),
        ("all", "all"),
        ("age_band", "65+"),
        ("", ""),
        ("sex", "female"),
        ("ethnic_group", "asian"),
        ("", ""),
        ("", ""),
        ("", ""),
        ("sex", "male"),
    ]
