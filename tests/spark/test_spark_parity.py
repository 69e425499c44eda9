"""The same dbt project on Spark and on DuckDB gives the same marts, row for row (issue 7).

`make test-spark` (marker `spark`, left out of the default `make test` run). The bundled sample
(data/sample) is ingested into a scratch DuckDB warehouse in two halves, by snapshot date; after
each half the raw tables are exported as Parquet and dbt builds the project on DuckDB (target
`duckdb`, raw tables in the DuckDB file) and on a local PySpark session (target `spark`, raw layer
read from the Parquet export, ANSI mode on). The second half is an incremental build on both
engines: delete+insert on DuckDB, insert_overwrite of the new partitions on Spark. The data tests
run on both engines, the dbt unit tests on Spark too, and then every mart is compared: same
columns, same rows (floats to 1e-9 relative, NULLs equal, dates and timestamps normalised).

dbt runs in a host time zone far from UTC (Pacific/Auckland): every date must come from the UTC
session settings, not from the machine.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from orchestration import settings
from orchestration.ingestion import landing, loader
from orchestration.spark import marts as spark_marts
from orchestration.spark import parquet_export
from tests.spark.mart_parity import Table, compare

pytestmark = pytest.mark.spark

ROOT = settings.PROJECT_ROOT
SAMPLE = ROOT / "data" / "sample"
HOST_TZ = "Pacific/Auckland"  # UTC+12/13: a date taken from the host clock would shift
DUCKDB_TO_SPARK_TYPES = {
    "VARCHAR": "string",
    "BIGINT": "bigint",
    "INTEGER": "int",
    "DOUBLE": "double",
    "DATE": "date",
    "TIMESTAMP": "timestamp",
    "BOOLEAN": "boolean",
}


class Workspace:
    def __init__(self, root: Path):
        self.root = root
        self.warehouse = root / "warehouse" / "referral_insights.duckdb"
        self.raw_parquet = root / "warehouse" / "raw_parquet"
        self.spark_dir = root / "warehouse" / "spark"
        self.timings: dict[str, float] = {}
        self.logs: dict[str, str] = {}
        self.warehouse.parent.mkdir(parents=True)

    def env(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("REFERRAL_INSIGHTS_") and k != "DBT_PROFILES_DIR"
        }
        return env | {
            settings.WAREHOUSE_ENV: str(self.warehouse),
            settings.RAW_PARQUET_DIR_ENV: str(self.raw_parquet),
            "REFERRAL_INSIGHTS_SPARK_DIR": str(self.spark_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "TZ": HOST_TZ,
        }

    def dbt(self, step: str, target: str, *args: str) -> subprocess.CompletedProcess:
        started = time.monotonic()
        result = subprocess.run(
            [
                sys.executable, "-m", "orchestration.dbt_cli", *args,
                "--target", target,
                "--project-dir", str(settings.DBT_PROJECT_DIR),
                "--profiles-dir", str(settings.DBT_PROJECT_DIR),
                "--target-path", str(self.root / f"target-{target}"),
                "--log-path", str(self.root / f"logs-{target}"),
            ],
            env=self.env(), capture_output=True, text=True, timeout=1200,
        )  # fmt: skip
        self.timings[step] = time.monotonic() - started
        self.logs[step] = result.stdout + result.stderr
        assert result.returncode == 0, f"dbt {step} failed:\n{self.logs[step][-8000:]}"
        return result


def _ingest(ws: Workspace, files: list) -> list[str]:
    """Load files into the DuckDB warehouse and export the raw layer; returns the pending
    full-refresh requests (cleared, as the Dagster dbt asset does after a build)."""
    started = time.monotonic()
    with duckdb.connect(str(ws.warehouse)) as con:
        results = loader.load_files(con, files)
        assert all(r.status == "loaded" for r in results), [r for r in results if r.error]
        pending = [
            r[0] for r in con.execute("select file_name from raw.full_refresh_requests").fetchall()
        ]
        con.execute("delete from raw.full_refresh_requests")
        parquet_export.export_raw_tables(con, str(ws.raw_parquet))
    ws.timings[f"ingest+export {len(files)} files"] = time.monotonic() - started
    return pending


@pytest.fixture(scope="module")
def builds(tmp_path_factory) -> Workspace:
    if shutil.which("java") is None:
        pytest.fail("Spark needs Java 17 on PATH (apt-get install openjdk-17-jre-headless)")
    try:
        import dbt.adapters.spark  # noqa: F401
        import pyspark  # noqa: F401
    except ImportError as exc:
        pytest.fail(f"install the spark extra (make test-spark does): {exc}")

    ws = Workspace(tmp_path_factory.mktemp("spark_parity"))
    files = sorted(landing.discover(SAMPLE).files, key=lambda f: (f.snapshot_date, f.file_name))
    dates = sorted({f.snapshot_date for f in files})
    cutoff = dates[len(dates) // 2]
    halves = [
        [f for f in files if f.snapshot_date < cutoff],
        [f for f in files if f.snapshot_date >= cutoff],
    ]
    assert all(halves)
    for phase, half in enumerate(halves, start=1):
        pending = _ingest(ws, half)
        flags = ["--full-refresh"] if pending else []
        # first half: models and seeds; second half (incremental): everything, data and unit
        # tests included (one Spark process per half: each start costs a JVM and a metastore)
        excluded = ["--exclude-resource-type", "unit_test", "test"] if phase == 1 else []
        for target in ("duckdb", "spark"):
            ws.dbt(f"{target} build {phase}", target, "build", *excluded, *flags)
    return ws


def _mart_names(ws: Workspace) -> list[str]:
    manifest = json.loads((ws.root / "target-duckdb" / "manifest.json").read_text())
    names = [
        node["alias"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    ]
    assert len(names) >= 10, names
    return sorted(names)


@pytest.fixture(scope="module")
def spark_tables(builds: Workspace):
    """Read the Spark build through its own catalog, after every dbt process has ended (the
    embedded Derby metastore admits one JVM at a time)."""
    import time as _time

    os.environ["TZ"] = "UTC"  # PySpark hands timestamps to Python in the process's time zone
    _time.tzset()
    from pyspark.sql import SparkSession

    spark_dir = builds.spark_dir
    session = (
        SparkSession.builder.master("local[2]")
        .appName("referral-insights-parity")
        .config("spark.sql.warehouse.dir", f"{spark_dir}/warehouse")
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            "jdbc:derby:;databaseName=metastore_db;create=false",
        )
        .config(
            "spark.driver.extraJavaOptions",
            f"-XX:TieredStopAtLevel=1 -XX:ReservedCodeCacheSize=256m -XX:+UseSerialGC -Dderby.system.home={spark_dir}",
        )
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.log.structuredLogging.enabled", "false")
        .enableHiveSupport()
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _type_problems(con, session, schema: str, name: str) -> list[str]:
    """Column types must correspond too (the row comparison sees Python values, in which an INT
    and a BIGINT, or a HUGEINT and a BIGINT, look alike)."""
    duck = {
        column: DUCKDB_TO_SPARK_TYPES.get(data_type, data_type.lower())
        for column, data_type in con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    spark = {f.name: f.dataType.simpleString() for f in session.table(f"{schema}.{name}").schema}
    return [
        f"{schema}.{name}.{column}: {duck[column]} in duckdb, {spark[column]} in spark"
        for column in duck
        if column in spark and duck[column] != spark[column]
    ]


def _duckdb_table(con, schema: str, name: str) -> Table:
    relation = con.sql(f'select * from "{schema}"."{name}"')
    return Table(list(relation.columns), relation.fetchall())


def _spark_table(session, schema: str, name: str) -> Table:
    frame = session.table(f"{schema}.{name}")
    return Table(list(frame.columns), [tuple(row) for row in frame.collect()])


def test_every_mart_matches_duckdb_row_for_row(builds, spark_tables):
    problems: list[str] = []
    column_order_notes: list[str] = []
    counts = {}
    with duckdb.connect(str(builds.warehouse), read_only=True) as con:
        for mart in _mart_names(builds):
            left = _duckdb_table(con, "marts", mart)
            right = _spark_table(spark_tables, "marts", mart)
            counts[mart] = len(left.rows)
            problems += _type_problems(con, spark_tables, "marts", mart)
            problems += compare(mart, left, right)
            if left.columns != right.columns and set(left.columns) == set(right.columns):
                column_order_notes.append(f"{mart}: {right.columns}")
    assert not problems, "marts differ between DuckDB and Spark:\n" + "\n".join(problems)
    # a comparison of empty marts proves nothing: the sample fills every mart
    assert all(counts.values()), counts
    # Spark keeps partition columns last; only the incremental, partitioned mart may differ
    assert len(column_order_notes) <= 1, column_order_notes


def test_intermediate_models_match_duckdb(builds, spark_tables):
    """The shared logic too (versions, history, events): a divergence shows up here first."""
    problems: list[str] = []
    with duckdb.connect(str(builds.warehouse), read_only=True) as con:
        names = [
            n
            for (n,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'intermediate' and table_type = 'BASE TABLE' order by 1"
            ).fetchall()
        ]
        assert names
        for name in names:
            problems += _type_problems(con, spark_tables, "intermediate", name)
            problems += compare(
                name,
                _duckdb_table(con, "intermediate", name),
                _spark_table(spark_tables, "intermediate", name),
            )
    assert not problems, "intermediate models differ:\n" + "\n".join(problems)


def test_spark_reads_the_raw_layer_duckdb_wrote(builds, spark_tables):
    """The Spark DDL of the raw tables (macros/raw_sources.sql) matches the DuckDB tables
    (orchestration/ingestion/schema.py), and the Parquet export holds every row."""
    problems = []
    with duckdb.connect(str(builds.warehouse), read_only=True) as con:
        for table in (*parquet_export.PARTITIONED_TABLES, *parquet_export.WHOLE_TABLES):
            expected = {
                name: DUCKDB_TO_SPARK_TYPES[data_type]
                for name, data_type in con.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ?",
                    [table],
                ).fetchall()
            }
            schema = spark_tables.table(f"raw.{table}").schema
            actual = {field.name: field.dataType.simpleString() for field in schema.fields}
            if actual != expected:
                problems.append(f"raw.{table}: spark {actual} != duckdb {expected}")
            (duck_count,) = con.execute(f"select count(*) from raw.{table}").fetchone()
            spark_count = spark_tables.table(f"raw.{table}").count()
            if duck_count != spark_count:
                problems.append(f"raw.{table}: {duck_count} rows in DuckDB, {spark_count} in Spark")
    assert not problems, "\n".join(problems)


def test_spark_build_used_ansi_mode_utc_and_insert_overwrite(builds, spark_tables):
    log = builds.logs["spark build 2"]
    assert "spark.sql.ansi.enabled=true" in log, (
        "ANSI mode was off: run dbt via orchestration.dbt_cli"
    )
    assert "timeZone=UTC" in log
    compiled = builds.root / "target-spark" / "run" / "referral_insights" / "models"
    versions_sql = (compiled / "intermediate" / "int_referral_versions.sql").read_text().lower()
    assert "insert overwrite table" in versions_sql, "second build was not incremental on Spark"
    partitions = spark_tables.sql("show partitions intermediate.int_referral_versions").count()
    assert partitions > 1


def test_spark_tables_land_in_duckdb_as_built_there(builds, tmp_path):
    """What Dagster does after a local Spark build (orchestration/spark/marts.py): the Spark
    intermediate and mart tables, copied into a DuckDB file, have the DuckDB build's columns,
    column order, types and rows."""
    columns = spark_marts.declared_columns(builds.root / "target-duckdb" / "manifest.json")
    landed_path = tmp_path / "landed.duckdb"
    with duckdb.connect(str(landed_path)) as con:
        counts = spark_marts.land_tables(con, columns, root=builds.spark_dir)
    marts = {name for schema, name in counts if schema == "marts"}
    assert marts == set(_mart_names(builds)) and all(counts.values()), counts
    problems = []
    with (
        duckdb.connect(str(builds.warehouse), read_only=True) as built,
        duckdb.connect(str(landed_path), read_only=True) as landed,
    ):
        # the quality batches: test_quality_batches_land_in_duckdb_as_duckdb_computes_them
        for schema, name in [key for key in counts if key[0] != spark_marts.QUALITY_SCHEMA]:
            query = f'select * from "{schema}"."{name}"'
            expected, actual = built.sql(query), landed.sql(query)
            if (expected.columns, expected.types) != (actual.columns, actual.types):
                problems.append(f"{schema}.{name}: {actual.columns} {actual.types}")
            problems += compare(
                name,
                Table(expected.columns, expected.fetchall()),
                Table(actual.columns, actual.fetchall()),
                right_label="spark, landed in duckdb",
            )
    assert not problems, "\n".join(problems)


def test_quality_batches_land_in_duckdb_as_duckdb_computes_them(builds, tmp_path):
    """The GX batches (dbt_project/models/quality/): tables on Spark, landed in DuckDB for the
    validation step, hold what the DuckDB build's views compute, column for column. Two known
    differences: DuckDB's window sum `country_rows_received` is a HUGEINT (a BIGINT on Spark),
    and `difference_from_daily_marts` is a difference of double sums, ~0 on both sides, whose
    rounding dust depends on the order of addition: it is checked against the suite's bound."""
    columns = spark_marts.declared_columns(builds.root / "target-duckdb" / "manifest.json")
    quality = {k: v for k, v in columns.items() if k[0] == spark_marts.QUALITY_SCHEMA}
    landed_path = tmp_path / "landed.duckdb"
    with duckdb.connect(str(landed_path)) as con:
        counts = spark_marts.land_tables(con, quality, root=builds.spark_dir)
    assert {name for _, name in counts} >= {"qa_landed_data", "qa_overview_summary"}
    assert len(counts) == 13 and all(counts.values()), counts
    problems = []
    with (
        duckdb.connect(str(builds.warehouse), read_only=True) as built,
        duckdb.connect(str(landed_path), read_only=True) as landed,
    ):
        for schema, name in counts:
            query = f'select * from "{schema}"."{name}"'
            expected, actual = built.sql(query), landed.sql(query)
            types = [
                (c, str(e), str(a))
                for c, e, a in zip(expected.columns, expected.types, actual.types, strict=False)
                if str(e) != str(a)
            ]
            if expected.columns != actual.columns or any(
                t != ("country_rows_received", "HUGEINT", "BIGINT") for t in types
            ):
                problems.append(f"{schema}.{name}: {actual.columns} {types}")
            kept = [c for c in expected.columns if c != "difference_from_daily_marts"]
            select = f"select {', '.join(kept)} from \"{schema}\".\"{name}\""
            problems += compare(
                name,
                Table(kept, built.sql(select).fetchall()),
                Table(kept, landed.sql(select).fetchall()),
                right_label="spark, landed in duckdb",
            )
            if "difference_from_daily_marts" in expected.columns:
                for side in (built, landed):
                    ((worst,),) = side.execute(
                        f"select max(abs(difference_from_daily_marts)) from {schema}.{name}"
                    ).fetchall()
                    assert worst is not None and worst < 0.005, worst
    assert not problems, "\n".join(problems)


def test_unit_and_data_tests_passed_on_spark(builds):
    results = json.loads((builds.root / "target-spark" / "run_results.json").read_text())["results"]
    by_type: dict[str, list[str]] = {}
    for result in results:
        by_type.setdefault(result["unique_id"].split(".")[0], []).append(result["status"])
    assert len(by_type.get("unit_test", [])) >= 30, "expected the full dbt unit-test suite on Spark"
    assert len(by_type.get("test", [])) >= 100, "expected the data tests on Spark"
    failed = [r["unique_id"] for r in results if r["status"] not in ("pass", "success", "no-op")]
    assert not failed, failed


def test_report_timings(builds, capsys):
    with capsys.disabled():
        total = sum(builds.timings.values())
        print(
            "\nspark parity timings (s): "
            + ", ".join(f"{k} {v:.0f}" for k, v in builds.timings.items())
            + f"; total {total:.0f}"
        )
