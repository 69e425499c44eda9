"""Per-organization copies of a published version: a partner (or its BI workspace) is handed only
its own rows.

Inside each published version directory (`.published/<version>/`, see publisher.py):

- `by_organization/<folder>/<mart>.parquet` — every mart that has an `organization_id` column,
  only that organization's rows (an organization without rows in a mart gets an empty file with
  the mart's columns, so every folder holds every mart);
- `serving_by_organization/<folder>.duckdb` — a self-contained DuckDB database like
  `serving.duckdb` (schema `marts`, plus `publish.published_marts`), holding only that
  organization's rows. Tables without `organization_id` (the widget refresh details, the
  MetricFlow time spine) are copied whole; in `mart_widget_refresh` and `published_marts` the
  row counts are the organization's own.
- `_organizations.json` in both folders: the index `organization_id` → `folder`, with the name.

They are swapped in with the version: `<warehouse dir>/marts` points at the version, and
`<warehouse dir>/serving/by_organization` is a symlink repointed to the version's
`serving_by_organization` folder (publisher.py).

**Folder names.** An organization id that is a safe file name — ASCII letters, digits, `.`, `_`,
`-`, starting with a letter or digit, at most 100 characters, no `..` — is used as it is (the
Partner Center GUIDs are). Any other id is encoded as `<slug>~<hash>`: the id's letters and
digits (runs of anything else become `-`, at most 40 characters) and the first 16 hex digits of
the SHA-256 of its UTF-8 bytes. `~` never occurs in an id used as it is, so an encoded folder
cannot collide with a plain one, and a separator, `..` or a control character can never reach
the file system.

**Cost.** Each mart is read once, sorted by organization and cut into per-organization slices
(pyarrow); a few threads write the slices as the Parquet files (~0.7 ms each, file-system bound)
and load them into the DuckDB files (tens of milliseconds each however small: a dozen tables
and the file's checkpoint). 16 KB blocks keep a DuckDB file small (the default 256 KB block per
table made a file of a dozen tiny tables 3.4 MB); in the v1.0.0 storage format DuckDB 1.1 opens
them. With thousands of organizations the DuckDB files add minutes to a publish (2,500: ~2.5 min,
docs/serving.md): `REFERRAL_INSIGHTS_ORGANIZATION_DATABASES` (read when the publish runs) limits
them to a comma-separated list of organization ids, or `none`; the Parquet folders are always
written for every organization.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ORG_COLUMN = "organization_id"
PARQUET_FOLDER = "by_organization"
SERVING_FOLDER = "serving_by_organization"
SERVING_DIR = "serving"  # <warehouse dir>/serving/by_organization -> the version's SERVING_FOLDER
INDEX = "_organizations.json"
NAMES_TABLE = "dim_organizations"
WIDGET_REFRESH = "mart_widget_refresh"
BLOCK_SIZE = 16_384
MAX_THREADS = 4

_SAFE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def folder_name(organization_id: str) -> str:
    """The file-system name for an organization id (module docstring, "Folder names")."""
    if _SAFE.fullmatch(organization_id) and ".." not in organization_id:
        return organization_id
    slug = re.sub(r"[^A-Za-z0-9]+", "-", organization_id).strip("-")[:40].strip("-") or "org"
    digest = hashlib.sha256(organization_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{slug}~{digest}"


def database_selection(value: str | None) -> frozenset[str] | None:
    """Settings.organization_databases: empty or `all` -> every organization
    (None); `none` -> no DuckDB file; else the comma-separated organization ids."""
    value = (value or "").strip()
    if value.lower() in ("", "all"):
        return None
    if value.lower() == "none":
        return frozenset()
    return frozenset(i.strip() for i in value.split(",") if i.strip())


def serving_db_path(warehouse: Path, organization_id: str) -> Path:
    """`<warehouse dir>/serving/by_organization/<folder>.duckdb`."""
    return warehouse.parent / SERVING_DIR / PARQUET_FOLDER / f"{folder_name(organization_id)}.duckdb"


def parquet_dir(warehouse: Path, organization_id: str) -> Path:
    """`<warehouse dir>/marts/by_organization/<folder>/`."""
    return warehouse.parent / "marts" / PARQUET_FOLDER / folder_name(organization_id)


@dataclass(frozen=True)
class Organization:
    organization_id: str
    folder: str
    organization_name: str | None
    display_name: str


def write(
    version_dir: Path,
    marts: list,
    manifest: dict,
    schema: str = "marts",
    databases: frozenset[str] | None = None,
) -> list[Organization]:
    """Write the per-organization Parquet folders and DuckDB files of the version being built in
    `version_dir` from its whole-mart Parquet files. `marts`: the publisher's PublishedMart list;
    `databases`: the organizations that get a DuckDB file (None: all)."""
    files = {m.mart: version_dir / f"{m.mart}.parquet" for m in marts if m.state != "not_published"}
    by_org = [m for m, f in files.items() if ORG_COLUMN in pq.read_schema(f).names]
    shared = {m: pq.read_table(files[m]) for m in files if m not in by_org}
    splits = {m: _Split.of(pq.read_table(files[m])) for m in by_org}
    names = {}
    if NAMES_TABLE in splits and "organization_name" in splits[NAMES_TABLE].table.column_names:
        table = splits[NAMES_TABLE].table
        names = dict(
            zip(
                table.column(ORG_COLUMN).to_pylist(),
                table.column("organization_name").to_pylist(),
                strict=True,
            )
        )
    organizations = _organizations(sorted(set().union(*(s.bounds for s in splits.values()))), names)

    parquet_root = version_dir / PARQUET_FOLDER
    serving_root = version_dir / SERVING_FOLDER
    parquet_root.mkdir()
    serving_root.mkdir()
    served = {o.organization_id for o in organizations if databases is None or o.organization_id in databases}
    for folder, listed in (
        (parquet_root, organizations),
        (serving_root, [o for o in organizations if o.organization_id in served]),
    ):
        index = json.dumps([o.__dict__ for o in listed], indent=2, ensure_ascii=False)
        (folder / INDEX).write_text(index)

    def work(chunk: list[Organization]) -> None:
        with duckdb.connect() as con:
            for org in chunk:
                folder = parquet_root / org.folder
                folder.mkdir()
                for mart, split in splits.items():
                    pq.write_table(split.slice(org.organization_id), folder / f"{mart}.parquet")
                if org.organization_id in served:
                    _write_database(
                        con, serving_root / f"{org.folder}.duckdb", org, splits, shared, marts,
                        manifest, schema,
                    )  # fmt: skip

    threads = max(1, min(MAX_THREADS, os.cpu_count() or 1, len(organizations)))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [organizations[i::threads] for i in range(threads)]))
    return organizations


@dataclass(frozen=True)
class _Split:
    """A mart sorted by organization, with each organization's rows as (offset, length)."""

    table: pa.Table
    bounds: dict[str, tuple[int, int]]

    @classmethod
    def of(cls, table: pa.Table) -> _Split:
        table = table.sort_by([(ORG_COLUMN, "ascending")]).combine_chunks()
        # one run per organization on the sorted column
        runs = pc.run_end_encode(table.column(ORG_COLUMN).combine_chunks())
        bounds, offset = {}, 0
        for org, end in zip(runs.values.to_pylist(), runs.run_ends.to_pylist(), strict=True):
            if org is not None:
                bounds[org] = (offset, end - offset)
            offset = end
        return cls(table, bounds)

    def rows(self, organization_id: str) -> int:
        return self.bounds.get(organization_id, (0, 0))[1]

    def slice(self, organization_id: str) -> pa.Table:
        """The organization's rows (none: an empty table with the mart's columns)."""
        return self.table.slice(*self.bounds.get(organization_id, (0, 0)))


