"""A/B: ingestion with the current line decoding vs a proposed one (evidence for a fix).

    python bench/experiments/ingest_decode_ab.py RAW_DIR [--files N] [--rounds R]

Loads the first N referral files of RAW_DIR with orchestration.ingestion.loader into a scratch
warehouse, once as the code stands and once with `validation._decode_sql` monkeypatched (nothing
in orchestration/ is changed), alternating A and B for R rounds, and checks both give identical
raw tables. The proposal replaces

    rtrim(try(decode(raw)), chr(10) || chr(13))               -- strip line ends
    where txt is null or trim(txt, ' \\t\\n\\r') <> ''          -- drop blank lines

which DuckDB evaluates slowly for a custom character set (it is also evaluated twice: once in the
filter, once in the projection), by the equivalent

    regexp_replace(try(decode(raw)), '[\\r\\n]+$', '')
    where txt is null or regexp_matches(txt, '[^ \\t\\n\\r]')
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import duckdb

from orchestration.ingestion import landing, loader, validation

ORIGINAL = validation._decode_sql


def proposed_decode_sql(source_relation: str) -> str:
    return f"""
    select line_number, raw, txt
    from (select line_number, raw, regexp_replace(try(decode(raw)), '[\\r\\n]+$', '') as txt
          from {source_relation})
    where txt is null or regexp_matches(txt, '[^ \\t\\n\\r]')
    """


def load(files: list[landing.LandedFile], db: Path) -> tuple[float, float]:
    import resource

    con = duckdb.connect(str(db), config={"memory_limit": "3GB"})
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    loader.load_files(con, files)
    wall = time.perf_counter() - start
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    con.close()
    return wall, (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)


def digest(db: Path) -> list:
    with duckdb.connect(str(db), read_only=True) as con:
        return [
            con.execute(
                f"select count(*), sum(hash(columns(* exclude (ingested_at)))) from raw.{t}"
            ).fetchall()[0]
            for t in ("referral_snapshots", "referral_registrations", "quarantine")
        ]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("raw_dir", type=Path)
    p.add_argument("--files", type=int, default=8)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    found = [f for f in landing.discover(args.raw_dir).files if f.source == "referrals"]
    files = sorted(found, key=lambda f: f.snapshot_date)[-args.files :]
    size = sum(f.size for f in files) / 1e6
    results = {"A current": [], "B proposed": []}
    digests = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for name, fn in (("A current", ORIGINAL), ("B proposed", proposed_decode_sql)):
                validation._decode_sql = fn
                db = Path(tmp) / f"{name[0]}{r}.duckdb"
                results[name].append(load(files, db))
                digests[name] = digest(db)
                db.unlink()
                print(
                    f"round {r} {name}: {results[name][-1][0]:.1f}s wall, {results[name][-1][1]:.1f}s CPU",
                    flush=True,
                )
    validation._decode_sql = ORIGINAL
    print(f"{len(files)} referral files, {size:.0f} MB, {dt.datetime.now():%H:%M}")
    for name, runs in results.items():
        print(
            f"{name}: best {min(w for w, _ in runs):.1f}s wall, best {min(c for _, c in runs):.1f}s CPU"
        )
    a, b = (min(c for _, c in results[k]) for k in results)
    print(
        f"CPU saved: {100 * (a - b) / a:.0f}%; identical raw tables: {digests['A current'] == digests['B proposed']}"
    )


if __name__ == "__main__":
    main()
