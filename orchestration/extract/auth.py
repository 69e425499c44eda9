"""Microsoft Entra ID tokens for the Partner Center APIs, built on dlt's OAuth2 helper.

The Referrals API wants App+User tokens (refresh-token grant); the analytics report accepts
app-only ones (client-credentials grant). Errors name the token URL, the HTTP status and Entra's
error code and description, which never contain the secret.
"""

from __future__ import annotations

from typing import Any

import pendulum
from dlt.common.configuration import configspec
from dlt.common.typing import TSecretStrValue
from dlt.sources.helpers.rest_client.auth import OAuth2ClientCredentials

EXPIRY_MARGIN_SECONDS = 120  # renew a little early: a token must not expire between pages


class TokenRequestFailed(RuntimeError):
    pass


@configspec
class EntraClientCredentials(OAuth2ClientCredentials):
    scope: str = None

    def build_access_token_request(self) -> dict[str, Any]:
        request = super().build_access_token_request()
        request["data"]["scope"] = self.scope
        return request

    def obtain_token(self) -> None:
        response = self.session.post(self.access_token_url, **self.build_access_token_request())
        if not response.ok:
            try:
                body = response.json()
                detail = f"{body.get('error')}: {body.get('error_description')}"
            except ValueError:
                detail = response.text[:200]
            raise TokenRequestFailed(
                f"token request to {self.access_token_url} failed: HTTP {response.status_code} "
                f"{detail}"
            )
        body = response.json()
        self.parse_native_representation(self.parse_access_token(body))
        self.token_expiry = pendulum.now().add(seconds=self.parse_expiration_in_seconds(body))

    def is_token_expired(self) -> bool:
        return pendulum.now().add(seconds=EXPIRY_MARGIN_SECONDS) >= self.token_expiry

    def renew(self, request) -> None:
        """Drop the current token (the API said 401) and sign `request` with a new one."""
        self.access_token = None
        self(request)


@configspec
class EntraRefreshToken(EntraClientCredentials):
    refresh_token: TSecretStrValue = None

    def build_access_token_request(self) -> dict[str, Any]:
        request = super().build_access_token_request()
        request["data"].update(grant_type="refresh_token", refresh_token=self.refresh_token)
        return request
