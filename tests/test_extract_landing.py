"""Fast checks of the extraction's building blocks: atomic landing with same-day merge, stale
temporary files, Retry-After, settings from the environment (no HTTP here)."""

from __future__ import annotations

import datetime as dt
import email.utils
import gzip
import subprocess
import sys

import pytest
from requests import Response

from orchestration.extract.http import retry_after_seconds
from orchestration.extract.landing import SnapshotWriter, remove_stale_partials
from orchestration.extract.settings import ExtractSettings


def _land(folder, name, lines, header=None):
    writer = SnapshotWriter(folder, name, header)
    for line in lines:
        writer.write(line)
    return writer.commit(), writer.merged


def test_second_run_on_the_same_day_merges_into_the_days_file(tmp_path):
    _, merged_first = _land(tmp_path, "2026-01-05.jsonl.gz", [b'{"id":"a"}\n', b'{"id":"b"}\n'])
    path, merged_second = _land(tmp_path, "2026-01-05.jsonl.gz", [b'{"id":"c"}\n'])
    assert (merged_first, merged_second) == (False, True)
    with gzip.open(path, "rb") as f:
        assert f.read() == b'{"id":"a"}\n{"id":"b"}\n{"id":"c"}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["2026-01-05.jsonl.gz"]


def test_a_merged_csv_keeps_one_header_and_later_rows_last(tmp_path):
    header = b"date,organizationId,offerId,pageViews,ctaClicks\n"
    _land(tmp_path, "2026-01-05.csv", [b"2026-01-04,o,x,1,0\n"], header)
    path, _ = _land(tmp_path, "2026-01-05.csv", [b"2026-01-04,o,x,2,0\n"], header)
    assert path.read_bytes() == header + b"2026-01-04,o,x,1,0\n2026-01-04,o,x,2,0\n"


def test_an_aborted_run_leaves_the_landed_file_as_it_was(tmp_path):
    _land(tmp_path, "2026-01-05.jsonl.gz", [b'{"id":"a"}\n'])
    before = (tmp_path / "2026-01-05.jsonl.gz").read_bytes()
    writer = SnapshotWriter(tmp_path, "2026-01-05.jsonl.gz")
    writer.write(b'{"id":"half')
    assert writer.tmp.exists() and writer.tmp.name.startswith(".")
    writer.abort()
    assert (tmp_path / "2026-01-05.jsonl.gz").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["2026-01-05.jsonl.gz"]


@pytest.mark.e2e  # starts a subprocess, for the pid of a process that has ended
def test_temporary_files_of_dead_extractions_are_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (tmp_path / f".2026-01-05.jsonl.gz.{dead}.partial").write_bytes(b"x")
    (tmp_path / ".2026-01-05.jsonl.gz.1.partial").write_bytes(b"x")  # pid 1 is alive
    assert remove_stale_partials(tmp_path) == [f".2026-01-05.jsonl.gz.{dead}.partial"]
    assert [p.name for p in tmp_path.iterdir()] == [".2026-01-05.jsonl.gz.1.partial"]


def _response(retry_after: str) -> Response:
    response = Response()
    response.status_code = 429
    response.headers["Retry-After"] = retry_after
    return response


def test_retry_after_in_seconds_or_as_an_http_date():
    assert retry_after_seconds(_response("7")) == 7.0
    in_a_minute = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=60)
    seconds = retry_after_seconds(_response(email.utils.format_datetime(in_a_minute, usegmt=True)))
    assert 55 <= seconds <= 60
    assert retry_after_seconds(_response("soon")) is None


def test_settings_come_from_the_environment_and_never_show_the_secret():
    env = {
        "REFERRAL_INSIGHTS_PC_TENANT_ID": "t",
        "REFERRAL_INSIGHTS_PC_CLIENT_ID": "c",
        "REFERRAL_INSIGHTS_PC_CLIENT_SECRET": "very-secret-1",
        "REFERRAL_INSIGHTS_PC_PAGE_SIZE": "250",
    }
    settings = ExtractSettings.from_env(env, page_size=50)
    assert settings.page_size == 50  # explicit config wins over the environment
    assert settings.token_url == "https://login.microsoftonline.com/t/oauth2/v2.0/token"
    assert "very-secret-1" not in repr(settings) and "very-secret-1" not in str(settings)
    assert settings.missing("referrals") == ["REFERRAL_INSIGHTS_PC_REFRESH_TOKEN"]
    assert settings.missing("marketplace_traffic") == ["REFERRAL_INSIGHTS_PC_TRAFFIC_REPORT_URL"]
    assert ExtractSettings.from_env(env).page_size == 250
    with pytest.raises(ValueError):
        ExtractSettings.from_env(env | {"REFERRAL_INSIGHTS_PC_PAGE_SIZE": "0"})
