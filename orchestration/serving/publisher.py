"""Publish the marts for readers: Parquet files plus a small read-only DuckDB "serving" database.

BI tools never open the working warehouse (DuckDB lets no other process read while the refresh
writes). They read `<warehouse dir>/marts/<mart>.parquet` or `<warehouse dir>/serving.duckdb`,
which are swapped in whole:

- every publish writes a new version directory `.published/<version>/` and then repoints the
  `marts` symlink to it with one atomic rename, so a reader resolves either the previous complete
  set or the new one;
- the serving database is written to a temporary file and renamed over `serving.duckdb`; a reader
  with an open connection keeps reading the file it opened. It is self-contained (tables, not
  views over the Parquet files) and written in DuckDB's v1.0.0 storage format, which the DuckDB
  1.x libraries bundled in many BI drivers can open.

Every version also holds per-organization copies (by_organization.py): a Parquet folder and a
DuckDB file per organization, the latter reached through the `serving/by_organization` symlink.

A mart whose validation failed keeps its last good published version (copied from the previous
version), and `publish.published_marts` says so. The last KEEP_VERSIONS versions stay on disk so
that readers that resolved an older version keep working while they read.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from orchestration.faults import pause_point
from orchestration.serving import by_organization

SERVING_DB = "serving.duckdb"
PUBLISHED_LINK = "marts"
VERSIONS_DIR = ".published"
MANIFEST = "_manifest.json"
KEEP_VERSIONS = 3
# Oldest DuckDB release whose files the serving database must stay readable by.
STORAGE_COMPATIBILITY = "v1.0.0"


@dataclass(frozen=True)
class PublishedMart:
    mart: str
    state: str  # "published" | "kept_previous" | "not_published"
    data_refreshed_at: str | None  # when the data published for it was refreshed
    rows: int | None


@dataclass(frozen=True)
class PublishResult:
    version: str
    directory: Path
    serving_db: Path
    marts: list[PublishedMart]
    organizations: list[by_organization.Organization] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.marts:
            out[m.state] = out.get(m.state, 0) + 1
        return out


def published_dir(warehouse: Path) -> Path:
    return warehouse.parent / PUBLISHED_LINK


def serving_db_path(warehouse: Path) -> Path:
    return warehouse.parent / SERVING_DB


def _previous_manifest(link: Path) -> dict[str, dict]:
    manifest = link / MANIFEST
    if not manifest.exists():
        return {}
    return {
        m["mart"]: m | {"dir": str(link.resolve())}
        for m in json.loads(manifest.read_text())["marts"]
    }


def publish(
    warehouse_con: duckdb.DuckDBPyConnection,
    warehouse: Path,
    marts: list[str],
    failed: set[str],
    version: str | None = None,
    schema: str = "marts",
    organization_databases: frozenset[str] | None = None,
) -> PublishResult:
    """Publish `marts` (tables of `schema`), keeping the previous version of those in `failed`.
    `organization_databases`: the organizations that get a serving database of their own
    (None: every one; by_organization.database_selection)."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    version = version or now.strftime("%Y%m%dT%H%M%S%fZ")
    base = warehouse.parent
    versions = base / VERSIONS_DIR
    versions.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(base, versions)
    link = published_dir(warehouse)
    previous = _previous_manifest(link)

    staging = versions / f"{version}.tmp"
    staging.mkdir()
    published: list[PublishedMart] = []
    for mart in marts:
        target = staging / f"{mart}.parquet"
        if mart not in failed:
            table = warehouse_con.sql(f"select * from {schema}.{mart}").fetch_arrow_table()
            pq.write_table(table, target)
            published.append(PublishedMart(mart, "published", now.isoformat(), table.num_rows))
        elif mart in previous and previous[mart]["state"] != "not_published":
            # keep the last good data: same file, new version directory
            os.link(Path(previous[mart]["dir"]) / f"{mart}.parquet", target)
            published.append(
                PublishedMart(
                    mart,
                    "kept_previous",
                    previous[mart]["data_refreshed_at"],
                    previous[mart]["rows"],
                )
            )
        else:
            published.append(PublishedMart(mart, "not_published", None, None))

    manifest = {
        "version": version,
        "published_at": now.isoformat(),
        "marts": [asdict(m) for m in published],
    }
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    serving_tmp = base / f".{SERVING_DB}.{version}.tmp"
    _write_serving_db(serving_tmp, staging, published, manifest, schema)
    organizations = by_organization.write(
        staging, published, manifest, schema, organization_databases
    )

    pause_point("publish")  # everything written, nothing swapped in yet
    final = versions / version
    staging.rename(final)
    os.replace(serving_tmp, serving_db_path(warehouse))
    _point_link(link, final)
    serving_dir = base / by_organization.SERVING_DIR
    serving_dir.mkdir(exist_ok=True)
    _point_link(serving_dir / by_organization.PARQUET_FOLDER, final / by_organization.SERVING_FOLDER)
    _prune(versions, keep=KEEP_VERSIONS, current=final)
    return PublishResult(version, final, serving_db_path(warehouse), published, organizations)


def _write_serving_db(
    path: Path, folder: Path, marts: list[PublishedMart], manifest: dict, schema: str
):
    with duckdb.connect(
        str(path), config={"storage_compatibility_version": STORAGE_COMPATIBILITY}
    ) as con:
        con.execute(f"create schema {schema}")
        for mart in marts:
            if mart.state == "not_published":
                continue
            con.register("published", pq.read_table(folder / f"{mart.mart}.parquet"))
            con.execute(f"create table {schema}.{mart.mart} as select * from published")
            con.unregister("published")
        con.execute("create schema publish")
        con.execute(
            "create table publish.published_marts (mart varchar, state varchar, "
            "data_refreshed_at timestamp, row_count bigint, version varchar, published_at timestamp)"
        )
        con.executemany(
            "insert into publish.published_marts values (?, ?, ?, ?, ?, ?)",
            [
                [
                    m.mart,
                    m.state,
                    m.data_refreshed_at,
                    m.rows,
                    manifest["version"],
                    manifest["published_at"],
                ]
                for m in marts
            ],
        )
        con.execute("checkpoint")


def _point_link(link: Path, target: Path) -> None:
    """Atomically repoint `link` at `target` (relative, so the folder can move)."""
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)  # an older layout with a plain folder: replaced once
    tmp = link.with_name(f".{link.name}.tmp")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(os.path.relpath(target, link.parent))
    os.replace(tmp, link)


def _remove_leftovers(base: Path, versions: Path) -> None:
    """Half-written output of a publish that was killed before its swap."""
    for path in versions.glob("*.tmp"):
        shutil.rmtree(path, ignore_errors=True)
    for path in base.glob(f".{SERVING_DB}.*.tmp"):
        path.unlink(missing_ok=True)


def _prune(versions: Path, keep: int, current: Path) -> None:
    done = sorted(
        (p for p in versions.iterdir() if p.is_dir() and not p.name.endswith(".tmp")),
        key=lambda p: p.name,
    )
    for old in done[:-keep]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
