"""One definition per widget: the marts' dbt `meta` (name, mart, grain, feeding sources), the dbt
exposures (which marts a widget reads) and the dashboard's catalog (how it is shown) must agree.

The exposures keep a `label` (dbt docs and the Dagster UI show it) and the catalog names each
card's mart; both are checked here against the `meta` they could drift from.
"""

from __future__ import annotations

from dashboard import widget_catalog as catalog
from orchestration.quality.widgets import WIDGETS, WIDGETS_BY_MART, Widget
from tests.widget_exposures import Exposure, read_exposures


def problems(
    exposures: tuple[Exposure, ...],
    widgets_by_mart: dict[str, Widget],
    cards: tuple[catalog.WidgetSpec, ...],
) -> list[str]:
    """Every way the exposures and the catalog disagree with the marts' meta, or each other."""
    found = []
    for e in exposures:
        unknown = [m for m in e.marts if m not in widgets_by_mart]
        if unknown:
            found.append(f"{e.name} reads marts without a widget meta: {unknown}")
        elif e.label != widgets_by_mart[e.marts[0]].name:
            found.append(f"{e.name}: label {e.label!r} != meta {widgets_by_mart[e.marts[0]].name!r}")
    own = [e.marts[0] for e in exposures]
    if own != [c.mart for c in cards]:
        found.append(f"exposures' own marts {own} != the catalog's cards {[c.mart for c in cards]}")
    for e, card in zip(exposures, cards, strict=False):
        if (catalog.SUMMARY in e.marts) != bool(card.headline):
            found.append(
                f"{e.name} reads {catalog.SUMMARY}: {catalog.SUMMARY in e.marts}; "
                f"card {card.key} has headline numbers: {bool(card.headline)}"
            )
    return found


def test_exposures_and_catalog_agree_with_the_marts_meta():
    assert problems(read_exposures(), WIDGETS_BY_MART, catalog.WIDGETS) == []


def test_a_drifted_exposure_or_card_is_reported():
    exposures = read_exposures()
    renamed = (Exposure(exposures[0].name, "Solutions", exposures[0].marts), *exposures[1:])
    assert problems(renamed, WIDGETS_BY_MART, catalog.WIDGETS) == [
        "widget_solutions_outlook: label 'Solutions' != meta 'Solutions outlook'"
    ]
    no_summary = tuple(
        Exposure(e.name, e.label, tuple(m for m in e.marts if m != catalog.SUMMARY))
        for e in exposures
    )
    # the four cards with headline numbers: referrals, co-sell, leads, revenue
    assert len(problems(no_summary, WIDGETS_BY_MART, catalog.WIDGETS)) == 4
    assert problems(exposures, WIDGETS_BY_MART, catalog.WIDGETS[::-1]) != []
    stray = (*exposures, Exposure("widget_x", "X", ("mart_nowhere",)))
    assert "widget_x reads marts without a widget meta: ['mart_nowhere']" in problems(
        stray, WIDGETS_BY_MART, catalog.WIDGETS
    )


def test_the_page_shows_nine_widgets_titled_by_their_meta():
    # marts.md's page: nine widgets; the headline summary and the QRP history have no card
    assert len(catalog.WIDGETS) == len({c.key for c in catalog.WIDGETS}) == 9
    assert {w.mart for w in WIDGETS} - {c.mart for c in catalog.WIDGETS} == {
        "mart_overview_summary",
        "mart_qrp_kpi_history",
    }
    cards = {c.key: c for c in catalog.WIDGETS}
    assert cards["cosell"].title == "Co-sell opportunities"
    assert cards["qrp"].title == "QRP performance"
    assert [c.title for c in catalog.WIDGETS] == [e.label for e in read_exposures()]


def test_the_meta_lists_the_widgets_in_the_page_order():
    # status, alerts and the refresh summary list widgets in the meta's order
    cards = [c.mart for c in catalog.WIDGETS]
    assert [w.mart for w in WIDGETS if w.mart in cards] == cards


def test_headline_metrics_are_shown_once():
    shown = [m.metric for c in catalog.WIDGETS for m in c.headline]
    assert len(shown) == len(set(shown)) == 17
