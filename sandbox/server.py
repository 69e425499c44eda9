"""Run the sandbox: index a landing zone (or generate a small one) and serve it with uvicorn."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

import uvicorn

from sandbox.app import build_app
from sandbox.data import LandingData
from sandbox.tokens import AppRegistration

log = logging.getLogger(__name__)

# What the sandbox generates when no landing zone is given: a quarter of weekly snapshots.
DEFAULT_DATA = dict(organizations=3, referrals=2_000, start=dt.date(2025, 11, 1), days=91)


def default_landing_zone() -> Path:
    from synthetic.generator import generate

    out = Path(tempfile.mkdtemp(prefix="sandbox-data-"))
    generate(out, **DEFAULT_DATA)
    return out


def app_registration_from_env() -> AppRegistration:
    """The sandbox's own app registration; defaults suit .env.example's sandbox section."""
    defaults = AppRegistration()
    return AppRegistration(
        tenant=os.environ.get("SANDBOX_TENANT_ID", defaults.tenant),
        client_id=os.environ.get("SANDBOX_CLIENT_ID", defaults.client_id),
        client_secret=os.environ.get("SANDBOX_CLIENT_SECRET", defaults.client_secret),
        refresh_token=os.environ.get("SANDBOX_REFRESH_TOKEN", defaults.refresh_token),
    )


def serve(raw_dir: Path | None, host: str = "127.0.0.1", port: int = 8600) -> None:
    """Serve until interrupted. Port 0 picks a free port; the first line printed to stdout is
    `sandbox listening on http://host:port` either way (tests and `make demo` read it)."""
    generated = None
    if raw_dir is None:
        raw_dir = generated = default_landing_zone()
        print(f"sandbox: generated a landing zone in {raw_dir}", file=sys.stderr)
    data = LandingData(raw_dir.resolve())
    app = build_app(data, app_registration_from_env())
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # listening before the line is printed: a client that read it can connect at once (the
    # connection waits in the backlog until uvicorn's loop accepts it)
    sock.listen(2048)
    bound = sock.getsockname()[1]
    print(f"sandbox listening on http://{host}:{bound}", flush=True)
    # The app sends its own Date header (the sandbox clock), so uvicorn's is turned off.
    config = uvicorn.Config(
        app, log_level="warning", access_log=False, date_header=False, server_header=False
    )
    # uvicorn re-raises SIGTERM after its graceful shutdown; exiting through SystemExit lets
    # the cleanup below run (a default SIGTERM would end the process first)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        data.close()
        if generated is not None:
            shutil.rmtree(generated, ignore_errors=True)
