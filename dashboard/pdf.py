"""The PDF download: the current view (same Dashboard object, hence the same numbers and texts as
the page), laid out with fpdf2, charts rendered server-side from the same Vega-Lite specs by
vl-convert."""

from __future__ import annotations

import io
import re
import struct

import vl_convert
from fpdf import FPDF
from fpdf.fonts import FontFace

from dashboard.charts import VEGA_LITE_VERSION, fixed_width
from dashboard.view import Dashboard, Table, WidgetView

CHART_WIDTH_PX = 620
CHART_WIDTH_MM = 170
GOAL_FILL = {
    "goal-met": (220, 242, 227),
    "goal-approaching": (253, 241, 207),
    "goal-below": (250, 220, 217),
}
WARNING_INK = (155, 28, 28)
MUTED_INK = (91, 102, 115)
# The PDF core fonts are Latin-1; the page's few other characters get plain equivalents.
LATIN1 = str.maketrans({"—": "-", "–": "-", "…": "...", "⚠": "!", "≤": "<=", "≥": ">=", "’": "'"})


def report_file_name(dashboard: Dashboard) -> str:
    name = f"referrals-overview-{dashboard.organization}-{dashboard.choice.key}"
    if dashboard.choice.is_custom:
        name += f"-{dashboard.start}-{dashboard.end}"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name) + ".pdf"


def _text(value: str) -> str:
    return value.translate(LATIN1).encode("latin-1", "replace").decode("latin-1")


class _Report(FPDF):
    def __init__(self, dashboard: Dashboard):
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.dashboard = dashboard
        self.set_margins(12, 12, 12)
        self.set_auto_page_break(True, margin=14)
        self.set_title(_text(f"Referrals overview - {dashboard.name()}"))
        self.set_creator("referral-insights dashboard")

    def footer(self) -> None:
        self.set_y(-10)
        self.set_font("Helvetica", size=7)
        self.set_text_color(*MUTED_INK)
        self.cell(
            0,
            4,
            _text(
                f"{self.dashboard.organization} · {self.dashboard.range_label} · page {self.page_no()}"
            ),
            align="C",
        )

    def line_of(self, text: str, size: float = 9, style: str = "", color=(29, 38, 48), h=4.5):
        self.set_font("Helvetica", style, size)
        self.set_text_color(*color)
        self.multi_cell(0, h, _text(text), new_x="LMARGIN", new_y="NEXT")


def render_pdf(dashboard: Dashboard) -> bytes:
    pdf = _Report(dashboard)
    pdf.add_page()
    pdf.line_of("Referrals overview", size=16, style="B", h=8)
    pdf.line_of(f"Organization {dashboard.name()} ({dashboard.organization})")
    pdf.line_of(f"{dashboard.range_label} · data as of {dashboard.as_of or 'n/a'}")
    pdf.line_of(
        f"Published version {dashboard.published_version or 'n/a'} "
        f"({dashboard.published_at or 'n/a'} UTC), read from {dashboard.serving_db}",
        size=7,
        color=MUTED_INK,
    )
    for notice in dashboard.notices:
        pdf.line_of(notice, style="B", color=WARNING_INK)
    for widget in dashboard.widgets:
        _widget(pdf, widget)
    return bytes(pdf.output())


def _widget(pdf: _Report, w: WidgetView) -> None:
    if pdf.will_page_break(70):
        pdf.add_page()
    pdf.ln(4)
    pdf.line_of(w.spec.title, size=12, style="B", h=6)
    pdf.line_of(w.scope, size=8, color=MUTED_INK)
    for warning in w.warnings:
        pdf.line_of(f"! {warning}", size=9, style="B", color=WARNING_INK)
    if w.has_data:
        if w.metrics:
            _metrics(pdf, w)
        for chart in w.charts:
            _chart(pdf, chart.title, chart.spec)
        for table in w.tables:
            _table(pdf, table)
        if w.empty_note:
            pdf.line_of(w.empty_note, size=8, color=MUTED_INK)
        if w.spec.note:
            pdf.line_of(w.spec.note, size=7, color=MUTED_INK)
    _refresh(pdf, w)


def _metrics(pdf: _Report, w: WidgetView) -> None:
    pdf.set_font("Helvetica", size=9)
    pdf.set_text_color(29, 38, 48)
    with pdf.table(line_height=5, text_align="CENTER", padding=1) as table:
        labels, values = table.row(), table.row()
        for m in w.metrics:
            labels.cell(_text(m.label))
            values.cell(_text(m.text), style=FontFace(emphasis="B", size_pt=11))


def _chart(pdf: _Report, title: str, spec: dict) -> None:
    png = vl_convert.vegalite_to_png(
        fixed_width(spec, CHART_WIDTH_PX), vl_version=VEGA_LITE_VERSION, scale=2
    )
    width_px, height_px = struct.unpack(">II", png[16:24])  # the PNG header's IHDR size
    height = CHART_WIDTH_MM * height_px / width_px
    if pdf.will_page_break(height + 6):
        pdf.add_page()
    pdf.line_of(title, size=8, color=MUTED_INK)
    pdf.image(io.BytesIO(png), w=CHART_WIDTH_MM, h=height)


def _table(pdf: _Report, t: Table) -> None:
    if t.caption:
        pdf.line_of(t.caption, size=9, style="B")
    pdf.set_font("Helvetica", size=7.5)
    pdf.set_text_color(29, 38, 48)
    first = 2.2 if len(t.header) > 4 else 1.5
    widths = [first] + [1] * (len(t.header) - 1)
    with pdf.table(col_widths=widths, line_height=4.2, padding=0.8) as table:
        header = table.row()
        for text in t.header:
            header.cell(_text(text), align="CENTER")
        for row in t.rows:
            out = table.row()
            for i, c in enumerate(row):
                fill = GOAL_FILL.get(c.css or "")
                out.cell(
                    _text(c.text),
                    align="LEFT" if i == 0 else "RIGHT",
                    style=FontFace(fill_color=fill) if fill else None,
                )
    if t.legend:
        pdf.line_of(
            "Cell colours: green = goal met, amber = approaching goal, red = below goal.",
            size=7,
            color=MUTED_INK,
        )


def _refresh(pdf: _Report, w: WidgetView) -> None:
    pdf.line_of(f"Data refresh details (status: {w.status})", size=7.5, style="B", color=MUTED_INK)
    if w.refresh_note:
        pdf.line_of(w.refresh_note, size=7, color=MUTED_INK, h=3.5)
    for r in w.refresh:
        pdf.line_of(
            f"{r.mart}: status {r.status or 'n/a'}; refreshed at {r.refreshed_at}; data as of "
            f"{r.data_as_of}; expectations {r.expectations}; quarantined records "
            f"{r.quarantined_records}; failed expectations: {r.failed_expectations}; "
            f"published: {r.publish_state} (data refreshed at {r.data_refreshed_at})",
            size=7,
            color=MUTED_INK,
            h=3.5,
        )
