"""The dbt process the refresh CLI starts ahead of its build (orchestration/dbt_prestart.py):
a build command hands it its work and exits with its exit code; anything else runs dbt itself."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orchestration import dbt_prestart
from orchestration.dbt_parse_state import DBT_EXECUTABLE


@pytest.fixture
def started(monkeypatch):
    """A started dbt process, named in this process's environment as the refresh CLI names it."""
    monkeypatch.delenv(dbt_prestart.ENV, raising=False)
    assert dbt_prestart.start()
    yield dbt_prestart._started
    dbt_prestart.stop()


def _dbt(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [DBT_EXECUTABLE, *args], capture_output=True, text=True, env=os.environ, timeout=120
    )


def test_a_build_runs_in_the_started_process_with_its_output_and_exit_code(started):
    relayed = _dbt("build", "--help")
    # the started process served it, and served only it
    assert started.wait(timeout=30) == 0
    assert not Path(os.environ[dbt_prestart.ENV]).parent.exists()
    # what dbt itself prints for the same command (the started process is gone: dbt runs here)
    direct = _dbt("build", "--help")
    assert relayed.returncode == direct.returncode == 0
    assert relayed.stdout == direct.stdout
    assert "Usage: referral-insights-dbt build" in relayed.stdout


def test_a_failing_build_command_exits_with_dbts_exit_code(started):
    relayed = _dbt("build", "--no-such-option")
    assert started.wait(timeout=30) == 2  # the started process ran it
    assert relayed.returncode == 2  # click's usage error, as dbt itself exits
    assert "No such option" in relayed.stderr


def test_other_commands_run_dbt_themselves(started):
    assert dbt_prestart.relay(["parse"]) is None
    assert dbt_prestart.relay(["--version"]) is None
    assert dbt_prestart.relay([]) is None
    time.sleep(0.5)
    assert started.poll() is None  # still waiting for a build


def test_without_a_started_process_the_command_runs_dbt_itself(tmp_path, monkeypatch):
    monkeypatch.setenv(dbt_prestart.ENV, str(tmp_path / "gone.sock"))
    assert dbt_prestart.relay(["build"]) is None
    monkeypatch.delenv(dbt_prestart.ENV)
    assert dbt_prestart.relay(["build"]) is None


def test_stop_ends_a_process_nobody_used(started):
    socket_path = Path(os.environ[dbt_prestart.ENV])
    assert socket_path.exists()
    began = time.monotonic()
    dbt_prestart.stop()
    assert time.monotonic() - began < 5  # ended, not waited for
    assert started.poll() is not None
    assert dbt_prestart.ENV not in os.environ
    assert not socket_path.parent.exists()


def test_a_started_process_whose_refresh_died_exits_and_cleans_up():
    # a "refresh" that starts one and exits without stopping it (killed, say)
    code = (
        "import os; from orchestration import dbt_prestart; dbt_prestart.start(); "
        "print(dbt_prestart._started.pid, os.environ[dbt_prestart.ENV], flush=True)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    pid, socket_path = out.stdout.split()
    pid = int(pid)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        # a reparented zombie is gone for our purposes
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the started dbt process outlived its refresh by a minute")
    assert not Path(socket_path).parent.exists()
