"""Snapshot calendar, time arithmetic, ids and random streams shared by the synthetic sources.

All instants are whole seconds since the timeline's *epoch* (00:00 UTC of the first covered
day) held in int64, so lifecycles of a million referrals fit in a few numpy columns.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np

DAY = 86_400
HOUR = 3_600
# An event that never happens (or not within the timeline): compares after every real instant.
NEVER = np.iinfo(np.int64).max // 4


@dataclass(frozen=True)
class Timeline:
    """Snapshot dates and the days they cover.

    Snapshot k covers the days in (date[k-1], date[k]]; the first one covers the
    `snapshot_every` days ending at its date, so every source starts on the same first day.
    """

    first_day: date
    snapshot_dates: tuple[date, ...]
    ends: np.ndarray  # exclusive end (next midnight) of each snapshot date, seconds

    @classmethod
    def build(cls, start: date, days: int, snapshot_every: int) -> Timeline:
        dates = tuple(start + timedelta(days=k) for k in range(0, days, snapshot_every))
        first_day = start - timedelta(days=snapshot_every - 1)
        ends = np.array([((d - first_day).days + 1) * DAY for d in dates], dtype=np.int64)
        return cls(first_day, dates, ends)

    @property
    def as_of(self) -> date:
        return self.snapshot_dates[-1]

    @property
    def horizon(self) -> int:
        """Exclusive end of the last snapshot date: nothing after it is ever visible."""
        return int(self.ends[-1])

    @property
    def covered_days(self) -> int:
        return self.horizon // DAY

    def day(self, index: int) -> date:
        return self.first_day + timedelta(days=index)

    def interval_days(self, k: int) -> range:
        """Day indices snapshot k covers."""
        first = 0 if k == 0 else int(self.ends[k - 1]) // DAY
        return range(first, int(self.ends[k]) // DAY)

    @property
    def epoch64(self) -> np.datetime64:
        return np.datetime64(self.first_day, "s")

    def iso_list(self, seconds: np.ndarray) -> list[str | None]:
        """Vectorised ISO-8601 UTC ("...Z") strings; NEVER becomes None."""
        never = seconds >= NEVER
        finite = np.where(never, 0, seconds).astype("timedelta64[s]")
        text = np.datetime_as_string(self.epoch64 + finite, unit="s", timezone="UTC")
        out = text.astype(object)
        out[never] = None
        return out.tolist()

    def iso(self, seconds: int) -> str:
        instant = datetime(
            self.first_day.year, self.first_day.month, self.first_day.day, tzinfo=UTC
        ) + timedelta(seconds=int(seconds))
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def with_offset(iso_z: str, minutes: int) -> str:
    """The same instant as a "...Z" timestamp, written with an explicit UTC offset."""
    local = datetime.strptime(iso_z, "%Y-%m-%dT%H:%M:%SZ") + timedelta(minutes=minutes)
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{local:%Y-%m-%dT%H:%M:%S}{sign}{hours:02d}:{mins:02d}"


def stream(seed: int, purpose: str, *extra: int) -> np.random.Generator:
    """An independent, reproducible random stream per purpose (crc32 is stable across runs,
    unlike hash())."""
    return np.random.default_rng(
        np.random.SeedSequence([seed, zlib.crc32(purpose.encode()), *extra])
    )


def guid_halves(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Random 128-bit ids as two uint64 columns, with the UUIDv4 version and variant bits set."""
    top = np.iinfo(np.uint64).max
    hi = rng.integers(0, top, size=n, dtype=np.uint64, endpoint=True)
    lo = rng.integers(0, top, size=n, dtype=np.uint64, endpoint=True)
    hi = (hi & np.uint64(0xFFFF_FFFF_FFFF_0FFF)) | np.uint64(0x4000)
    lo = (lo & np.uint64(0x3FFF_FFFF_FFFF_FFFF)) | np.uint64(0x8000_0000_0000_0000)
    return hi, lo


def guid(hi: int, lo: int) -> str:
    h, low = f"{hi:016x}", f"{lo:016x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:]}-{low[:4]}-{low[4:]}"
