"""The dashboard refuses foreign Host headers (DNS rebinding), sends its security headers, and
answers HTTP 503 with a message — not a traceback, not a failed start-up — when the serving
database is missing or unreadable."""

from __future__ import annotations

import asyncio
from pathlib import Path

import duckdb
import pytest

from dashboard import app as dashboard_app
from dashboard.app import allowed_hosts_from, create_app
from orchestration.serving import publisher
from tests.conftest import asgi_get


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hardening")
    wh = folder / "wh.duckdb"
    with duckdb.connect(str(wh)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.mart_solutions_outlook as select 'org-a' as organization_id, "
            "date '2026-03-31' as as_of_date, 'In market' as co_sell_status, 4 as solution_count"
        )
        publisher.publish(con, wh, ["mart_solutions_outlook"], failed=set())
    return wh


@pytest.mark.parametrize("host", ["127.0.0.1:8050", "localhost:8050", "127.0.0.1"])
def test_local_hosts_are_served(warehouse, host):
    status, _, body = asgi_get(create_app(warehouse), host=host)
    assert status == 200 and "Referrals overview" in body


@pytest.mark.parametrize("host", ["evil.example:8050", "evil.example", "127.0.0.1.evil.example"])
def test_foreign_hosts_are_refused(warehouse, host):
    status, _, body = asgi_get(create_app(warehouse), host=host)
    assert status == 400 and "Invalid host header" in body


def test_allowed_hosts_are_configurable(warehouse):
    app = create_app(warehouse, allowed_hosts=["dash.internal"])
    assert asgi_get(app, host="dash.internal:8050")[0] == 200
    assert asgi_get(app, host="127.0.0.1:8050")[0] == 400
    assert allowed_hosts_from(["a", "b"], "c,d") == ("a", "b")  # flags win
    assert allowed_hosts_from(None, " c , d,") == ("c", "d")
    assert allowed_hosts_from(None, None) == ("127.0.0.1", "localhost")


def test_security_headers(warehouse):
    for path in ("/", "/healthz", "/static/dashboard.css"):
        status, headers, _ = asgi_get(create_app(warehouse), path)
        assert status == 200, path
        csp = dict(
            part.strip().split(" ", 1) for part in headers["content-security-policy"].split(";")
        )
        assert csp["script-src"] == "'self' 'unsafe-eval'"  # no inline script, no other origin
        assert csp["default-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
        assert csp["object-src"] == "'none'" and csp["base-uri"] == "'none'"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"


def test_missing_serving_database_is_a_503_page(tmp_path):
    status, _, body = asgi_get(create_app(tmp_path / "none" / "wh.duckdb"))
    assert status == 503 and "No published marts" in body and "referral-insights refresh" in body


@pytest.mark.parametrize("damage", ["garbage", "truncated", "directory"])
def test_corrupt_serving_database_is_a_503_page(warehouse, tmp_path, damage, monkeypatch):
    broken = tmp_path / "serving.duckdb"
    if damage == "garbage":
        broken.write_bytes(b"this is not a duckdb file\n" * 1000)
    elif damage == "truncated":
        broken.write_bytes(publisher.serving_db_path(warehouse).read_bytes()[:5000])
    else:
        broken.mkdir()
    app = create_app(tmp_path / "wh.duckdb")
    status, headers, body = asgi_get(app)
    assert status == 503, body[:500]
    assert "cannot be read" in body and "referral-insights refresh" in body
    assert "Traceback" not in body and headers["content-type"].startswith("text/html")
    assert asgi_get(app, "/report.pdf")[0] == 503

    # and the server starts (the start-up warms the default view; the chart bundle is not built)
    monkeypatch.setattr(dashboard_app._VegaBundle, "build", lambda self: None)
    assert _lifespan_startup(app) == "lifespan.startup.complete"


def _lifespan_startup(app) -> str:
    async def run():
        events = [{"type": "lifespan.startup"}]
        sent = []

        async def receive():
            if events:
                return events.pop()
            await asyncio.sleep(3600)

        async def send(message):
            sent.append(message["type"])

        task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, receive, send))
        for _ in range(100):
            if sent:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        return sent[0] if sent else "nothing"

    return asyncio.run(run())
