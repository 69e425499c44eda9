"""The Entra ID token endpoint's behaviour: client-credentials and refresh-token grants, checked
against the sandbox's one registered app. Tokens are random, held in memory, expire."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class AppRegistration:
    tenant: str = "sandbox-tenant"
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    refresh_token: str = "sandbox-refresh-token"


class TokenError(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


class TokenIssuer:
    def __init__(self, app: AppRegistration, lifetime: float = 3600.0) -> None:
        self.app = app
        self.lifetime = lifetime
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (grant, expires at)
        self._lock = threading.Lock()

    def issue(self, tenant: str, form: dict[str, str]) -> dict:
        # Messages are AADSTS-like, and like Entra's they never echo a secret back.
        if tenant != self.app.tenant:
            raise TokenError(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        grant = form.get("grant_type", "")
        if grant not in ("client_credentials", "refresh_token"):
            raise TokenError(
                400, "unsupported_grant_type", f"AADSTS70003: grant_type '{grant}' not supported."
            )
        if form.get("client_id") != self.app.client_id:
            raise TokenError(
                400, "unauthorized_client",
                f"AADSTS700016: Application with identifier '{form.get('client_id')}' was not "
                "found in the directory.",
            )
        if not secrets.compare_digest(form.get("client_secret", ""), self.app.client_secret):
            raise TokenError(
                401, "invalid_client",
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                "the request is the client secret value, not the client secret ID.",
            )
        if grant == "refresh_token" and not secrets.compare_digest(
            form.get("refresh_token", ""), self.app.refresh_token
        ):
            raise TokenError(
                400, "invalid_grant",
                "AADSTS70000: The provided value for the 'refresh_token' is not valid.",
            )
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = (grant, time.monotonic() + self.lifetime)
        response = {
            "token_type": "Bearer",
            "expires_in": int(self.lifetime),
            "ext_expires_in": int(self.lifetime),
            "access_token": token,
        }
        if grant == "refresh_token":
            response["refresh_token"] = self.app.refresh_token
        return response

    def grant_of(self, authorization: str | None) -> str | None:
        """The grant a valid bearer token was issued by, or None (missing, unknown, expired)."""
        if not authorization or not authorization.startswith("Bearer "):
            return None
        with self._lock:
            entry = self._tokens.get(authorization.removeprefix("Bearer ").strip())
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def expire_all(self) -> None:
        with self._lock:
            self._tokens.clear()
