"""The dashboard web app (Starlette): one server-rendered page per selection, its PDF, and the
locally served chart library.

Every selector is a plain GET form, so each view has a URL (`/?org=…&range=6M&country=NL`) and the
PDF link repeats the same parameters (`/report.pdf?…`). The page reads only the published serving
database (see queries.py), opening it per request so a newer published version shows on the next
view without a restart.
"""

from __future__ import annotations

import hashlib
import time
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from dashboard.charts import VEGA_LITE_VERSION
from dashboard.time_range import STANDARD_RANGES
from dashboard.view import (
    Dashboard,
    DashboardUnavailable,
    UnknownOrganization,
    build_dashboard,
)
from orchestration.serving import by_organization
from orchestration.serving.publisher import serving_db_path

HERE = Path(__file__).resolve().parent
# Vega compiles its expressions with `new Function`, hence 'unsafe-eval'; nothing else is allowed
# but this origin (no inline scripts: the chart specs travel as JSON data).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# Host names the server answers to; any other Host header gets HTTP 400. A page on another site
# that rebinds its DNS name to 127.0.0.1 (DNS rebinding) sends its own name, so it is refused.
DEFAULT_ALLOWED_HOSTS = ("127.0.0.1", "localhost")
ALLOWED_HOSTS_ENV = "REFERRAL_INSIGHTS_DASHBOARD_ALLOWED_HOSTS"


class _SecurityHeaders:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")  # frame-ancestors for old browsers
                headers.setdefault("Referrer-Policy", "no-referrer")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _VegaBundle:
    """vega-embed, Vega-Lite and Vega in one self-contained script from vl-convert (the page needs
    no CDN), built once (~1.5 s) when the server starts, then served from memory."""

    def __init__(self) -> None:
        self.body: bytes | None = None
        self.etag = ""

    def build(self) -> None:
        import vl_convert

        self.body = vl_convert.javascript_bundle(vl_version=VEGA_LITE_VERSION).encode()
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'


def _prepare_at_startup(bundle: _VegaBundle, serving_db: Path, organization: str | None):
    """Build the chart bundle, and build the default view once so that the first visitor does
    not pay for Altair's chart templates and DuckDB's first read."""

    @asynccontextmanager
    async def lifespan(app: Starlette):
        bundle.build()
        try:
            build_dashboard(serving_db, {}, organization)
        except (DashboardUnavailable, UnknownOrganization):
            pass  # the page says so to whoever asks (a missing or corrupt database: HTTP 503)
        yield

    return lifespan


def create_app(
    warehouse: Path,
    organization: str | None = None,
    allowed_hosts: list[str] | tuple[str, ...] = DEFAULT_ALLOWED_HOSTS,
) -> Starlette:
    """The app over `warehouse`'s published marts; with `organization`, over that
    organization's own serving database only (serving/by_organization/), so no other
    organization's rows are within its reach."""
    warehouse = Path(warehouse).resolve()
    if organization is None:
        serving_db = serving_db_path(warehouse)
    else:
        serving_db = by_organization.serving_db_path(warehouse, organization)
    default_organization = organization
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    bundle = _VegaBundle()

    def message(
        request: Request, status: int, heading: str, text: str, link: str | None = None
    ) -> Response:
        return templates.TemplateResponse(
            request,
            "message.html",
            {
                "heading": heading,
                "message": text,
                "link": link,
                "link_text": "Back to the default view",
            },
            status_code=status,
        )

    def load(request: Request) -> Dashboard | Response:
        try:
            return build_dashboard(serving_db, request.query_params, default_organization)
        except UnknownOrganization as exc:
            return message(
                request,
                404,
                "Unknown organization",
                f"No organization {exc.args[0]!r} in the published marts.",
                "/",
            )
        except DashboardUnavailable as exc:
            return message(request, 503, "No published marts yet", str(exc))

    def page(request: Request) -> Response:
        started = time.perf_counter()
        dashboard = load(request)
        if isinstance(dashboard, Response):
            return dashboard
        built = time.perf_counter()
        specs = {
            f"chart-{w.key}-{i}": chart.spec
            for w in dashboard.widgets
            for i, chart in enumerate(w.charts, start=1)
        }
        response = templates.TemplateResponse(
            request, "dashboard.html", {"d": dashboard, "specs": specs, "ranges": STANDARD_RANGES}
        )
        done = time.perf_counter()
        # visible in the browser's devtools and to the load-time measurement
        response.headers["Server-Timing"] = (
            f"queries;dur={(built - started) * 1000:.1f}, render;dur={(done - built) * 1000:.1f}"
        )
        response.headers["Cache-Control"] = "no-store"
        return response

    def report(request: Request) -> Response:
        from dashboard.pdf import render_pdf, report_file_name

        dashboard = load(request)
        if isinstance(dashboard, Response):
            return dashboard
        return Response(
            render_pdf(dashboard),
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{report_file_name(dashboard)}"',
                "Cache-Control": "no-store",
            },
        )

    def vega_bundle(request: Request) -> Response:
        if bundle.body is None:
            bundle.build()
        if request.headers.get("if-none-match") == bundle.etag:
            return Response(status_code=304, headers={"ETag": bundle.etag})
        return Response(
            bundle.body,
            media_type="text/javascript",
            headers={"ETag": bundle.etag, "Cache-Control": "public, max-age=86400"},
        )

    def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/", page),
            Route("/report.pdf", report),
            Route("/static/vega-bundle.js", vega_bundle),
            Route("/healthz", health),
            Route("/favicon.ico", lambda request: Response(status_code=204)),
            Mount("/static", StaticFiles(directory=str(HERE / "static")), name="static"),
        ],
        middleware=[
            Middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts)),
            Middleware(_SecurityHeaders),
        ],
        lifespan=_prepare_at_startup(bundle, serving_db, default_organization),
    )
    app.state.serving_db = serving_db
    return app


def allowed_hosts_from(flags: list[str] | None, env: str | None) -> tuple[str, ...]:
    """`--allowed-host` flags, else the comma-separated environment variable, else the default."""
    hosts = [h.strip() for h in (flags or (env or "").split(",")) if h.strip()]
    return tuple(hosts) or DEFAULT_ALLOWED_HOSTS


def serve(
    warehouse: Path,
    host: str = "127.0.0.1",
    port: int = 8050,
    organization: str | None = None,
    allowed_hosts: tuple[str, ...] = DEFAULT_ALLOWED_HOSTS,
) -> None:
    import uvicorn

    app = create_app(warehouse, organization, allowed_hosts)
    print(
        f"Referrals overview dashboard on http://{host}:{port}/ (reads {app.state.serving_db}; "
        f"answers to Host {', '.join(allowed_hosts)})"
    )
    uvicorn.run(app, host=host, port=port, log_level="warning")
