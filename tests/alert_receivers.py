"""Real local alert receivers for the tests: an HTTP server that records webhook posts (Teams,
Slack) and an SMTP server that requires STARTTLS and a login (aiosmtpd, certificates from a
throwaway trustme CA). Both bind 127.0.0.1 on a free port."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from contextlib import contextmanager
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """Records every POST as (path, JSON body); answers 200 "1" (what Teams' legacy connector
    answers; Slack and Workflows webhooks only need a 2xx)."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.posts.append((self.path, json.loads(body or b"{}")))
                self.send_response(200)
                self.send_header("Content-Length", "1")
                self.end_headers()
                self.wfile.write(b"1")

            def log_message(self, *args):  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self, path: str) -> list[str]:
        """The posted messages' text, whatever the payload format."""
        return [json.dumps(body) for p, body in self.posts if p == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """aiosmtpd with STARTTLS required before MAIL and AUTH (login alerts / secret)."""

    USER, PASSWORD = "alerts", "secret"

    def __init__(self, tmp: Path) -> None:
        import trustme
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        ca = trustme.CA()
        self.ca_file = tmp / "smtp-ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_file))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.messages = []
        receiver = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                receiver.messages.append(
                    message_from_bytes(envelope.original_content, policy=default_policy)
                )
                return "250 OK"

        def authenticate(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login == self.USER.encode() and auth_data.password == self.PASSWORD.encode()
            return AuthResult(success=ok)

        self.port = free_port()
        self.controller = Controller(
            Handler(),
            hostname="127.0.0.1",
            port=self.port,
            tls_context=context,
            require_starttls=True,
            authenticator=authenticate,
            auth_required=True,
        )
        self.controller.start()

    def close(self) -> None:
        self.controller.stop()


@contextmanager
def receivers(tmp: Path):
    web, smtp = WebhookReceiver(), SmtpReceiver(tmp)
    try:
        yield web, smtp
    finally:
        web.close()
        smtp.close()


def alert_env(web: WebhookReceiver, smtp: SmtpReceiver, slack_url: str | None = None) -> dict:
    """Environment configuring all three channels at the receivers (Slack at `slack_url` when
    given, e.g. a closed port)."""
    return {
        "REFERRAL_INSIGHTS_ALERT_TEAMS_WEBHOOK_URL": f"{web.url}/teams",
        "REFERRAL_INSIGHTS_ALERT_SLACK_WEBHOOK_URL": slack_url or f"{web.url}/slack",
        "REFERRAL_INSIGHTS_ALERT_SMTP_HOST": "127.0.0.1",
        "REFERRAL_INSIGHTS_ALERT_SMTP_PORT": str(smtp.port),
        "REFERRAL_INSIGHTS_ALERT_SMTP_USERNAME": smtp.USER,
        "REFERRAL_INSIGHTS_ALERT_SMTP_PASSWORD": smtp.PASSWORD,
        "REFERRAL_INSIGHTS_ALERT_SMTP_SENDER": "pipeline@example.test",
        "REFERRAL_INSIGHTS_ALERT_SMTP_RECIPIENTS": "ops@example.test, data@example.test",
        "REFERRAL_INSIGHTS_ALERT_TIMEOUT_SECONDS": "5",
        # the client trusts the throwaway CA through OpenSSL's standard variable
        "SSL_CERT_FILE": str(smtp.ca_file),
    }
