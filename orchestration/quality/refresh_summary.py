"""The refresh summary's view of the validation: this refresh's widget statuses and where its
Data Docs are. Imports nothing heavy (no GX, no pandas): the CLI loads it on every refresh."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.quality.gx_project import DATA_DOCS_DIR
from orchestration.quality.widgets import WIDGETS


def data_docs_index(warehouse: Path) -> Path:
    return warehouse.resolve().parent / DATA_DOCS_DIR / "index.html"


@dataclass(frozen=True)
class RefreshDetails:
    """What the refresh summary prints: this refresh's widget statuses and the Data Docs."""

    widgets: list[tuple]  # (widget, mart, status, row_count, quarantined, failed_expectations)
    data_docs: Path | None

    def summary_lines(self) -> list[str]:
        if not self.widgets:
            return ["  widget validation:   did not run (see the run log)"]
        counts = {s: sum(w[2] == s for w in self.widgets) for s in ("ok", "warning", "failed")}
        lines = [
            f"  data docs:           {self.data_docs or 'not built'}",
            "  widgets:             " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        ]
        for widget, mart, status, rows, quarantined, failed in self.widgets:
            why = [f"{quarantined} quarantined"] if quarantined else []
            why += [failed] if failed else []
            lines.append(
                f"    {status:<8} {widget} ({mart}, {rows if rows is not None else '?'} rows)"
                + (": " + "; ".join(why) if why else "")
            )
        return lines


def refresh_details(warehouse: Path, since: dt.datetime) -> RefreshDetails:
    """The widget statuses written by a validation that ran at or after `since` (naive UTC)."""
    index = data_docs_index(warehouse)
    try:
        with duckdb.connect(str(warehouse), read_only=True) as con:
            rows = con.execute(
                """
                select widget, mart, status, row_count, quarantined_records, failed_expectations
                from marts.mart_widget_refresh
                where refreshed_at >= ?
                """,
                [since],
            ).fetchall()
    except duckdb.CatalogException:  # no validation ever ran on this warehouse
        rows = []
    order = {w.mart: i for i, w in enumerate(WIDGETS)}  # the dashboard's order
    rows.sort(key=lambda row: order.get(row[1], len(order)))
    built = (
        index.exists()
        and dt.datetime.fromtimestamp(index.stat().st_mtime, dt.UTC).replace(tzinfo=None) >= since
    )
    return RefreshDetails(rows, index if built else None)
