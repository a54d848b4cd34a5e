"""Which catalogue breakdown a publisher's row belongs to, told from its breakdown columns.

A publisher labels breakdowns its own way: NHS England's VariableType / VariableA ("Age Group" /
"65+", "Gender" / "Female", "Ethnic Group" / "Asian or Asian British"), Fingertips' Sex column
and Category Type / Category. ``breakdown_keys`` turns each row's labels into the catalogue's
(dimension, category) (fixtures/kpis/breakdowns.yaml), ("all", "all") for the whole population,
or blanks where the catalogue holds no such breakdown: deciles (the catalogue keeps quintiles),
ethnic sub-groups, presenting problems and the like. Such rows must never land in an all-people
series. The labels are matched per distinct spelling, never per row.
"""

from __future__ import annotations

import re

import pandas as pd

ALL = ("all", "all")

_AGE_TYPES = re.compile(r"(?i)^age(?:[ _]?(?:group|band))?s?$")
_SEX_TYPES = re.compile(r"(?i)^(?:gender|sex)$")
_ETHNIC_TYPES = re.compile(r"(?i)^ethnic(?:ity|[ _]group)?$")
_QUINTILE_TYPES = re.compile(r"(?i)deprivation quintile|imd quintile|quintile")

_AGE_BANDS = {
    "65+": re.compile(r"(?i)^(?:aged? )?(?:65\s*\+|65 ?(?:and|&) ?(?:over|older|above)|over 65)$"),
    "18-25": re.compile(r"(?i)^(?:aged? )?18\s*(?:-|to|–)\s*25$"),
    "18-64": re.compile(r"(?i)^(?:aged? )?18\s*(?:-|to|–)\s*64$"),
    "0-17": re.compile(r"(?i)^(?:aged? )?(?:0\s*(?:-|to|–)\s*17|under 18)$"),
    "10-24": re.compile(r"(?i)^(?:aged? )?10\s*(?:-|to|–)\s*24$"),
}
_SEXES = {"female": "female", "females": "female", "male": "male", "males": "male"}
#: The five high-level groups of the 2021 Census classification, as NHS England and ONS name them.
_ETHNIC_GROUPS = {
    "asian": re.compile(r"(?i)^asian(?: or asian british| british| welsh|, asian british.*)?$"),
    "black": re.compile(
        r"(?i)^black(?: or black british|, black british.*| british|, caribbean or african)?$"
    ),
    "mixed": re.compile(r"(?i)^mixed(?: or multiple ethnic groups?| ethnic groups?)?$"),
    "white": re.compile(r"(?i)^white$"),
    "other": re.compile(r"(?i)^(?:any )?other ethnic groups?$"),
}
_QUINTILE = re.compile(r"(?i)^(?:imd )?(?:quintile )?([1-5])(?:\s*[-(].*)?$")


def _category_of(kind: str, category: str, sex: str) -> tuple[str, str]:
    """(dimension, category) of one distinct spelling; ("", "") when not held."""
    kind, category, sex = kind.strip(), category.strip(), sex.strip().casefold()
    if not kind:
        if sex in ("", "persons", "all", "all persons", "total"):
            return ALL
        return ("sex", _SEXES[sex]) if sex in _SEXES else ("", "")
    if sex not in ("", "persons", "all", "all persons", "total"):
        return ("", "")  # a breakdown within one sex: the catalogue crosses no dimensions
    if "; " in category:
        return ("", "")  # a sub-group (VariableB), e.g. an ethnic group's detailed categories
    if _AGE_TYPES.match(kind):
        for band, pattern in _AGE_BANDS.items():
            if pattern.match(category):
                return ("age_band", band)
        return ("", "")
    if _SEX_TYPES.match(kind):
        key = category.casefold()
        return ("sex", _SEXES[key]) if key in _SEXES else ("", "")
    if _ETHNIC_TYPES.match(kind):
        for group, pattern in _ETHNIC_GROUPS.items():
            if pattern.match(category):
                return ("ethnic_group", group)
        return ("", "")
    if _QUINTILE_TYPES.search(kind) and (match := _QUINTILE.match(category)):
        return ("deprivation_quintile", match[1])
    return ("", "")


def breakdown_keys(frame: pd.DataFrame) -> pd.DataFrame:
    """breakdown_dimension and breakdown_category for each row of a normalised frame ('' where
    the catalogue holds no such breakdown)."""
    keys = frame["category_type"].astype(str) + "\x1f" + frame["category"].astype(str)
    keys = keys + "\x1f" + frame["sex"].astype(str)
    table = {key: _category_of(*key.split("\x1f")) for key in keys.unique()}
    mapped = keys.map(table)
    return pd.DataFrame(
        {
            "breakdown_dimension": mapped.str[0].astype(str),
            "breakdown_category": mapped.str[1].astype(str),
        },
        index=frame.index,
    )
