"""Extract one source into the landing zone: page through the API, stream records into the
day's snapshot file, land it atomically, then advance the watermark.

    extract("referrals", ExtractSettings.from_env(), raw_dir, lambda: duckdb.connect(path))

The snapshot date is the service's date (the `Date` header of its first response): extraction
lands what the service showed on that date, and the sandbox's settable clock drives it.
"""

from __future__ import annotations

import csv
import datetime as dt
import email.utils
import io
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from pathlib import Path

import orjson
from dlt.sources.helpers.rest_client import RESTClient
from requests import Response

from orchestration.contract import TRAFFIC_COLUMNS
from orchestration.extract import watermarks
from orchestration.extract.auth import EntraClientCredentials, EntraRefreshToken
from orchestration.extract.http import RequestStats, RetryingSession, RetryPolicy
from orchestration.extract.landing import SnapshotWriter
from orchestration.extract.paging import ODataPaginator
from orchestration.extract.settings import ExtractSettings

log = logging.getLogger(__name__)

Connect = Callable[[], AbstractContextManager]
PROGRESS_EVERY_PAGES = 100
TRAFFIC_HEADER = ",".join(TRAFFIC_COLUMNS)


class ExtractNotConfigured(RuntimeError):
    pass


@dataclass
class ExtractResult:
    source: str
    records: int = 0
    pages: int = 0
    requests: int = 0
    retries: int = 0
    token_renewals: int = 0
    watermark_before: str | None = None
    watermark_after: str | None = None
    landed_file: str | None = None  # relative to the raw dir; None when nothing was new
    merged: bool = False  # appended to a file an earlier run landed the same day
    snapshot_date: str | None = None
    paging: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)


class ODataClient(RESTClient):
    """dlt's REST client reading each page once, with orjson: the records, and then the
    paginators (nextLink) from the same parsed document instead of parsing it again."""

    def extract_response(self, response: Response, data_selector) -> list:
        document = orjson.loads(response.content)
        response.json = lambda **_: document
        return document["value"]


