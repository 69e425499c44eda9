"""The sandbox's HTTP surface (Starlette).

Partner Center-like endpoints (see docs/extract.md for why these paths):

    POST /{tenant}/oauth2/v2.0/token                       Entra ID token endpoint (both grants)
    GET  /v1.0/engagements/referrals                       OData list, App+User token
    GET  /v1.0/engagements/solutions                       OData list, App+User token
    GET  /insights/v1/cmp/reports/marketplace-traffic.csv  the traffic report, any valid token

and an unauthenticated admin API for tests and demos (it binds 127.0.0.1 only):

    GET/POST /admin/clock      {"now": "2025-11-08T23:00:00Z"} (null: real time)
    GET/POST /admin/faults     {"rules": [{"kind": "429", "endpoint": "referrals", ...}]}
    GET/POST /admin/settings   {"next_link": true, "max_top": 10000, "token_lifetime": 3600}
    GET  /admin/stats          requests, statuses, token grants, records served
    POST /admin/reset          faults, stats, tokens and clock back to their start
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email.utils
import re
import threading
from collections import Counter
from urllib.parse import parse_qsl, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from sandbox.data import LandingData, VersionIndex, day_number, parse_instant
from sandbox.faults import FaultPlan, FaultRule
from sandbox.tokens import AppRegistration, TokenError, TokenIssuer

REFERRALS_PATH = "/v1.0/engagements/referrals"
SOLUTIONS_PATH = "/v1.0/engagements/solutions"
TRAFFIC_PATH = "/insights/v1/cmp/reports/marketplace-traffic.csv"
DEFAULT_TOP = 100
_CONDITION = re.compile(
    r"^\s*updatedDateTime\s+(gt|ge|lt|le)\s+('?[0-9][0-9T:.\-+Z]*'?)\s*$", re.IGNORECASE
)


class ODataError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)


class SandboxState:
    def __init__(self, data: LandingData, app_registration: AppRegistration) -> None:
        self.data = data
        self.tokens = TokenIssuer(app_registration)
        self.faults = FaultPlan()
        self.clock: dt.datetime | None = None
        self.next_link = True
        self.max_top = 10_000
        self.stats: Counter[str] = Counter()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        return self.clock or dt.datetime.now(dt.UTC)

    def count(self, *keys: str, n: int = 1) -> None:
        with self._lock:
            for key in keys:
                self.stats[key] += n

    def reset(self) -> None:
        self.faults.replace([])
        self.tokens.expire_all()
        self.tokens.lifetime = 3600.0
        self.clock, self.next_link, self.max_top = None, True, 10_000
        with self._lock:
            self.stats.clear()


def _date_header(state: SandboxState) -> dict[str, str]:
    # The sandbox's clock is the service's clock: the extractor names its files by this date.
    return {"Date": email.utils.format_datetime(state.now(), usegmt=True)}


def _error(state: SandboxState, status: int, code: str, message: str, **headers: str) -> Response:
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={**_date_header(state), **headers},
    )


def _bounds(filter_text: str | None) -> tuple[tuple[str, int] | None, tuple[str, int] | None]:
    """`updatedDateTime gt X [and updatedDateTime le Y]` -> lower and upper bound."""
    lower = upper = None
    if not filter_text:
        return lower, upper
    for part in re.split(r"\s+and\s+", filter_text.strip(), flags=re.IGNORECASE):
        match = _CONDITION.match(part)
        if not match:
            raise ODataError(
                f"unsupported $filter {filter_text!r}: the sandbox understands "
                "'updatedDateTime gt|ge|lt|le <ISO-8601>' joined by 'and'"
            )
        op, value = match.group(1).lower(), parse_instant(match.group(2))
        if op in ("gt", "ge"):
            lower = (op, value)
        else:
            upper = (op, value)
    return lower, upper


def _int_param(request: Request, name: str, default: int, minimum: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ODataError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ODataError(f"{name} must be >= {minimum}, got {value}")
    return value


def _page(state: SandboxState, request: Request, index: VersionIndex) -> tuple[bytes, int]:
    params = request.query_params
    order = (params.get("$orderby") or "updatedDateTime asc").strip().lower()
    if order not in ("updateddatetime", "updateddatetime asc"):
        raise ODataError(f"unsupported $orderby {order!r}: only 'updatedDateTime asc'")
    lower, upper = _bounds(params.get("$filter"))
    top = min(_int_param(request, "$top", DEFAULT_TOP, 1), state.max_top)
    skip = _int_param(request, "$skip", 0, 0)
    if params.get("$skiptoken"):
        try:
            skip = int(base64.urlsafe_b64decode(params["$skiptoken"].encode()).decode())
        except ValueError as exc:
            raise ODataError("invalid $skiptoken") from exc
    view = index.view(day_number(state.now().date()))
    start, end = 0, len(view.updated)
    if lower:
        start = int(view.updated.searchsorted(lower[1], "right" if lower[0] == "gt" else "left"))
    if upper:
        end = int(view.updated.searchsorted(upper[1], "left" if upper[0] == "lt" else "right"))
    first = start + skip
    last = min(first + top, end)
    records = index.read(view.rows[first:last]) if first < last else []
    body = b'{"value":[' + b",".join(records) + b"]"
    if params.get("$count", "").lower() == "true":
        body += b',"@odata.count":' + str(max(end - start, 0)).encode()
    if state.next_link and last < end:
        query = {k: v for k, v in params.items() if k not in ("$skip", "$skiptoken")}
        query["$skiptoken"] = base64.urlsafe_b64encode(str(skip + len(records)).encode()).decode()
        link = str(request.url.replace(query=urlencode(query)))
        body += b',"@odata.nextLink":' + ('"' + link + '"').encode()
    return body + b"}", len(records)


async def _apply_faults(state: SandboxState, endpoint: str) -> tuple[Response | None, bool]:
    """Run the faults firing on this request: a response to send instead, and whether to drop
    the connection half-way through the body."""
    drop = False
    for rule in state.faults.take(endpoint):
        state.count(f"faults.{rule.kind}")
        if rule.kind == "expire_token":
            state.tokens.expire_all()
        elif rule.kind == "slow":
            await asyncio.sleep(rule.delay)
        elif rule.kind == "drop":
            drop = True
        else:
            return _fault_response(state, rule), False
    return None, drop


def _fault_response(state: SandboxState, rule: FaultRule) -> Response:
    status = int(rule.kind)
    headers = {}
    if status in (429, 503):
        headers["Retry-After"] = f"{rule.retry_after:g}"
    code = {429: "TooManyRequests", 500: "InternalServerError", 503: "ServiceUnavailable"}[status]
    return _error(state, status, code, f"injected fault {status}", **headers)


def _dropping(body: bytes, headers: dict[str, str], media_type: str) -> Response:
    """Announce the whole body, send half of it, then break the connection."""

    async def half_then_break():
        yield body[: len(body) // 2]
        await asyncio.sleep(0.05)
        raise ConnectionAbortedError("sandbox: injected dropped connection")

    return StreamingResponse(
        half_then_break(),
        media_type=media_type,
        headers={**headers, "Content-Length": str(len(body))},
    )


def build_app(data: LandingData, app_registration: AppRegistration | None = None) -> Starlette:
    state = SandboxState(data, app_registration or AppRegistration())

    async def token(request: Request) -> Response:
        state.count("requests.token")
        fault, _ = await _apply_faults(state, "token")
        if fault is not None:
            return fault
        # form-encoded body parsed here: Starlette's request.form() needs python-multipart
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
        try:
            issued = state.tokens.issue(request.path_params["tenant"], form)
        except TokenError as exc:
            state.count(f"token.rejected.{exc.error}")
            return JSONResponse(
                {"error": exc.error, "error_description": exc.description},
                status_code=exc.status,
                headers=_date_header(state),
            )
        state.count(f"token.issued.{form['grant_type']}")
        return JSONResponse(issued, headers=_date_header(state))

    def data_endpoint(endpoint: str, index_of, user_token: bool):
        async def handler(request: Request) -> Response:
            state.count(f"requests.{endpoint}")
            fault, drop = await _apply_faults(state, endpoint)
            if fault is not None:
                return fault
            grant = state.tokens.grant_of(request.headers.get("authorization"))
            if grant is None:
                state.count(f"status.{endpoint}.401")
                return _error(
                    state, 401, "Unauthorized", "Access token is missing, invalid or expired.",
                    **{"WWW-Authenticate": 'Bearer error="invalid_token"'},
                )
            if user_token and grant != "refresh_token":
                state.count(f"status.{endpoint}.403")
                return _error(
                    state, 403, "Forbidden",
                    "This API needs an App+User token (refresh-token grant); app-only tokens "
                    "are not accepted.",
                )
            if endpoint == "traffic":
                body = state.data.traffic.csv_at(day_number(state.now().date()))
                media_type, served = "text/csv; charset=utf-8", body.count(b"\n") - 1
            else:
                try:
                    body, served = _page(state, request, index_of())
                except ODataError as exc:
                    return _error(state, 400, "BadRequest", str(exc))
                media_type = "application/json"
            state.count(f"status.{endpoint}.200")
            if drop:
                return _dropping(body, _date_header(state), media_type)
            state.count(f"served.{endpoint}", n=served)
            return Response(body, media_type=media_type, headers=_date_header(state))

        return handler

    async def clock(request: Request) -> Response:
        if request.method == "POST":
            now = (await request.json()).get("now")
            state.clock = (
                None if now is None
                else dt.datetime.fromtimestamp(parse_instant(now) / 1e6, dt.UTC)
            )
        return JSONResponse({"now": state.now().isoformat(), "fixed": state.clock is not None})

    async def faults(request: Request) -> Response:
        if request.method == "POST":
            try:
                state.faults.replace((await request.json()).get("rules", []))
            except (TypeError, ValueError) as exc:
                return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"rules": state.faults.describe()})

    async def settings(request: Request) -> Response:
        if request.method == "POST":
            body = await request.json()
            state.next_link = bool(body.get("next_link", state.next_link))
            state.max_top = int(body.get("max_top", state.max_top))
            state.tokens.lifetime = float(body.get("token_lifetime", state.tokens.lifetime))
        return JSONResponse(
            {
                "next_link": state.next_link,
                "max_top": state.max_top,
                "token_lifetime": state.tokens.lifetime,
            }
        )

    async def stats(request: Request) -> Response:
        return JSONResponse(dict(state.stats))

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def health(request: Request) -> Response:
        return JSONResponse(
            {
                "referral_versions": len(state.data.referrals),
                "referrals": len(state.data.referrals.ids),
                "solution_versions": len(state.data.solutions),
                "traffic_rows": len(state.data.traffic.rows),
                "raw_dir": str(state.data.raw_dir),
            }
        )

    routes = [
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route(REFERRALS_PATH, data_endpoint("referrals", lambda: state.data.referrals, True)),
        Route(SOLUTIONS_PATH, data_endpoint("solutions", lambda: state.data.solutions, True)),
        Route(TRAFFIC_PATH, data_endpoint("traffic", None, False)),
        Route("/admin/clock", clock, methods=["GET", "POST"]),
        Route("/admin/faults", faults, methods=["GET", "POST"]),
        Route("/admin/settings", settings, methods=["GET", "POST"]),
        Route("/admin/stats", stats),
        Route("/admin/reset", reset, methods=["POST"]),
        Route("/admin/health", health),
    ]
    app = Starlette(routes=routes)
    app.state.sandbox = state
    return app
