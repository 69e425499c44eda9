"""The dbt models of schema `quality` (dbt_project/models/quality/) against the GX suites they
feed: fast checks of the files, no dbt run (the values are covered by the dbt unit tests in
_quality__models.yml and by tests/test_quality.py)."""

from __future__ import annotations

import json

import yaml

from orchestration import settings
from orchestration.quality import batches, gx_project
from orchestration.quality.widgets import MARTS_YML, WIDGETS

QUALITY_DIR = settings.DBT_PROJECT_DIR / "models" / "quality"


def _models() -> dict[str, dict]:
    documented = yaml.safe_load((QUALITY_DIR / "_quality__models.yml").read_text())["models"]
    return {m["name"]: m for m in documented}


def _suite_columns(mart: str) -> list[str]:
    suite = json.loads(gx_project.suite_path(mart).read_text())
    (ordered,) = [
        e for e in suite["expectations"] if e["type"] == "expect_table_columns_to_match_ordered_list"
    ]
    return ordered["kwargs"]["column_list"]


def test_batch_model_names_follow_the_mart_names():
    names = {w.mart: batches.batch_model(w) for w in WIDGETS}
    assert names["mart_cosell_daily"] == "qa_cosell_daily"
    assert names["mart_qrp_kpi_history"] == "qa_qrp_kpi_history"
    assert len(set(names.values())) == len(WIDGETS) == 11


def test_one_documented_model_per_widget_with_the_suite_columns_in_order():
    models = _models()
    marts = {m["name"]: m for m in yaml.safe_load(MARTS_YML.read_text())["models"]}
    assert set(models) == {batches.batch_model(w) for w in WIDGETS} | {
        "qa_landed_files",
        batches.LANDED_DATA_MODEL,
    }
    for widget in WIDGETS:
        model = models[batches.batch_model(widget)]
        columns = [c["name"] for c in model["columns"]]
        assert columns == _suite_columns(widget.mart), widget.mart
        # the mart's own columns first, in mart order, then the prepared ones
        mart_columns = [c["name"] for c in marts[widget.mart]["columns"]]
        assert columns[: len(mart_columns)] == mart_columns, widget.mart
        assert columns[-3:] == [
            "warehouse_as_of_date",
            "feeding_snapshot_age_days",
            "feeding_files_failed",
        ]
        assert model["description"] and all(c["description"] for c in model["columns"])
        assert (QUALITY_DIR / f"{model['name']}.sql").is_file()


def test_batch_sql_reads_the_quality_model_in_grain_order():
    widget = next(w for w in WIDGETS if w.mart == "mart_overview_summary")
    assert batches.batch_sql(widget) == (
        "select * from quality.qa_overview_summary order by organization_id, time_range, metric"
    )


def test_no_batch_model_copies_the_feeding_sources():
    """Feeding sources come from the mart's meta (macro widget_feeding_sources), never a copy."""
    for path in QUALITY_DIR.glob("qa_*.sql"):
        text = path.read_text()
        assert "feeding_sources" not in text and "'marketplace_traffic'" not in text, path.name
