"""Seeded synthetic generator of the raw landing zone (see the spec's raw-contract.md).

    generate(Path("data/raw"), referrals=10_000, seed=42)

writes, per snapshot date, `referrals/<date>.jsonl[.gz]` (the first a full extract, later ones
incremental), `solutions/<date>.jsonl[.gz]` (the first full, later ones only when a solution
changed: an empty file would be a failed file) and `marketplace_traffic/<date>.csv`, plus
`generation_report.json` with the parameters and where every injected bad record is.

Same arguments give byte-identical output: all randomness comes from numpy streams seeded from
`seed`, nothing reads the clock, and gzip headers carry no name or time. Memory stays bounded
at any size: lifecycles are numpy columns, records are rebuilt when emitted and streamed.
"""

from __future__ import annotations

import gzip as gzip_module
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import BinaryIO

import numpy as np
import orjson

from synthetic.bad_records import (
    BadRecord,
    bad_referral_line,
    bad_solution_line,
    bad_traffic_line,
    plan_bad_records,
)
from synthetic.organizations import Organization, make_organizations
from synthetic.referrals import (
    ReferralPlan,
    ReferralRenderer,
    change_buckets,
    pick_reemits,
    plan_referrals,
)
from synthetic.solutions import Solution, plan_solutions
from synthetic.timeline import Timeline, guid, stream
from synthetic.traffic import HEADER, TrafficRow, plan_traffic, traffic_rows

REFERRALS, SOLUTIONS, TRAFFIC = "referrals", "solutions", "marketplace_traffic"
MANIFEST_NAME = "generation_report.json"
GZIP_LEVEL = 2  # fast: the 1M-referral landing zone compresses in seconds, not minutes
REEMIT_EVERY, REEMIT_COUNT = 10, 5  # every 10th referral snapshot repeats 5 unchanged records
FLUSH_LINES = 4_096


@dataclass(frozen=True)
class GenerationSummary:
    files_written: int  # data files, not counting the manifest
    referral_records: int  # good lines, Microsoft copies and re-emits included
    solution_records: int
    traffic_rows: int  # good data rows, restatements included
    bad_records: int
    as_of_date: date
    snapshots: int

    def to_dict(self) -> dict:
        return {**asdict(self), "as_of_date": self.as_of_date.isoformat()}


def generate(
    out_dir: Path,
    *,
    organizations: int = 3,
    referrals: int = 10_000,
    start: date = date(2025, 12, 1),
    days: int = 365,
    snapshot_every: int = 7,
    seed: int = 42,
    gzip: bool = False,
    bad_records: int = 0,
) -> GenerationSummary:
    """Write a synthetic landing zone to `out_dir` and describe it.

    `referrals` counts the partners' own referrals; Microsoft copies come on top. Snapshot
    dates are start, start + snapshot_every, ... while <= start + days - 1; the last one is
    the as-of date. Raises ValueError on bad arguments and FileExistsError when `out_dir`
    holds landed files that this generator did not write.
    """
    _check_arguments(organizations, referrals, days, snapshot_every, bad_records)
    out_dir = Path(out_dir)
    landing = _plan_landing(
        Timeline.build(start, days, snapshot_every), organizations, referrals, seed
    )
    good_records = landing.good_records()
    files = {
        source: [k for s, k in good_records if s == source]
        for source in (REFERRALS, SOLUTIONS, TRAFFIC)
    }
    bad = _by_file(plan_bad_records(bad_records, seed, files, good_records))

    _prepare(out_dir)
    writer = _Writer(out_dir, landing.timeline, gzip)
    referral_count, solution_count, traffic_count = _write_landing(writer, landing, bad, seed)
    summary = GenerationSummary(
        files_written=len(good_records),
        referral_records=referral_count,
        solution_records=solution_count,
        traffic_rows=traffic_count,
        bad_records=len(writer.bad_log),
        as_of_date=landing.timeline.as_of,
        snapshots=len(landing.timeline.snapshot_dates),
    )
    parameters = {
        "organizations": organizations,
        "referrals": referrals,
        "start": start.isoformat(),
        "days": days,
        "snapshot_every": snapshot_every,
        "seed": seed,
        "gzip": gzip,
        "bad_records": bad_records,
    }
    _write_manifest(out_dir, parameters, summary, landing, writer)
    return summary


@dataclass(frozen=True)
class _Landing:
    """Everything to write, planned: referral entities per snapshot file, solutions per file
    (only snapshots with a file), traffic rows per file with their count of restatements."""

    timeline: Timeline
    orgs: list[Organization]
    plan: ReferralPlan
    renderer: ReferralRenderer
    referral_batches: list[np.ndarray]
    reemitted: list[np.ndarray]
    solution_files: dict[int, list[Solution]]
    traffic_files: list[tuple[list[TrafficRow], int]]

    def good_records(self) -> dict[tuple[str, int], int]:
        """(source, snapshot index) -> good records, for every file that will be written."""
        counts = {(REFERRALS, k): int(b.size) for k, b in enumerate(self.referral_batches)}
        counts |= {(SOLUTIONS, k): len(ss) for k, ss in self.solution_files.items()}
        counts |= {(TRAFFIC, k): len(rows) for k, (rows, _) in enumerate(self.traffic_files)}
        return counts


