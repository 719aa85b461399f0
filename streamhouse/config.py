"""Server configuration: flags, then STREAMHOUSE_* environment variables, then a TOML file."""

from __future__ import annotations

import argparse
import os
import tomllib
import uuid
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    data_dir: Path = Path("./data")
    kafka_listen: str = "0.0.0.0:9092"
    advertised_host: str | None = None
    advertised_port: int | None = None
    http_listen: str = "0.0.0.0:8080"
    registry_listen: str = "0.0.0.0:8081"
    catalogue: str | None = None
    objects: str | None = None
    agent_id: str | None = None
    rack: str | None = None
    agent_group: str = "default"
    cluster_id: str = "streamhouse"
    auto_create_topics: bool = True
    default_partitions: int = 1
    max_request_bytes: int = 100 * 1024 * 1024
    # The PUT budget; unset: 10 on an object store that bills per request (S3), 50 on a local
    # folder or memory://, which do not (see flush_rate).
    max_flushes_per_second: float | None = None
    max_buffer_bytes: int = 256 * 1024 * 1024
    # At most this many objects (PUTs) per flush, however many organizations wrote to it:
    # the smaller ones share the last object (DESIGN.md §4.3, docs/SECURITY.md).
    objects_per_flush: int = 4
    # The share of the write buffer one organization may hold (unset: 0.5 with logins on,
    # 1.0 without, when everything belongs to the default organization).
    tenant_buffer_share: float | None = None
    # The share one partition may hold: a hot partition is refused (retriable) before the
    # others run out of room.
    partition_buffer_share: float = 0.25
    wal_fsync: str = "interval"
    lease_ttl_ms: int = 10_000
    group_initial_rebalance_delay_ms: int = 200
    retention_check_seconds: float = 30.0
    # How long a deleted organization's data stays before it is removed (catalogue rows and
    # the objects under its prefix).
    org_deletion_grace_ms: int = 7 * 24 * 3600 * 1000
    cors_origins: str | None = None
    console: bool = True  # the web console at / (off: the HTTP port serves the API only)
    # Extra Kafka listeners, comma-separated PROTOCOL://HOST:PORT with PROTOCOL one of
    # PLAINTEXT, SASL_PLAINTEXT, SSL, SASL_SSL (kafka_listen stays the PLAINTEXT one; "off"
    # turns it off).
    listeners: str | None = None
    # What clients are told to connect to, per protocol (PROTOCOL://HOST:PORT, comma-separated).
    advertised_listeners: str | None = None
    tls_cert: Path | None = None  # PEM certificate (chain) for SSL and SASL_SSL, and HTTPS
    tls_key: Path | None = None  # its PEM private key
    http_tls: bool = False  # serve the REST API and the registry over HTTPS with it too
    # A file holding the platform admin's secret: with it, logins are required (SASL on the
    # SASL listeners, API keys on HTTP); without it, every port is open as before.
    admin_key_file: Path | None = None
    # KIP-368: sessions end after this unless re-authenticated (0: as long as their key),
    # so a key revoked through another agent stops working here within it.
    connections_max_reauth_ms: int = 3_600_000
    log_format: str = "auto"
    log_level: str = "info"

    @property
    def catalogue_url(self) -> str:
        return self.catalogue or f"sqlite:///{(self.data_dir / 'catalogue.db').resolve()}"

    @property
    def objects_url(self) -> str:
        return self.objects or f"file://{(self.data_dir / 'objects').resolve()}"

    @property
    def flush_rate(self) -> float:
        """Flushes a second at most: the setting, or the object store's default. On S3 each
        flush is up to `objects_per_flush` billed PUTs, so 10; a local folder bills
        nothing, and flushing more often makes acks=all answers sooner (bench/scale.py)."""
        if self.max_flushes_per_second is not None:
            return self.max_flushes_per_second
        return LOCAL_FLUSH_RATE if self.objects_url.startswith(LOCAL_STORES) else 10.0

    def resolved_agent_id(self) -> str:
        if self.agent_id:
            return self.agent_id
        path = self.data_dir / "agent-id"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        agent = f"agent-{uuid.uuid4().hex[:8]}"
        path.write_text(agent + "\n")
        return agent


# Object stores with no per-request price, and how often a flush may go to them.
LOCAL_STORES = ("file:", "memory:")
LOCAL_FLUSH_RATE = 50.0

PROTOCOLS = ("PLAINTEXT", "SASL_PLAINTEXT", "SSL", "SASL_SSL")


@dataclass(frozen=True, slots=True, kw_only=True)
class ListenerSpec:
    protocol: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")


