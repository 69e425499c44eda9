"""Validation runner: every widget mart's batch against its GX suite, once per refresh.

Phases, so that no DuckDB connection is open while GX works: read the landed-data facts and every
batch from the dbt models of schema `quality` (one connection), validate each batch with its suite (no connection), build Data Docs,
then write marts.mart_widget_refresh and quality.gx_validation_results (one connection, one
transaction; see widget_refresh.py). A widget whose batch cannot be read or whose validation
raises is `failed` with the reason; the other widgets are validated as usual.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

import duckdb
import pandas as pd

from orchestration.ingestion.schema import ensure_raw_schema
from orchestration.quality import gx_project
from orchestration.quality.batches import LandedData, read_batch, read_landed_data
from orchestration.quality.gx_project import DATA_DOCS_DIR
from orchestration.quality.widgets import WIDGETS, Widget

# GX severities → the levels of marts.md's data-refresh details.
LEVELS = {"critical": "error", "warning": "warning", "info": "info"}
# Every suite runs in GX's BASIC format (observed values, unexpected counts and values); only the
# expectations that failed run again in SUMMARY format, which lists up to 20 unexpected rows by
# their key columns. SUMMARY for all ~400 expectations cost ~1 s more per refresh (3.6 against
# 2.6 s at 1M), spent on the passing ones.
RESULT_FORMAT = "BASIC"
SAMPLE_RESULT_FORMAT = "SUMMARY"

Connect = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]


@dataclass(frozen=True)
class FailedExpectation:
    expectation_type: str
    arguments: str
    """Column(s), bounds or set, and row condition: e.g. `accept_rate_pct, 0..100`."""
    level: str  # error | warning | info
    unexpected: str
    """How it failed: `1 of 259 rows` or `observed 0`."""
    notes: str | None = None
    sample: list = field(default_factory=list)
    """Up to 20 unexpected rows by their key columns."""

    def describe(self) -> str:
        return f"{self.expectation_type}({self.arguments}) [{self.level}: {self.unexpected}]"

    def to_dict(self) -> dict:
        return {
            "expectation_type": self.expectation_type,
            "arguments": self.arguments,
            "level": self.level,
            "unexpected": self.unexpected,
            "description": self.describe(),
            "sample": self.sample,
        }


@dataclass
class SuiteResult:
    widget: Widget
    quarantined_records: int
    feeding_files_failed: int
    row_count: int | None = None
    statistics: dict = field(default_factory=dict)
    failed: list[FailedExpectation] = field(default_factory=list)
    error: str | None = None
    """Why the suite could not be evaluated (batch unreadable, validation raised)."""
    result_json: dict | None = None
    data_docs_page: Path | None = None

    @property
    def evaluated(self) -> int:
        return int(self.statistics.get("evaluated_expectations", 0))

    @property
    def status(self) -> str:
        """marts.md: `failed` when an error-level expectation failed (or the suite could not
        run); `warning` when only warn-level ones did, records of a feeding source were
        quarantined or a feeding file could not be read; else `ok`."""
        levels = {f.level for f in self.failed}
        if self.error or "error" in levels:
            return "failed"
        if "warning" in levels or self.quarantined_records or self.feeding_files_failed:
            return "warning"
        return "ok"

    @property
    def failed_expectations(self) -> str:
        """Person-readable, `; `-separated, errors first; '' when none failed."""
        if self.error:
            return f"validation could not run: {self.error}"
        ordered = sorted(self.failed, key=lambda f: f.level != "error")
        return "; ".join(f.describe() for f in ordered)


@dataclass
class ValidationRun:
    refreshed_at: dt.datetime  # naive UTC, like every timestamp of the warehouse
    run_name: str
    landed: LandedData
    results: list[SuiteResult]
    data_docs_index: Path | None
    seconds: dict[str, float] = field(default_factory=dict)
    data_docs_error: str | None = None
    """Why Data Docs could not be built (the statuses are written all the same)."""


def validate_marts(
    connect: Connect,
    warehouse_path: Path,
    *,
    max_staleness_days: int,
    run_name: str = "refresh",
    widgets: Sequence[Widget] = WIDGETS,
    build_docs: bool = True,
) -> ValidationRun:
    """Validate every widget mart and build Data Docs (nothing is written to the warehouse;
    see widget_refresh.write_validation_run)."""
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    refreshed_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)

    batches: dict[str, pd.DataFrame] = {}
    results: dict[str, SuiteResult] = {}
    with connect() as con:
        ensure_raw_schema(con)
        try:
            landed, landed_error = read_landed_data(con), None
        except duckdb.Error as exc:  # e.g. dbt never built the quality models
            landed = LandedData(None, {}, {}, {}, 0, 0)
            landed_error = f"landed-data facts not readable: {_one_line(exc)}"
        for widget in widgets:
            results[widget.mart] = SuiteResult(
                widget,
                quarantined_records=landed.quarantined_records(widget),
                feeding_files_failed=landed.feeding_files_failed(widget),
            )
            if landed_error:
                results[widget.mart].error = landed_error
                continue
            try:
                batches[widget.mart] = read_batch(con, widget)
                results[widget.mart].row_count = len(batches[widget.mart])
            except duckdb.Error as exc:
                results[widget.mart].error = f"batch not readable: {_one_line(exc)}"
    seconds["read_batches"] = time.perf_counter() - started

    mark = time.perf_counter()
    docs_dir = Path(warehouse_path).resolve().parent / DATA_DOCS_DIR
    staging = docs_dir.with_name(f".{DATA_DOCS_DIR}.building") if build_docs else None
    if staging is not None and staging.exists():
        shutil.rmtree(staging)
    context = gx_project.runtime_context(staging)
    datasource = context.data_sources.add_pandas("warehouse_marts")
    run_id = _run_id(run_name, refreshed_at)
    identifiers = {}
    for widget in widgets:
        result = results[widget.mart]
        if result.error:
            continue
        try:
            identifiers[widget.mart] = _validate(
                context,
                datasource,
                widget,
                batches.pop(widget.mart),
                result,
                run_id,
                landed.expectation_parameters(widget, max_staleness_days),
            )
        except Exception as exc:  # one widget's crash must not stop the others
            result.error = f"{type(exc).__name__}: {_one_line(exc)}"
    seconds["validate"] = time.perf_counter() - mark

    index, docs_error = None, None
    if staging is not None:
        mark = time.perf_counter()
        try:
            index = _build_data_docs(context, staging, docs_dir, identifiers, results)
        except Exception as exc:  # the docs are a view of the results, not the results
            docs_error = f"{type(exc).__name__}: {_one_line(exc)}"
        seconds["data_docs"] = time.perf_counter() - mark
    seconds["total"] = time.perf_counter() - started
    return ValidationRun(
        refreshed_at,
        run_name,
        landed,
        [results[w.mart] for w in widgets],
        index,
        seconds,
        docs_error,
    )


def _run_id(run_name: str, run_time: dt.datetime):
    from great_expectations.core.run_identifier import RunIdentifier

    return RunIdentifier(run_name=run_name, run_time=run_time.replace(tzinfo=dt.UTC))


def _validate(context, datasource, widget, batch, result: SuiteResult, run_id, parameters):
    import great_expectations as gx

    suite = context.suites.add(gx_project.load_suite(widget.mart))
    known_keys = set(context.validation_results_store.list_keys())
    batch_definition = datasource.add_dataframe_asset(
        widget.mart
    ).add_batch_definition_whole_dataframe("refresh")
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(name=widget.mart, data=batch_definition, suite=suite)
    )
    outcome = definition.run(
        batch_parameters={"dataframe": batch},
        expectation_parameters=parameters,
        result_format={"result_format": RESULT_FORMAT},
        run_id=run_id,
    )
    result.statistics = dict(outcome.statistics)
    failures = [r for r in outcome.results if not r.success]
    samples = _unexpected_rows(batch_definition, batch, widget, failures, parameters)
    result.failed = [
        _failed(r, len(batch), samples.get(_expectation_key(r))) for r in failures
    ]
    result.result_json = outcome.to_json_dict()
    # The key GX stored the result under (its Data Docs page): the one key this run added.
    stored = set(context.validation_results_store.list_keys()) - known_keys
    return stored.pop() if len(stored) == 1 else None


def _expectation_key(validation_result) -> str:
    config = validation_result.expectation_config
    return json.dumps([config.type, config.kwargs], sort_keys=True, default=str)


def _unexpected_rows(batch_definition, batch, widget, failures, parameters) -> dict[str, list]:
    """The failed expectations' unexpected rows by the mart's key columns (up to 20 each), from
    a second, unstored run of just those expectations in SUMMARY format."""
    import great_expectations as gx

    rerun = [r.expectation_config for r in failures if "unexpected_count" in (r.result or {})]
    if not rerun:
        return {}
    suite = gx.ExpectationSuite(name=f"{widget.mart}_unexpected_rows")
    for config in rerun:
        suite.add_expectation_configuration(config)
    try:
        outcome = batch_definition.get_batch(batch_parameters={"dataframe": batch}).validate(
            suite,
            result_format={
                "result_format": SAMPLE_RESULT_FORMAT,
                "unexpected_index_column_names": list(widget.grain),
            },
            expectation_parameters=parameters,
        )
    except Exception:  # the rows are an illustration; the failure itself is already recorded
        return {}
    return {
        _expectation_key(r): _jsonable((r.result or {}).get("partial_unexpected_index_list") or [])
        for r in outcome.results
    }


def _failed(validation_result, row_count: int, sample: list | None = None) -> FailedExpectation:
    config = validation_result.expectation_config
    kwargs = config.kwargs
    details = validation_result.result or {}
    exception = validation_result.exception_info or {}
    if exception.get("raised_exception"):
        unexpected = "raised " + _one_line(exception.get("exception_message") or "an exception")
    elif "unexpected_count" in details:
        unexpected = (
            f"{details['unexpected_count']} of {details.get('element_count', row_count)} rows"
        )
    else:
        unexpected = f"observed {_short(details.get('observed_value'))}"
    severity = getattr(config.severity, "value", config.severity) or "critical"
    return FailedExpectation(
        expectation_type=config.type,
        arguments=_arguments(config.type, kwargs),
        level=LEVELS.get(str(severity), str(severity)),
        unexpected=unexpected,
        notes=config.notes if isinstance(config.notes, str) else None,
        sample=(sample or [])[:20],
    )


def _arguments(expectation_type: str, kwargs: dict) -> str:
    parts: list[str] = []
    column_a, column_b = kwargs.get("column_A"), kwargs.get("column_B")
    if column_a and column_b:
        if "value_pairs_set" in kwargs:
            parts.append(f"({column_a}, {column_b}) in {_values(kwargs['value_pairs_set'])}")
        elif "greater_than" in expectation_type:
            parts.append(f"{column_a} {'>=' if kwargs.get('or_equal') else '>'} {column_b}")
        else:
            parts.append(f"{column_a} = {column_b}")
    elif kwargs.get("column"):
        parts.append(str(kwargs["column"]))
    elif kwargs.get("column_list"):
        columns = list(kwargs["column_list"])
        parts.append(", ".join(columns) if len(columns) <= 6 else f"{len(columns)} columns")
    if "min_value" in kwargs or "max_value" in kwargs:
        parts.append(
            f"{_short(kwargs.get('min_value'), '')}..{_short(kwargs.get('max_value'), '')}"
        )
    if "value" in kwargs:
        parts.append(f"= {_short(kwargs['value'])}")
    if kwargs.get("type_"):
        parts.append(str(kwargs["type_"]))
    if kwargs.get("regex"):
        parts.append(str(kwargs["regex"]))
    if kwargs.get("value_set") is not None:
        parts.append(f"in {_values(kwargs['value_set'])}")
    if kwargs.get("row_condition"):
        parts.append(f"where {_condition(kwargs['row_condition'])}")
    return ", ".join(parts)


def _condition(condition) -> str:
    """GX 1.x row condition (object or its dict form) as text: `metric NOT IN (...) OR x > 0`."""
    if hasattr(condition, "dict"):
        condition = condition.dict()
    if not isinstance(condition, dict):
        return str(condition)
    kind = condition.get("type")
    if kind in ("and", "or"):
        joined = f" {kind.upper()} ".join(_condition(c) for c in condition.get("conditions", []))
        return f"({joined})"
    column = (condition.get("column") or {}).get("name", "?")
    if kind == "nullity":
        return f"{column} IS {'' if condition.get('is_null') else 'NOT '}NULL"
    parameter = condition.get("parameter")
    shown = (
        _values(parameter).replace("{", "(").replace("}", ")")
        if isinstance(parameter, list | tuple | set)
        else _short(parameter)
    )
    return f"{column} {str(condition.get('operator')).replace('_', ' ')} {shown}"


def _values(values) -> str:
    values = list(values)
    shown = ", ".join(_short(v) for v in values[:4])
    return "{" + shown + (", ..." if len(values) > 4 else "") + "}"


def _short(value, none: str = "None") -> str:
    if value is None:
        return none
    if isinstance(value, dict) and "$PARAMETER" in value:
        return "$" + str(value["$PARAMETER"])
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _one_line(value) -> str:
    return " ".join(str(value).split())[:300]


def _jsonable(value):
    return json.loads(json.dumps(value, default=str))


def _build_data_docs(context, staging: Path, docs_dir: Path, identifiers, results) -> Path:
    """GX's site builder into a staging folder, then swapped in for the previous site."""
    context.build_data_docs(site_names=[gx_project.DATA_DOCS_SITE])
    for mart, identifier in identifiers.items():
        if identifier is None:
            continue
        urls = context.get_docs_sites_urls(
            resource_identifier=identifier, site_name=gx_project.DATA_DOCS_SITE
        )
        if urls and urls[0].get("site_url"):
            page = Path(unquote(urlparse(urls[0]["site_url"]).path))
            results[mart].data_docs_page = docs_dir / page.relative_to(staging)
    previous = docs_dir.with_name(f".{DATA_DOCS_DIR}.previous")
    if previous.exists():
        shutil.rmtree(previous)
    if docs_dir.exists():
        docs_dir.rename(previous)
    staging.rename(docs_dir)
    shutil.rmtree(previous, ignore_errors=True)
    return docs_dir / "index.html"
