"""How numbers are written, on the page and in the PDF alike (one place, so both show the same)."""

from __future__ import annotations

import datetime as dt

MISSING = "n/a"  # a rate whose denominator is 0 (NULL in the marts)


def count(value: float | None) -> str:
    return MISSING if value is None else f"{round(value):,}"


def percent(value: float | None) -> str:
    # the marts already round rates to 2 decimals; this only writes them
    return MISSING if value is None else f"{value:,.2f}%"


def usd(value: float | None) -> str:
    return MISSING if value is None else f"${value:,.2f}"


def day(value: dt.date | None) -> str:
    return MISSING if value is None else value.isoformat()


def month(value: dt.date) -> str:
    return value.strftime("%b %Y")


def timestamp(value: dt.datetime | None) -> str:
    """Warehouse timestamps are naive UTC."""
    return MISSING if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


FORMATS = {"count": count, "percent": percent, "usd": usd}