def _listener_list(value: str | None, what: str) -> list[ListenerSpec]:
    out = []
    for item in (value or "").split(","):
        item = item.strip()
        if not item:
            continue
        protocol, sep, address = item.partition("://")
        if not sep or protocol not in PROTOCOLS:
            raise ValueError(f"{what}: expected PROTOCOL://HOST:PORT with PROTOCOL one of"
                             f" {', '.join(PROTOCOLS)}, got {item!r}")
        host, port = split_host_port(address)
        out.append(ListenerSpec(protocol=protocol, host=host, port=port))
    return out


def kafka_listeners(settings: Settings) -> list[ListenerSpec]:
    """The Kafka listeners: kafka_listen as PLAINTEXT (unless "off"), then `listeners`."""
    specs = []
    if settings.kafka_listen != "off":
        host, port = split_host_port(settings.kafka_listen)
        specs.append(ListenerSpec(protocol="PLAINTEXT", host=host, port=port))
    specs += _listener_list(settings.listeners, "listeners")
    if len({s.protocol for s in specs}) != len(specs):
        raise ValueError("listeners: one listener per protocol")
    return specs


def advertised_listeners(settings: Settings) -> dict[str, tuple[str, int]]:
    return {s.protocol: (s.host, s.port)
            for s in _listener_list(settings.advertised_listeners, "advertised-listeners")}


def split_host_port(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    return host, int(port)


_BOOL = {
    "1": True,
    "true": True,
    "yes": True,
    "on": True,
    "0": False,
    "false": False,
    "no": False,
    "off": False,
}


def _coerce(name: str, value: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if value is None:
        return None
    if "Path" in str(kind):
        return Path(value)
    if "bool" in str(kind):
        if isinstance(value, bool):
            return value
        if str(value).lower() not in _BOOL:
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return _BOOL[str(value).lower()]
    if "int" in str(kind) and "str" not in str(kind):
        return int(value)
    if "float" in str(kind):
        return float(value)
    return str(value)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", help="TOML file with settings (lowest precedence)")
    for f in fields(Settings):
        flag = "--" + f.name.replace("_", "-")
        parser.add_argument(
            flag,
            dest=f.name,
            default=None,
            help=f"env STREAMHOUSE_{f.name.upper()} (default: {f.default})",
        )


def load(args: argparse.Namespace, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = {}
    config_file = getattr(args, "config", None) or environ.get("STREAMHOUSE_CONFIG")
    if config_file:
        with open(config_file, "rb") as fh:
            for key, value in tomllib.load(fh).items():
                values[key.replace("-", "_")] = value
    for f in fields(Settings):
        env = environ.get(f"STREAMHOUSE_{f.name.upper()}")
        if env is not None:
            values[f.name] = env
        flag = getattr(args, f.name, None)
        if flag is not None:
            values[f.name] = flag
    known = {f.name for f in fields(Settings)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    settings = Settings(**{k: _coerce(k, v) for k, v in values.items()})
    if settings.wal_fsync not in ("always", "interval", "never"):
        raise ValueError("wal-fsync must be always, interval or never")
    if settings.max_flushes_per_second is not None and settings.max_flushes_per_second <= 0:
        raise ValueError("max-flushes-per-second must be positive")
    if settings.objects_per_flush < 1:
        raise ValueError("objects-per-flush must be at least 1")
    share = settings.tenant_buffer_share
    if share is not None and not 0 < share <= 1:
        raise ValueError("tenant-buffer-share must be in (0, 1]")
    if not 0 < settings.partition_buffer_share <= 1:
        raise ValueError("partition-buffer-share must be in (0, 1]")
    if settings.max_buffer_bytes <= 0:
        raise ValueError("max-buffer-bytes must be positive")
    if settings.kafka_listen != "off":
        split_host_port(settings.kafka_listen)
    specs = kafka_listeners(settings)
    if not specs:
        raise ValueError("no Kafka listener: set kafka-listen or listeners")
    if any(s.tls for s in specs) and not (settings.tls_cert and settings.tls_key):
        raise ValueError("SSL and SASL_SSL listeners need --tls-cert and --tls-key")
    if settings.http_tls and not (settings.tls_cert and settings.tls_key):
        raise ValueError("--http-tls needs --tls-cert and --tls-key")
    if settings.admin_key_file is not None:
        for s in specs:
            if not s.sasl and s.host not in ("127.0.0.1", "::1", "localhost"):
                raise ValueError(
                    f"with logins on, the anonymous {s.protocol} listener on {s.host}:{s.port}"
                    " would give anyone the default organization: bind it to 127.0.0.1,"
                    " or turn it off (--kafka-listen off)")
    if any(s.sasl for s in specs) and settings.admin_key_file is None:
        raise ValueError("SASL listeners need --admin-key-file (the platform admin's secret)")
    split_host_port(settings.http_listen)
    if settings.registry_listen not in ("", "off"):
        split_host_port(settings.registry_listen)
    return settings