def _plan_landing(timeline: Timeline, organizations: int, referrals: int, seed: int) -> _Landing:
    orgs, outside = make_organizations(seed, organizations)
    solutions = plan_solutions(seed, orgs, timeline)
    plan = plan_referrals(seed, referrals, timeline, len(orgs), len(outside))
    solution_ids = [[s.id for s in solutions if s.org == i] for i in range(len(orgs))]
    changed = change_buckets(plan, timeline)
    reemitted = [_reemits(plan, timeline, changed[k], k, seed) for k in range(len(changed))]
    traffic = plan_traffic(seed, solutions, timeline)
    org_ids = [org.id for org in orgs]
    return _Landing(
        timeline=timeline,
        orgs=orgs,
        plan=plan,
        renderer=ReferralRenderer(plan, timeline, orgs, outside, solution_ids),
        referral_batches=[np.union1d(c, r) for c, r in zip(changed, reemitted, strict=True)],
        reemitted=reemitted,
        solution_files=_solution_files(solutions, timeline),
        traffic_files=[
            traffic_rows(traffic, solutions, org_ids, timeline, k, seed)
            for k in range(len(timeline.snapshot_dates))
        ],
    )


def _write_landing(
    writer: _Writer,
    landing: _Landing,
    bad: defaultdict[tuple[str, int], list[BadRecord]],
    seed: int,
) -> tuple[int, int, int]:
    """Write every data file; returns the good referral, solution and traffic records."""
    timeline, org_ids = landing.timeline, [org.id for org in landing.orgs]
    bad_rng = stream(seed, "bad-referrals")
    referral_count = sum(
        writer.write(
            REFERRALS,
            k,
            landing.renderer.lines(batch, k),
            bad[REFERRALS, k],
            lambda b, k=k: bad_referral_line(
                b.rule, timeline.snapshot_dates[k], landing.orgs[0], bad_rng
            ),
        )
        for k, batch in enumerate(landing.referral_batches)
    )
    solution_count = sum(
        _write_solutions(writer, k, ss, org_ids, timeline, bad[SOLUTIONS, k])
        for k, ss in landing.solution_files.items()
    )
    traffic_count = sum(
        _write_traffic(writer, k, rows, timeline, bad[TRAFFIC, k])
        for k, (rows, _) in enumerate(landing.traffic_files)
    )
    return referral_count, solution_count, traffic_count


class _Writer:
    """Writes landed files, inserting planned bad records and logging their line numbers."""

    def __init__(self, out_dir: Path, timeline: Timeline, compress: bool) -> None:
        self.out_dir, self.timeline, self.compress = out_dir, timeline, compress
        self.bad_log: list[dict] = []  # {source, file, line, rule, field} per bad record

    def relative_path(self, source: str, k: int) -> str:
        suffix = ".csv" if source == TRAFFIC else ".jsonl.gz" if self.compress else ".jsonl"
        return f"{source}/{self.timeline.snapshot_dates[k].isoformat()}{suffix}"

    def write(
        self,
        source: str,
        k: int,
        good_lines: Iterable[bytes],
        bad: list[BadRecord],
        bad_line: Callable[[BadRecord], bytes],
        header: bytes | None = None,
    ) -> int:
        """Write one file; returns its number of good records."""
        name = self.relative_path(source, k)
        with _LineFile(self.out_dir / name, self.compress and source != TRAFFIC) as out:
            if header is not None:
                out.write(header)
            inserts = defaultdict(list)
            for record in bad:
                inserts[record.position].append(record)
            written = 0
            for line in good_lines:
                self._write_bad(out, name, inserts.pop(written, []), bad_line)
                out.write(line)
                written += 1
            self._write_bad(out, name, inserts.pop(written, []), bad_line)
        return written

    def _write_bad(
        self,
        out: _LineFile,
        name: str,
        records: list[BadRecord],
        bad_line: Callable[[BadRecord], bytes],
    ) -> None:
        for record in records:
            out.write(bad_line(record))
            self.bad_log.append(
                {
                    "source": record.rule.source,
                    "file": name,
                    "line": out.lines,
                    "rule": record.rule.rule,
                    "field": record.rule.field,
                }
            )


class _LineFile:
    """One output file (gzip-compressed when asked), written in blocks of lines."""

    def __init__(self, path: Path, compress: bool) -> None:
        self._raw = open(path, "wb")  # closed in __exit__
        self._out: BinaryIO = (
            gzip_module.GzipFile(
                filename="", mode="wb", fileobj=self._raw, compresslevel=GZIP_LEVEL, mtime=0
            )
            if compress
            else self._raw
        )
        self._pending: list[bytes] = []
        self.lines = 0

    def write(self, line: bytes) -> None:
        self._pending.append(line)
        self.lines += 1
        if len(self._pending) >= FLUSH_LINES:
            self._flush()

    def _flush(self) -> None:
        self._out.write(b"".join(self._pending))
        self._pending.clear()

    def __enter__(self) -> _LineFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._flush()
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()


