"""Per-organization publishing: each organization's Parquet folder and serving database hold only
its rows, hostile organization ids stay inside the folders, the index maps ids to folders, and
`dashboard --organization` reads only that organization's database."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import duckdb
import pytest

from dashboard.app import create_app
from orchestration.serving import by_organization, publisher
from tests.conftest import asgi_get

GUID = "59a6993a-957b-42fc-a296-f0bc49ca2299"
HOSTILE = [
    "../../escape",
    "a/b",
    "..",
    ".",
    "x" * 300,
    "tab\there\nnewline",
    "C:\\windows",
    "~tilde",
    "",
]


def _warehouse(folder: Path, orgs: list[str]) -> tuple[Path, duckdb.DuckDBPyConnection]:
    """Marts with organization_id for `orgs` (org i has i + 1 rows in mart_a, none in mart_b
    except the first org), a shared table and names."""
    path = folder / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.mart_a (organization_id varchar, n bigint)")
    con.execute("create or replace table marts.mart_b (organization_id varchar, v double)")
    con.execute("create or replace table marts.metricflow_time_spine as select date '2026-01-01' as date_day")
    con.execute(
        "create or replace table marts.dim_organizations "
        "(organization_id varchar, organization_name varchar, display_name varchar)"
    )
    for i, org in enumerate(orgs):
        con.executemany("insert into marts.mart_a values (?, ?)", [[org, k] for k in range(i + 1)])
        con.execute("insert into marts.dim_organizations values (?, ?, ?)", [org, f"Name {i}", f"Name {i}"])
    con.execute("insert into marts.mart_b values (?, 1.5)", [orgs[0]])
    return path, con


MARTS = ["mart_a", "mart_b", "metricflow_time_spine", "dim_organizations"]


def test_folder_names():
    assert by_organization.folder_name(GUID) == GUID  # Partner Center ids are kept as they are
    assert by_organization.folder_name("org-a") == "org-a"
    digest = hashlib.sha256(b"../../escape").hexdigest()[:16]
    assert by_organization.folder_name("../../escape") == f"escape~{digest}"
    names = [by_organization.folder_name(i) for i in HOSTILE]
    assert len(set(names)) == len(HOSTILE)
    for name in names:
        assert "/" not in name and "\\" not in name and name not in (".", "..")
        assert "~" in name and len(name) <= 40 + 1 + 16
        assert all(c.isalnum() or c in "-~" for c in name)


def test_each_organization_gets_only_its_rows(tmp_path):
    orgs = [GUID, "org-b", "../../escape", "a/b", "..", "x" * 300, "tab\there\nnewline", ""]
    wh, con = _warehouse(tmp_path, orgs)
    result = publisher.publish(con, wh, MARTS, failed=set(), version="v1")
    assert [o.organization_id for o in result.organizations] == sorted(orgs)

    index = json.loads((tmp_path / "marts" / "by_organization" / "_organizations.json").read_text())
    assert {e["organization_id"]: e["folder"] for e in index} == {
        o: by_organization.folder_name(o) for o in orgs
    }
    assert json.loads(
        (tmp_path / "serving" / "by_organization" / "_organizations.json").read_text()
    ) == index

    # nothing was written outside the version's two folders
    version = tmp_path / ".published" / "v1"
    for path in tmp_path.rglob("*"):
        rel = path.relative_to(tmp_path)
        assert rel.parts[0] in {"wh.duckdb", "wh.duckdb.wal", "serving.duckdb", "marts", "serving", ".published"}, rel
    assert {p.name for p in (version / "by_organization").iterdir()} == {
        "_organizations.json", *(by_organization.folder_name(o) for o in orgs)
    }

    for i, org in enumerate(orgs):
        folder = by_organization.parquet_dir(wh, org)
        assert folder.resolve().parent == (version / "by_organization").resolve()
        a = duckdb.sql(f"select organization_id, n from '{folder}/mart_a.parquet' order by n").fetchall()
        assert a == [(org, k) for k in range(i + 1)]
        b = duckdb.sql(f"select organization_id from '{folder}/mart_b.parquet'").fetchall()
        assert b == ([(org,)] if i == 0 else [])  # an empty file with the mart's columns
        assert duckdb.sql(f"describe select * from '{folder}/mart_b.parquet'").fetchall()[1][:2] == ("v", "DOUBLE")
        assert not (folder / "metricflow_time_spine.parquet").exists()  # not per organization

        db = by_organization.serving_db_path(wh, org)
        assert db.resolve().parent == (version / "serving_by_organization").resolve()
        with duckdb.connect(str(db), read_only=True) as org_con:
            seen = org_con.execute(
                "select distinct organization_id from marts.mart_a union "
                "select distinct organization_id from marts.mart_b union "
                "select distinct organization_id from marts.dim_organizations"
            ).fetchall()
            assert seen == [(org,)]
            assert org_con.execute("select count(*) from marts.mart_a").fetchone()[0] == i + 1
            assert org_con.execute("select count(*) from marts.metricflow_time_spine").fetchone()[0] == 1
            counts = dict(org_con.execute("select mart, row_count from publish.published_marts").fetchall())
            assert counts["mart_a"] == i + 1 and counts["mart_b"] == (1 if i == 0 else 0)


def test_failed_mart_keeps_its_last_good_rows_per_organization(tmp_path):
    wh, con = _warehouse(tmp_path, ["org-a", "org-b"])
    publisher.publish(con, wh, MARTS, failed=set(), version="v1")
    con.execute("insert into marts.mart_a values ('org-a', 99)")
    con.execute("insert into marts.mart_b values ('org-b', 7)")
    publisher.publish(con, wh, MARTS, failed={"mart_a"}, version="v2")
    org_a = by_organization.parquet_dir(wh, "org-a")
    assert org_a.resolve().parent.parent.name == "v2"
    # mart_a failed validation: its v1 rows stay; mart_b is new
    assert duckdb.sql(f"select n from '{org_a}/mart_a.parquet'").fetchall() == [(0,)]
    org_b_db = by_organization.serving_db_path(wh, "org-b")
    with duckdb.connect(str(org_b_db), read_only=True) as c:
        assert c.execute("select v from marts.mart_b").fetchall() == [(7.0,)]
        assert c.execute(
            "select state from publish.published_marts where mart = 'mart_a'"
        ).fetchone() == ("kept_previous",)


def _get(app, path: str = "/", query: str = "") -> tuple[int, str]:
    status, _, body = asgi_get(app, path, query)
    return status, body


@pytest.fixture
def two_orgs(tmp_path):
    orgs = ["org-a", "org-b"]
    wh, con = _warehouse(tmp_path, orgs)
    con.execute("create table marts.mart_overview_summary as select organization_id, "
                "date '2026-03-31' as as_of_date, '3M' as time_range, date '2026-01-01' as range_start, "
                "date '2026-03-31' as range_end, 'referrals_total' as metric, 7.0 as value "
                "from marts.dim_organizations")  # fmt: skip
    publisher.publish(con, wh, [*MARTS, "mart_overview_summary"], failed=set())
    con.close()
    return wh


def test_dashboard_for_one_organization_reads_only_its_database(two_orgs):
    everyone = create_app(two_orgs)
    status, html = _get(everyone)
    assert status == 200 and "org-a" in html and "org-b" in html
    assert '<option value="org-b" title="org-b" >Name 1</option>' in html  # names, id on hover

    one = create_app(two_orgs, organization="org-b")
    assert one.state.serving_db == by_organization.serving_db_path(two_orgs, "org-b")
    status, html = _get(one)
    assert status == 200 and "Name 1" in html
    assert "org-a" not in html and "Name 0" not in html
    status, html = _get(one, query="org=org-a")
    assert status == 404 and "Unknown organization" in html

    status, html = _get(create_app(two_orgs, organization="../../org-c"))
    assert status == 503 and "No published marts" in html


def test_serving_symlink_is_relative_and_swapped_with_the_version(two_orgs):
    link = two_orgs.parent / "serving" / "by_organization"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve().parent == (two_orgs.parent / "marts").resolve()


def test_database_selection_limits_the_duckdb_files_not_the_parquet(tmp_path):
    assert by_organization.database_selection(None) is None
    assert by_organization.database_selection(" All ") is None
    assert by_organization.database_selection("none") == frozenset()
    assert by_organization.database_selection("org-b, a/b ,") == {"org-b", "a/b"}
    wh, con = _warehouse(tmp_path, ["org-a", "org-b", "a/b"])
    publisher.publish(
        con, wh, MARTS, failed=set(), organization_databases=frozenset({"org-b", "a/b"})
    )
    served = tmp_path / "serving" / "by_organization"
    assert sorted(p.name for p in served.glob("*.duckdb")) == sorted(
        f"{by_organization.folder_name(o)}.duckdb" for o in ("org-b", "a/b")
    )
    assert [e["organization_id"] for e in json.loads((served / "_organizations.json").read_text())] == ["a/b", "org-b"]
    assert len(list((tmp_path / "marts" / "by_organization").glob("*/mart_a.parquet"))) == 3
