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
    max_flushes_per_second: float = 10.0
    max_buffer_bytes: int = 256 * 1024 * 1024
    wal_fsync: str = "interval"
    lease_ttl_ms: int = 10_000
    group_initial_rebalance_delay_ms: int = 200
    retention_check_seconds: float = 30.0
    cors_origins: str | None = None
    log_format: str = "auto"
    log_level: str = "info"

    @property
    def catalogue_url(self) -> str:
        return self.catalogue or f"sqlite:///{(self.data_dir / 'catalogue.db').resolve()}"

    @property
    def objects_url(self) -> str:
        return self.objects or f"file://{(self.data_dir / 'objects').resolve()}"

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
    if settings.max_flushes_per_second <= 0:
        raise ValueError("max-flushes-per-second must be positive")
    if settings.max_buffer_bytes <= 0:
        raise ValueError("max-buffer-bytes must be positive")
    split_host_port(settings.kafka_listen)
    split_host_port(settings.http_listen)
    if settings.registry_listen not in ("", "off"):
        split_host_port(settings.registry_listen)
    return settings