def _service_date(response: Response) -> dt.date:
    header = response.headers.get("Date")
    if header:
        try:
            return email.utils.parsedate_to_datetime(header).astimezone(dt.UTC).date()
        except (TypeError, ValueError):
            pass
    return dt.datetime.now(dt.UTC).date()


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _odata_instant(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class _Extraction:
    def __init__(
        self, source: str, settings: ExtractSettings, raw_dir: Path, connect: Connect, logger
    ) -> None:
        missing = settings.missing(source)
        if missing:
            raise ExtractNotConfigured(f"{source}: not configured, missing {', '.join(missing)}")
        self.source, self.settings, self.raw_dir, self.connect = source, settings, raw_dir, connect
        self.log = logger or log
        self.stats = RequestStats()
        policy = RetryPolicy(
            settings.max_retries,
            settings.backoff_seconds,
            settings.max_backoff_seconds,
            settings.timeout_seconds,
        )
        # the token endpoint's 4xx (a wrong secret) fails at once with Entra's own message
        token_session = RetryingSession(
            policy, self.stats, logger=self.log, fail_on_client_error=False
        )
        common = dict(
            access_token_url=settings.token_url,
            client_id=settings.client_id,
            client_secret=settings.client_secret.get_secret_value(),
            session=token_session,
        )
        if source == "marketplace_traffic":  # app-only token
            self.auth = EntraClientCredentials(scope=settings.analytics_scope, **common)
        else:  # App+User token
            self.auth = EntraRefreshToken(
                scope=settings.api_scope,
                refresh_token=settings.refresh_token.get_secret_value(),
                **common,
            )
        self.session = RetryingSession(policy, self.stats, self.auth.renew, self.log)
        self.result = ExtractResult(source)
        self.writer: SnapshotWriter | None = None
        self.started = time.monotonic()

    def run(self) -> ExtractResult:
        with self.connect() as con:
            self.result.watermark_before = watermarks.read(con, self.source)
        try:
            if self.source == "marketplace_traffic":
                watermark = self._traffic()
            else:
                watermark = self._list()
            if self.writer is not None and self.result.records:
                landed = self.writer.commit()
                self.result.landed_file = f"{self.source}/{landed.name}"
                self.result.merged = self.writer.merged
                with self.connect() as con:
                    watermarks.advance(
                        con, self.source, watermark, self.result.landed_file, self.result.records
                    )
                self.result.watermark_after = watermark
            else:
                # nothing new: an empty file would be a failed file for ingestion
                self.result.watermark_after = self.result.watermark_before
                if self.writer is not None:
                    self.writer.abort()
        except BaseException:
            # a failed or interrupted run lands nothing: its temporary file goes
            if self.writer is not None and self.result.landed_file is None:
                self.writer.abort()
            raise
        finally:
            self.session.close()
        self.result.requests = self.stats.requests
        self.result.retries = self.stats.retries
        self.result.token_renewals = self.stats.token_renewals
        self.result.seconds = round(time.monotonic() - self.started, 3)
        return self.result

    def _list(self) -> str | None:
        """Referrals (incremental by updatedDateTime) or solutions (full list)."""
        settings = self.settings
        path = settings.referrals_path if self.source == "referrals" else settings.solutions_path
        params = {"$orderby": "updatedDateTime asc"}
        if self.source == "referrals" and self.result.watermark_before:
            params["$filter"] = f"updatedDateTime gt {self.result.watermark_before}"
        client = ODataClient(
            base_url=settings.api_base, auth=self.auth, session=self.session, data_selector="value"
        )
        paginator = ODataPaginator(settings.page_size)
        latest: dt.datetime | None = None
        # no response hooks: the session already raised for every status that is a failure
        for page in client.paginate(path, params=params, paginator=paginator, hooks={"response": []}):
            if self.writer is None:
                day = _service_date(page.response)
                self.result.snapshot_date = day.isoformat()
                self.writer = writer = SnapshotWriter(
                    self.raw_dir / self.source, f"{day.isoformat()}.jsonl.gz"
                )
                for name in writer.stale_removed:
                    self.log.warning(f"{self.source}/{name}: removed, left by a killed run")
            for record in page:
                try:
                    updated = _instant(record["updatedDateTime"])
                except (KeyError, TypeError, ValueError):
                    updated = None  # landed as it came: ingestion quarantines it with a reason
                if updated is not None and (latest is None or updated > latest):
                    latest = updated
                writer.write(orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE))
            self.result.records += len(page)
            self.result.pages += 1
            self.result.paging = paginator.mode if self.result.pages > 1 else "one page"
            if self.result.pages % PROGRESS_EVERY_PAGES == 0:
                self._progress()
        self._progress()
        return _odata_instant(latest) if latest else self.result.watermark_before

    def _traffic(self) -> str | None:
        """The traffic report's rows from `traffic_lookback_days` before the watermark on."""
        response = self.session.get(self.settings.traffic_report_url, auth=self.auth)
        self.result.pages = 1
        day = _service_date(response)
        self.result.snapshot_date = day.isoformat()
        since = None
        if self.result.watermark_before:
            since = dt.date.fromisoformat(self.result.watermark_before) - dt.timedelta(
                days=self.settings.traffic_lookback_days
            )
        rows = list(_csv_rows(response.text, since))
        self.result.records = len(rows)
        self._progress()
        if not rows:
            return None
        self.writer = writer = SnapshotWriter(
            self.raw_dir / self.source, f"{day.isoformat()}.csv", (TRAFFIC_HEADER + "\n").encode()
        )
        latest = max(row[0] for row in rows)
        for row in rows:
            writer.write((",".join(row) + "\n").encode())
        return latest

    def _progress(self) -> None:
        self.log.info(
            f"extract {self.source}: {self.result.pages} pages, {self.result.records} records, "
            f"{self.stats.retries} retries, {time.monotonic() - self.started:.1f}s"
        )


def _csv_rows(text: str, since: dt.date | None) -> Iterator[list[str]]:
    reader = csv.DictReader(io.StringIO(text))
    columns = TRAFFIC_HEADER.split(",")
    for row in reader:
        try:
            if since is not None and dt.date.fromisoformat(row["date"]) <= since:
                continue
        except (TypeError, ValueError):
            pass  # a bad date is kept: ingestion quarantines it with its reason
        yield [row.get(c) or "" for c in columns]


def extract(
    source: str,
    settings: ExtractSettings,
    raw_dir: Path,
    connect: Connect,
    logger: logging.Logger | None = None,
) -> ExtractResult:
    """Extract `source` into `raw_dir`; raises ExtractNotConfigured without credentials and
    RequestFailed / TokenRequestFailed when the service cannot be read (nothing lands then)."""
    return _Extraction(source, settings, Path(raw_dir), connect, logger).run()
