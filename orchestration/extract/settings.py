"""Extraction settings: where the APIs are, the app registration's credentials, paging and retry
limits. Read from `REFERRAL_INSIGHTS_PC_*` variables when a run starts (never at import), with
explicit values (Dagster resource config) taking precedence."""

from __future__ import annotations

import os
from collections.abc import Mapping

from pydantic import BaseModel, Field, SecretStr

ENV_PREFIX = "REFERRAL_INSIGHTS_PC_"
SOURCES = ("referrals", "solutions", "marketplace_traffic")


class ExtractSettings(BaseModel):
    api_base: str = "https://api.partner.microsoft.com"
    """Base URL of the Referrals API family (the sandbox: http://127.0.0.1:8600)."""
    referrals_path: str = "/v1.0/engagements/referrals"
    solutions_path: str = "/v1.0/engagements/solutions"
    """Assumed path of the co-sell solutions list (extract.md leaves it configurable)."""
    traffic_report_url: str | None = None
    """Download URL of the scheduled marketplace-traffic CSV report; unset = not extracted."""
    authority: str = "https://login.microsoftonline.com"
    tenant_id: str | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    refresh_token: SecretStr | None = None
    """App+User refresh token for the Referrals API (refresh-token grant)."""
    api_scope: str = "https://api.partner.microsoft.com/.default"
    analytics_scope: str = "https://api.partnercenter.microsoft.com/.default"
    page_size: int = Field(100, ge=1)
    max_retries: int = Field(5, ge=0)
    """Retries of one request after a 429/5xx/timeout/dropped connection, then the run fails."""
    backoff_seconds: float = Field(1.0, ge=0)
    max_backoff_seconds: float = Field(60.0, ge=0)
    timeout_seconds: float = Field(60.0, gt=0)
    traffic_lookback_days: int = Field(7, ge=0)
    """Days before the traffic watermark asked for again: the marketplace restates recent days."""

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: object
    ) -> ExtractSettings:
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for name in cls.model_fields:
            raw = environ.get(ENV_PREFIX + name.upper())
            if raw not in (None, ""):
                values[name] = raw
        values.update({k: v for k, v in overrides.items() if v not in (None, "")})
        return cls(**values)

    @property
    def token_url(self) -> str:
        return f"{self.authority.rstrip('/')}/{self.tenant_id}/oauth2/v2.0/token"

    def missing(self, source: str) -> list[str]:
        """Environment variables a source still needs; empty when it can run."""
        needed = ["tenant_id", "client_id", "client_secret"]
        if source in ("referrals", "solutions"):
            needed.append("refresh_token")
        else:
            needed.append("traffic_report_url")
        return [ENV_PREFIX + name.upper() for name in needed if not getattr(self, name)]
