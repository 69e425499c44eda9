"""What the sandbox serves: the records of a landing zone, as the API would show them at a clock.

A landing zone is a history: referral version (id, updatedDateTime) first appears in the snapshot
of some date. At clock date T the API shows, per id, the latest version whose snapshot date is
<= T. The index keeps one row per landed record in numpy columns (snapshot day, updatedDateTime in
microseconds, id number, byte range in its file) and reads the record's bytes from the file only
when a page is served, so a million referrals cost ~100 MB, not their JSON.
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import io
import logging
import os
import shutil
import tempfile
from array import array
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import orjson

log = logging.getLogger(__name__)

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def parse_instant(text: str) -> int:
    """ISO-8601 timestamp -> microseconds since 1970 (naive = UTC)."""
    value = dt.datetime.fromisoformat(text.strip().strip("'\""))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return (value - EPOCH) // dt.timedelta(microseconds=1)


def day_number(day: dt.date) -> int:
    return (day - EPOCH.date()).days


def snapshot_day(name: str) -> int | None:
    try:
        return day_number(dt.date.fromisoformat(name.split(".", 1)[0]))
    except ValueError:
        return None


def plain_copy(path: Path, cache: Path) -> Path:
    """Seekable file for a landed one: .gz files are decompressed once into the cache dir."""
    if not path.name.endswith(".gz"):
        return path
    target = cache / path.parent.name / path.name.removesuffix(".gz")
    target.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "rb") as src, open(target, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
    return target


@dataclass
class View:
    """The versions visible at one clock day, ordered by (updatedDateTime, id)."""

    updated: np.ndarray  # int64 microseconds, ascending
    rows: np.ndarray  # index into the VersionIndex columns


class VersionIndex:
    """Every landed version of one JSON-lines source (referrals or solutions)."""

    def __init__(self, folder: Path, cache: Path) -> None:
        self.files: list[Path] = []
        self.ids: list[str] = []
        id_numbers: dict[str, int] = {}
        snap, upd, rid, fno, off, length = (
            array("i"), array("q"), array("i"), array("i"), array("q"), array("i"),
        )
        self.skipped = 0
        paths = sorted(folder.glob("*.jsonl*")) if folder.is_dir() else []
        for path in paths:
            day = snapshot_day(path.name)
            if day is None:
                continue
            plain = plain_copy(path, cache)
            file_no = len(self.files)
            self.files.append(plain)
            offset = 0
            with open(plain, "rb") as f:
                for line in f:
                    start, offset = offset, offset + len(line)
                    body = line.rstrip(b"\r\n")
                    if not body.strip():
                        continue
                    try:
                        record = orjson.loads(body)
                        key, updated = record["id"], parse_instant(record["updatedDateTime"])
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                        self.skipped += 1  # a bad record of the landing zone: not served
                        continue
                    number = id_numbers.setdefault(key, len(self.ids))
                    if number == len(self.ids):
                        self.ids.append(key)
                    snap.append(day)
                    upd.append(updated)
                    rid.append(number)
                    fno.append(file_no)
                    off.append(start)
                    length.append(len(body))
        self.snap = np.frombuffer(snap, dtype=np.int32) if snap else np.zeros(0, np.int32)
        self.upd = np.frombuffer(upd, dtype=np.int64) if upd else np.zeros(0, np.int64)
        self.rid = np.frombuffer(rid, dtype=np.int32) if rid else np.zeros(0, np.int32)
        self.fno = np.frombuffer(fno, dtype=np.int32) if fno else np.zeros(0, np.int32)
        self.off = np.frombuffer(off, dtype=np.int64) if off else np.zeros(0, np.int64)
        self.length = np.frombuffer(length, dtype=np.int32) if length else np.zeros(0, np.int32)
        self._fds = [os.open(p, os.O_RDONLY) for p in self.files]
        self._views: dict[int, View] = {}

    def __len__(self) -> int:
        return len(self.upd)

    def view(self, clock_day: int) -> View:
        if clock_day not in self._views:
            visible = np.flatnonzero(self.snap <= clock_day)
            # latest version per id: sort by (id, updated, snapshot day), keep each id's last
            order = visible[np.lexsort((self.snap[visible], self.upd[visible], self.rid[visible]))]
            ids = self.rid[order]
            last = np.ones(len(order), dtype=bool)
            last[:-1] = ids[:-1] != ids[1:]
            current = order[last]
            # served order: updatedDateTime, then id (a stable order for $skip paging)
            current = current[np.lexsort((self.rid[current], self.upd[current]))]
            self._views = {clock_day: View(self.upd[current], current)}  # keep one clock
        return self._views[clock_day]

    def read(self, rows: np.ndarray) -> list[bytes]:
        return [
            os.pread(self._fds[self.fno[r]], int(self.length[r]), int(self.off[r])) for r in rows
        ]


class TrafficReport:
    """Marketplace traffic rows; a later file restates a (date, organization, offer) row."""

    HEADER = "date,organizationId,offerId,pageViews,ctaClicks"

    def __init__(self, folder: Path) -> None:
        # (snapshot day, key) -> row text, in landing order
        self.rows: list[tuple[int, tuple[str, str, str], str]] = []
        paths = sorted(folder.glob("*.csv")) if folder.is_dir() else []
        for path in paths:
            day = snapshot_day(path.name)
            if day is None:
                continue
            with open(path, encoding="utf-8", newline="") as f:
                for row in csv.DictReader(f):
                    try:
                        key = (row["date"], row["organizationId"], row["offerId"])
                        text = ",".join(
                            [*key, str(int(row["pageViews"])), str(int(row["ctaClicks"]))]
                        )
                    except (KeyError, TypeError, ValueError):
                        continue
                    self.rows.append((day, key, text))

    def csv_at(self, clock_day: int) -> bytes:
        latest: dict[tuple[str, str, str], str] = {}
        for day, key, text in self.rows:
            if day <= clock_day and day_number(dt.date.fromisoformat(key[0])) <= clock_day:
                latest[key] = text
        out = io.StringIO()
        out.write(self.HEADER + "\n")
        for key in sorted(latest):
            out.write(latest[key] + "\n")
        return out.getvalue().encode()


class LandingData:
    """The three sources of one landing zone, indexed once at start-up."""

    def __init__(self, raw_dir: Path) -> None:
        self.raw_dir = raw_dir
        self._cache = Path(tempfile.mkdtemp(prefix="sandbox-cache-"))
        self.referrals = VersionIndex(raw_dir / "referrals", self._cache)
        self.solutions = VersionIndex(raw_dir / "solutions", self._cache)
        self.traffic = TrafficReport(raw_dir / "marketplace_traffic")
        log.info(
            "sandbox data: %d referral versions (%d referrals), %d solution versions, "
            "%d traffic rows from %s",
            len(self.referrals), len(self.referrals.ids), len(self.solutions),
            len(self.traffic.rows), raw_dir,
        )

    def close(self) -> None:
        shutil.rmtree(self._cache, ignore_errors=True)
