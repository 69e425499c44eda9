"""Publishing for BI tools: whole-version swaps, last good version for failed marts, pruning, and
the serving database's readability by DuckDB 1.x clients."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from orchestration.serving import publisher

pytestmark = pytest.mark.e2e


def _warehouse(tmp_path: Path, a_rows: int, b_rows: int) -> tuple[Path, duckdb.DuckDBPyConnection]:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.a as select range as n from range(?)", [a_rows])
    con.execute(
        "create or replace table marts.b as select range as n, 'x' as s from range(?)", [b_rows]
    )
    return path, con


def _served(path: Path) -> dict:
    with duckdb.connect(str(path), read_only=True) as con:
        states = {
            m: (s, n)
            for m, s, n in con.execute(
                "select mart, state, row_count from publish.published_marts"
            ).fetchall()
        }
        tables = {
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        }
        counts = {
            t: con.execute(f"select count(*) from marts.{t}").fetchall()[0][0] for t in tables
        }
    return {"states": states, "counts": counts}


def test_publish_swaps_versions_and_keeps_last_good_for_failed_marts(tmp_path):
    wh, con = _warehouse(tmp_path, 1, 2)
    first = publisher.publish(con, wh, ["a", "b"], failed=set(), version="v1")
    link = tmp_path / "marts"
    assert link.is_symlink() and link.resolve() == first.directory
    assert duckdb.sql(f"select count(*) from '{link}/b.parquet'").fetchall() == [(2,)]
    assert _served(tmp_path / "serving.duckdb")["counts"] == {"a": 1, "b": 2}

    # b now fails validation: the new version carries a's new data and b's previous file
    _warehouse(tmp_path, 3, 5)
    second = publisher.publish(con, wh, ["a", "b"], failed={"b"}, version="v2")
    served = _served(tmp_path / "serving.duckdb")
    assert served["counts"] == {"a": 3, "b": 2}
    assert served["states"] == {"a": ("published", 3), "b": ("kept_previous", 2)}
    by_mart = {m.mart: m for m in second.marts}
    assert by_mart["b"].data_refreshed_at == {m.mart: m for m in first.marts}["b"].data_refreshed_at
    manifest = json.loads((link / "_manifest.json").read_text())
    assert manifest["version"] == "v2" and link.resolve().name == "v2"


def test_a_failed_mart_never_published_before_is_left_out(tmp_path):
    wh, con = _warehouse(tmp_path, 1, 2)
    result = publisher.publish(con, wh, ["a", "b"], failed={"b"}, version="v1")
    assert [(m.mart, m.state) for m in result.marts] == [("a", "published"), ("b", "not_published")]
    assert not (tmp_path / "marts" / "b.parquet").exists()
    assert _served(tmp_path / "serving.duckdb")["counts"] == {"a": 1}


def test_old_versions_are_pruned_and_leftovers_of_a_killed_publish_removed(tmp_path):
    wh, con = _warehouse(tmp_path, 1, 1)
    (tmp_path / ".published").mkdir()
    (tmp_path / ".published" / "v0.tmp").mkdir()  # a publish killed before its swap
    (tmp_path / ".serving.duckdb.v0.tmp").write_text("half")
    for n in range(1, 6):
        publisher.publish(con, wh, ["a", "b"], failed=set(), version=f"v{n}")
    assert sorted(p.name for p in (tmp_path / ".published").iterdir()) == ["v3", "v4", "v5"]
    assert not (tmp_path / ".serving.duckdb.v0.tmp").exists()
    assert (tmp_path / "marts").resolve().name == "v5"


@pytest.fixture(scope="session")
def duckdb_1x(tmp_path_factory) -> Path:
    """DuckDB 1.1, the kind of client library many BI drivers bundle, in a folder of its own."""
    target = tmp_path_factory.mktemp("duckdb1x")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            "duckdb==1.1.3",
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def test_serving_db_opens_with_a_duckdb_1x_client(tmp_path, duckdb_1x):
    wh, con = _warehouse(tmp_path, 4, 2)
    publisher.publish(con, wh, ["a", "b"], failed=set(), version="v1")
    script = (
        "import duckdb, sys; assert duckdb.__version__.startswith('1.'), duckdb.__version__;"
        "c = duckdb.connect(sys.argv[1], read_only=True);"
        "print(c.execute('select count(*) from marts.a').fetchall()[0][0],"
        " c.execute(\"select state from publish.published_marts where mart = 'b'\").fetchall()[0][0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "serving.duckdb")],
        env=os.environ | {"PYTHONPATH": str(duckdb_1x)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["4", "published"]


def test_per_organization_serving_db_opens_with_a_duckdb_1x_client(tmp_path, duckdb_1x):
    """16 KB blocks (orchestration/serving/by_organization.py) in the v1.0.0 format: DuckDB 1.1
    reads them."""
    wh = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema marts")
    con.execute(
        "create table marts.m as select 'org-' || (i % 2) as organization_id, i from range(5) t(i)"
    )
    publisher.publish(con, wh, ["m"], failed=set(), version="v1")
    script = (
        "import duckdb, sys; assert duckdb.__version__.startswith('1.'), duckdb.__version__;"
        "c = duckdb.connect(sys.argv[1], read_only=True);"
        "print(c.execute('select count(*), min(organization_id) from marts.m').fetchall()[0])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "serving" / "by_organization" / "org-1.duckdb")],
        env=os.environ | {"PYTHONPATH": str(duckdb_1x)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "(2, 'org-1')"  # i = 1, 3


# SQLAlchemy clients (Superset, notebooks) reach DuckDB through duckdb-engine. With SQLAlchemy 2.1
# its column reflection fails (it queries pg_catalog.pg_collation, which DuckDB lacks); the 2.0
# line works. The `bi` extra pins the pair tested here.
BI_PINS = ("duckdb-engine==0.17.0", "sqlalchemy==2.0.54")


@pytest.fixture(scope="session")
def sqlalchemy_client(tmp_path_factory) -> Path:
    target = tmp_path_factory.mktemp("bi")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), *BI_PINS],
        check=True, capture_output=True, timeout=300,
    )
    return target


def test_pinned_bi_extra_matches_the_tested_pins():
    import tomllib

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert tuple(project["project"]["optional-dependencies"]["bi"]) == BI_PINS


def test_sqlalchemy_clients_list_and_query_the_serving_db(tmp_path, sqlalchemy_client):
    wh, con = _warehouse(tmp_path, 4, 2)
    publisher.publish(con, wh, ["a", "b"], failed=set(), version="v1")
    script = """
import sys, sqlalchemy as sa
engine = sa.create_engine("duckdb:///" + sys.argv[1], connect_args={"read_only": True})
inspector = sa.inspect(engine)
schemas = inspector.get_schema_names()
tables = inspector.get_table_names(schema="serving.marts")
columns = [c["name"] for c in inspector.get_columns("b", schema="serving.marts")]
with engine.connect() as c:
    rows = c.execute(sa.text("select count(*) from marts.a")).scalar()
print(sa.__version__, "serving.marts" in schemas, ",".join(tables), ",".join(columns), rows)
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "serving.duckdb")],
        env=os.environ | {"PYTHONPATH": str(sqlalchemy_client)}, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["2.0.54", "True", "a,b", "n,s", "4"]
