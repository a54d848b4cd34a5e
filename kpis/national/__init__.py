"""Pure parsers for nationally published indicator files (no ORM, no network).

Each parser takes the bytes of a CSV exactly as the publisher releases it and returns a
ParsedPublication whose frame has the columns in OUTPUT_COLUMNS, one row per published figure:

- parse_fingertips: OHID Fingertips indicator data ("Export" / fingertipsR fingertips_data)
- parse_mhsds: NHS England Mental Health Services Monthly Statistics data files
- parse_talking_therapies: NHS Talking Therapies monthly and quarterly measures files

detect_publisher() tells them apart by header; parse_publication() dispatches. pair_measures()
joins separately published numerator / denominator / proportion measures. A file whose header
is not the publisher's raises PublicationFormatError naming the missing columns.
spreads.area_spreads() gives the spread of each KPI's values over every area of a type (for
spine charts).
"""

from .base import (
    ENGLAND_CODE,
    OUTPUT_COLUMNS,
    ParsedPublication,
    PublicationFormatError,
    parse_day,
    window_period,
)
from .detect import LAYOUTS, PARSERS, detect_layout, detect_publisher, parse_publication
from .fingertips import fingertips_period, parse_fingertips
from .mhsds import parse_mhsds
from .pairing import pair_measures
from .talking_therapies import parse_talking_therapies

__all__ = [
    "ENGLAND_CODE",
    "LAYOUTS",
    "OUTPUT_COLUMNS",
    "PARSERS",
    "ParsedPublication",
    "PublicationFormatError",
    "detect_layout",
    "detect_publisher",
    "fingertips_period",
    "pair_measures",
    "parse_day",
    "parse_fingertips",
    "parse_mhsds",
    "parse_publication",
    "parse_talking_therapies",
    "window_period",
]
