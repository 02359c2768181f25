"""Effective-dated parameter tables for the basic livelihood security (국민기초생활보장) rules.

Sources: ../shared/reference/welfare-system-anchors.md §3 (which cites the MOHW releases). Parameters
are chosen by the application date or the benefit month, never by today's date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from bokji.errors import Invalid

REFERENCE = "welfare-system-anchors.md §3"

# Standard median income (기준 중위소득), KRW per month, by year and household size. The MOHW
# notice for a year applies from 1 January to 31 December of that year.
STANDARD_MEDIAN_INCOME: dict[int, dict[int, int]] = {
    2024: {1: 2_228_445, 2: 3_682_609, 3: 4_714_657, 4: 5_729_913, 5: 6_695_735, 6: 7_618_369},
    2025: {1: 2_392_013, 2: 3_932_658, 3: 5_025_353, 4: 6_097_773, 5: 7_108_192, 6: 8_064_805},
}

# Selection thresholds as a share of the median (unchanged 2024 -> 2025).
THRESHOLD_PERCENT: dict[str, int] = {"livelihood": 32, "medical": 40, "housing": 48, "education": 50}

# Monthly conversion rates of property into income (재산의 소득환산율).
CONVERSION_RATE: dict[str, Decimal] = {
    "residential": Decimal("0.0104"),
    "general": Decimal("0.0417"),
    "financial": Decimal("0.0626"),
    "car": Decimal("1.00"),
}

EARNED_INCOME_COUNTED = Decimal("0.70")  # the general 30 % earned-income deduction

REGION_CLASSES = ("seoul", "gyeonggi", "metropolitan", "other")


@dataclass(frozen=True)
class RegionAmounts:
    basic_property: int  # 기본재산액
    residential_cap: int  # 주거용재산 한도액


# Livelihood, housing and education benefits, from 2023 (medical may differ: unverified).
REGION_AMOUNTS_FROM_2023: dict[str, RegionAmounts] = {
    "seoul": RegionAmounts(99_000_000, 172_000_000),
    "gyeonggi": RegionAmounts(80_000_000, 151_000_000),
    "metropolitan": RegionAmounts(77_000_000, 146_000_000),  # metropolitan cities, Sejong, Changwon
    "other": RegionAmounts(53_000_000, 112_000_000),
}


@dataclass(frozen=True)
class ParameterSet:
    year: int
    median: dict[int, int]
    region: dict[str, RegionAmounts]
    conversion: dict[str, Decimal]
    earned_income_counted: Decimal
    source: str = REFERENCE


def parameters_on(on: date) -> ParameterSet:
    """The parameters in force on `on` (an application date or a benefit month)."""
    if on.year not in STANDARD_MEDIAN_INCOME:
        known = ", ".join(str(y) for y in sorted(STANDARD_MEDIAN_INCOME))
        raise Invalid(f"no standard median income for {on.year} (known years: {known})", field="date")
    if on.year < 2023:
        raise Invalid("regional property amounts before 2023 are not encoded", field="date")
    return ParameterSet(on.year, STANDARD_MEDIAN_INCOME[on.year], REGION_AMOUNTS_FROM_2023, CONVERSION_RATE,
                        EARNED_INCOME_COUNTED)
