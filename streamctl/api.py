"""The REST API and the schema registry of one profile, failures as CliError."""

from __future__ import annotations

from typing import Any

import httpx

from .config import Profile
from .errors import UNAVAILABLE, CliError


class Api:
    def __init__(self, profile: Profile, *, timeout: float = 30.0) -> None:
        headers = {"user-agent": "streamctl"}
        if profile.credentials:
            headers["authorization"] = f"Bearer {profile.credentials}"
        if profile.organization:
            headers["x-streamhouse-organization"] = profile.organization
        self.profile = profile
        self._http = httpx.Client(base_url=profile.rest.rstrip("/"), headers=headers,
                                  timeout=timeout)

    def call(self, method: str, path: str, *, json: Any = None, params: Any = None,
             headers: dict[str, str] | None = None) -> Any:
        try:
            r = self._http.request(method, path, json=json, params=params, headers=headers)
        except httpx.ConnectError:
            raise CliError(f"cannot reach {self.profile.rest}: is StreamHouse running? (profile"
                           f" {self.profile.name!r}, --profile or STREAMCTL_REST)", UNAVAILABLE) from None
        except httpx.HTTPError as exc:
            raise CliError(f"{self.profile.rest}: {exc}", UNAVAILABLE) from None
        if r.status_code >= 400:
            try:
                message = r.json().get("message") or r.text
            except ValueError:
                message = r.text or r.reason_phrase
            raise CliError.from_status(r.status_code, f"{message} (HTTP {r.status_code})")
        if r.status_code == 204 or not r.content:
            return None
        return r.json()

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params={k: v for k, v in params.items() if v is not None})

    def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> Any:
        return self.call("POST", path, json=body, headers=headers)

    def patch(self, path: str, body: Any) -> Any:
        return self.call("PATCH", path, json=body)

    def put(self, path: str, body: Any) -> Any:
        return self.call("PUT", path, json=body)

    def delete(self, path: str, **params: Any) -> Any:
        return self.call("DELETE", path, params={k: v for k, v in params.items() if v is not None})
