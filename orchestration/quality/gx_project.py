"""The Great Expectations project in `expectations/` and the context a refresh validates with.

`expectations/` is a file-backed GX 1.x project (great_expectations.yml, one suite per widget
mart in expectations/<mart>.json). A refresh never writes there: it loads the suite files into an
ephemeral context whose validation results stay in memory and whose Data Docs site is a folder
under the warehouse directory. An ephemeral context has no data context id, so the Data Docs
pages carry none either (GX's templates add it to their logo URL).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

from orchestration import settings

SUITES_DIR = settings.EXPECTATIONS_DIR / "expectations"
DATA_DOCS_SITE = "warehouse_site"
# Data Docs are built to <warehouse dir>/data_docs/ on every refresh.
DATA_DOCS_DIR = "data_docs"


def _quiet_gx() -> None:
    # No usage statistics (GX reads the variable when a context is created; the context config
    # below also says so).
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # GX imports PySpark when it is installed (dbt-spark brings it), which warns about pandas 3
    # on every import; GX validates pandas batches here, never Spark ones.
    warnings.filterwarnings(
        "ignore", message="PySpark does not yet fully support pandas", category=FutureWarning
    )


def suite_path(mart: str) -> Path:
    return SUITES_DIR / f"{mart}.json"


def load_suite(mart: str):
    """The committed suite of a mart, as GX's ExpectationSuite."""
    _quiet_gx()
    import great_expectations as gx

    return gx.ExpectationSuite(**json.loads(suite_path(mart).read_text()))


def _in_memory(store_class: str) -> dict:
    return {"class_name": store_class, "store_backend": {"class_name": "InMemoryStoreBackend"}}


def runtime_context(data_docs_dir: Path | None):
    """An ephemeral GX context: in-memory stores, no progress bars or analytics, and (when
    `data_docs_dir` is given) one local Data Docs site in that folder."""
    _quiet_gx()
    import great_expectations as gx

    sites = {}
    if data_docs_dir is not None:
        sites[DATA_DOCS_SITE] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    return gx.get_context(
        mode="ephemeral",
        project_config={
            "config_version": 4,
            "analytics_enabled": False,
            "progress_bars": {"globally": False, "metric_calculations": False},
            "stores": {
                "expectations_store": _in_memory("ExpectationsStore"),
                "validation_results_store": _in_memory("ValidationResultsStore"),
                "checkpoint_store": _in_memory("CheckpointStore"),
                "validation_definition_store": _in_memory("ValidationDefinitionStore"),
            },
            "expectations_store_name": "expectations_store",
            "validation_results_store_name": "validation_results_store",
            "checkpoint_store_name": "checkpoint_store",
            "data_docs_sites": sites,
        },
    )