def _organizations(ids: list[str], names: dict[str, str | None]) -> list[Organization]:
    out, seen = [], {}
    for organization_id in ids:
        folder = folder_name(organization_id)
        if folder in seen:  # a 64-bit hash collision between two unsafe ids: refuse, never mix
            raise ValueError(f"organizations {seen[folder]!r} and {organization_id!r} share {folder}")
        seen[folder] = organization_id
        name = names.get(organization_id)
        out.append(Organization(organization_id, folder, name, name or organization_id))
    return out


def _write_database(con, path, org, splits, shared, marts, manifest, schema) -> None:
    counts = {m: split.rows(org.organization_id) for m, split in splits.items()}
    con.execute(
        f"attach '{_sql_path(path)}' as org_db (storage_version 'v1.0.0', block_size {BLOCK_SIZE})"
    )
    con.execute("begin")
    con.execute(f"create schema org_db.{schema}")
    tables = {m: split.slice(org.organization_id) for m, split in splits.items()} | shared
    for mart, table in tables.items():
        con.register("published_rows", table)
        con.execute(f"create table org_db.{schema}.{mart} as select * from published_rows")
        con.unregister("published_rows")
    if WIDGET_REFRESH in shared:
        # the refresh details count the whole warehouse's rows: show the org's own
        con.executemany(
            f"update org_db.{schema}.{WIDGET_REFRESH} set row_count = ? where mart = ?",
            [[n, mart] for mart, n in counts.items()],
        )
    con.execute("create schema org_db.publish")
    con.execute(
        "create table org_db.publish.published_marts (mart varchar, state varchar, "
        "data_refreshed_at timestamp, row_count bigint, version varchar, "
        "published_at timestamp, organization_id varchar)"
    )
    con.executemany(
        "insert into org_db.publish.published_marts values (?, ?, ?, ?, ?, ?, ?)",
        [
            [m.mart, m.state, m.data_refreshed_at, counts.get(m.mart, m.rows),
             manifest["version"], manifest["published_at"], org.organization_id]
            for m in marts
        ],
    )  # fmt: skip
    con.execute("commit")
    con.execute("detach org_db")


def _sql_path(path: Path) -> str:
    """A path inside a SQL string literal (COPY and ATTACH take no bound parameters)."""
    return str(path).replace("'", "''")
