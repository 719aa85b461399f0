"""Profiles: named clusters in ~/.config/streamctl/config.toml (or $STREAMCTL_CONFIG).

    current = "local"

    [profiles.local]
    rest = "http://localhost:8080"
    bootstrap = "localhost:9092"
    registry = "http://localhost:8081"
    credentials = "KEYID:SECRET"      # an API key; empty while logins are off
    organization = ""                 # the platform admin's chosen organization
    [profiles.local.kafka]            # any client property (librdkafka names)
    "security.protocol" = "SASL_PLAINTEXT"

The environment overrides the chosen profile (STREAMCTL_REST, STREAMCTL_BOOTSTRAP,
STREAMCTL_REGISTRY, STREAMCTL_CREDENTIALS, STREAMCTL_ORGANIZATION), and `-X key=value`
overrides any Kafka client property.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import USAGE, CliError

FIELDS = ("rest", "bootstrap", "registry", "credentials", "organization")


@dataclass
class Profile:
    name: str = "local"
    rest: str = "http://localhost:8080"
    bootstrap: str = "localhost:9092"
    registry: str = "http://localhost:8081"
    credentials: str = ""
    organization: str = ""
    kafka: dict[str, str] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """What `profile list` shows: the secret half of the credentials hidden."""
        out = asdict(self)
        if self.credentials:
            key, sep, _secret = self.credentials.partition(":")
            out["credentials"] = f"{key}:****" if sep else "****"
        return out


def path() -> Path:
    given = os.environ.get("STREAMCTL_CONFIG")
    if given:
        return Path(given)
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "streamctl" / "config.toml"


def load_all() -> tuple[str | None, dict[str, Profile]]:
    p = path()
    if not p.exists():
        return None, {}
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise CliError(f"cannot read {p}: {exc}", USAGE) from None
    profiles = {}
    for name, values in (data.get("profiles") or {}).items():
        known = {k: str(v) for k, v in values.items() if k in FIELDS}
        kafka = {str(k): str(v) for k, v in (values.get("kafka") or {}).items()}
        profiles[name] = Profile(name=name, kafka=kafka, **known)
    return data.get("current"), profiles


def save_all(current: str | None, profiles: dict[str, Profile]) -> Path:
    import tomli_w

    p = path()
    p.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {}
    if current:
        data["current"] = current
    data["profiles"] = {
        name: {**{k: getattr(pr, k) for k in FIELDS}, **({"kafka": pr.kafka} if pr.kafka else {})}
        for name, pr in profiles.items()
    }
    # It holds credentials: the owner's only, from the moment it exists.
    fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(tomli_w.dumps(data))
    p.chmod(0o600)  # a file made before by another tool
    return p


def resolve(name: str | None, overrides: list[str]) -> Profile:
    """The profile to use: --profile, else the current one, else the defaults (localhost);
    then the environment, then -X overrides."""
    current, profiles = load_all()
    chosen = name or os.environ.get("STREAMCTL_PROFILE") or current
    if chosen and chosen not in profiles and name:
        known = ", ".join(sorted(profiles)) or "none yet"
        raise CliError(f"no profile {chosen!r} (profiles: {known}; see `streamctl profile create`)",
                       USAGE)
    profile = profiles.get(chosen or "", Profile())
    for f in FIELDS:
        env = os.environ.get(f"STREAMCTL_{f.upper()}")
        if env is not None:
            setattr(profile, f, env)
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CliError(f"-X takes key=value, got {item!r}", USAGE)
        profile.kafka[key] = value
    return profile