def _write_solutions(
    writer: _Writer,
    k: int,
    solutions: list[Solution],
    org_ids: list[str],
    timeline: Timeline,
    bad: list[BadRecord],
) -> int:
    end = int(timeline.ends[k])
    records = [s.record(end, org_ids[s.org], timeline) for s in solutions]
    lines = (orjson.dumps(r, option=orjson.OPT_APPEND_NEWLINE) for r in records)
    return writer.write(SOLUTIONS, k, lines, bad, lambda b: bad_solution_line(b.rule, records[0]))


def _write_traffic(
    writer: _Writer, k: int, rows: list[TrafficRow], timeline: Timeline, bad: list[BadRecord]
) -> int:
    lines = ((row.csv() + "\n").encode() for row in rows)
    date_k = timeline.snapshot_dates[k]
    return writer.write(
        TRAFFIC,
        k,
        lines,
        bad,
        lambda b: bad_traffic_line(b.rule, rows[0], date_k),
        header=(HEADER + "\n").encode(),
    )


def _solution_files(solutions: list[Solution], timeline: Timeline) -> dict[int, list[Solution]]:
    """Snapshot index -> solutions in its file: all in the first, then only changed ones."""
    files = {0: solutions}
    for k in range(1, len(timeline.snapshot_dates)):
        changed = [
            s
            for s in solutions
            if s.changed_between(int(timeline.ends[k - 1]), int(timeline.ends[k]))
        ]
        if changed:
            files[k] = changed
    return files


def _reemits(
    plan: ReferralPlan, timeline: Timeline, changed: np.ndarray, k: int, seed: int
) -> np.ndarray:
    """Deliberate repeats of unchanged referrals; one also fills a snapshot with no changes
    (an empty file would count as a failed file)."""
    if k == 0:
        return np.empty(0, dtype=np.int64)
    count = REEMIT_COUNT if k % REEMIT_EVERY == REEMIT_EVERY - 1 else int(changed.size == 0)
    return pick_reemits(plan, timeline, changed, k, seed, count)


def _by_file(records: list[BadRecord]) -> defaultdict[tuple[str, int], list[BadRecord]]:
    grouped: defaultdict[tuple[str, int], list[BadRecord]] = defaultdict(list)
    for record in records:
        grouped[record.rule.source, record.snapshot].append(record)
    return grouped


def _write_manifest(
    out_dir: Path, parameters: dict, summary: GenerationSummary, landing: _Landing, writer: _Writer
) -> None:
    """Parameters, summary, organisations, and where every deliberate oddity is: bad records,
    repeated (unchanged) referrals and restated traffic rows."""
    columns = landing.plan.columns
    reemits = [
        {
            "file": writer.relative_path(REFERRALS, k),
            "ids": [guid(int(columns["id_hi"][e]), int(columns["id_lo"][e])) for e in entities],
        }
        for k, entities in enumerate(landing.reemitted)
        if entities.size
    ]
    restatements = [
        {
            "file": writer.relative_path(TRAFFIC, k),
            "date": row.date,
            "organizationId": row.organization_id,
            "offerId": row.offer_id,
        }
        for k, (rows, restated) in enumerate(landing.traffic_files)
        for row in rows[len(rows) - restated :]
        if restated
    ]
    manifest = {
        "generator": "synthetic.generator",
        "parameters": parameters,
        "summary": summary.to_dict(),
        "organizations": [{"id": org.id, "name": org.name} for org in landing.orgs],
        "bad_records": sorted(writer.bad_log, key=lambda b: (b["source"], b["file"], b["line"])),
        "reemitted_referrals": reemits,
        "restated_traffic_rows": restatements,
    }
    (out_dir / MANIFEST_NAME).write_bytes(
        orjson.dumps(manifest, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)
    )


def _prepare(out_dir: Path) -> None:
    """Create the source folders; clear files of an earlier generation (so a smaller rerun
    leaves no stale snapshots), but never touch landed data the generator did not write."""
    landed = [
        path
        for source in (REFERRALS, SOLUTIONS, TRAFFIC)
        for pattern in ("*.jsonl", "*.jsonl.gz", "*.csv")
        for path in (out_dir / source).glob(pattern)
    ]
    if landed and not (out_dir / MANIFEST_NAME).exists():
        raise FileExistsError(f"{out_dir} already holds landed files not written by the generator")
    for path in landed:
        path.unlink()
    for source in (REFERRALS, SOLUTIONS, TRAFFIC):
        (out_dir / source).mkdir(parents=True, exist_ok=True)


def _check_arguments(
    organizations: int, referrals: int, days: int, snapshot_every: int, bad_records: int
) -> None:
    for name, value, minimum in (
        ("organizations", organizations, 1),
        ("referrals", referrals, 1),
        ("days", days, 1),
        ("snapshot_every", snapshot_every, 1),
        ("bad_records", bad_records, 0),
    ):
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
