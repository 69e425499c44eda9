"""The time-range selector: a standard range (1, 3, 6 or 12 months ending on the as-of date) or a
custom [start, end], parsed from the page's query parameters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

STANDARD_RANGES = {
    "1M": "Last month",
    "3M": "Last 3 months",
    "6M": "Last 6 months",
    "12M": "Last 12 months",
}
DEFAULT_RANGE = "3M"
CUSTOM = "custom"
# A custom range longer than this is refused: it would only draw hundreds of empty months.
MAX_CUSTOM_DAYS = 5 * 366


@dataclass(frozen=True)
class RangeChoice:
    key: str
    """`1M`, `3M`, `6M`, `12M` or `custom`."""
    start: dt.date | None = None
    """Custom ranges only; a standard range's window comes from mart_overview_summary."""
    end: dt.date | None = None

    @property
    def is_custom(self) -> bool:
        return self.key == CUSTOM

    def label(self) -> str:
        return "Custom range" if self.is_custom else STANDARD_RANGES[self.key]


def parse_range(params: Mapping[str, str]) -> tuple[RangeChoice, str | None]:
    """(choice, problem): an unusable selection falls back to the default with a message."""
    key = params.get("range") or DEFAULT_RANGE
    if key in STANDARD_RANGES:
        return RangeChoice(key), None
    if key != CUSTOM:
        return RangeChoice(DEFAULT_RANGE), f"Unknown time range {key!r}; showing the last 3 months."
    try:
        start = dt.date.fromisoformat(params.get("start") or "")
        end = dt.date.fromisoformat(params.get("end") or "")
    except ValueError:
        return RangeChoice(DEFAULT_RANGE), (
            "A custom range needs a start and an end date (YYYY-MM-DD); showing the last 3 months."
        )
    if start > end:
        return RangeChoice(DEFAULT_RANGE), (
            f"The custom range starts ({start}) after it ends ({end}); showing the last 3 months."
        )
    if (end - start).days > MAX_CUSTOM_DAYS:
        return RangeChoice(DEFAULT_RANGE), (
            "A custom range can span at most 5 years; showing the last 3 months."
        )
    return RangeChoice(CUSTOM, start, end), None
