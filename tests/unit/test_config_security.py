"""Listener and login settings that would be unsafe or cannot work are refused at start."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from streamhouse import config


def load(**values: str) -> config.Settings:
    parser = argparse.ArgumentParser()
    config.add_arguments(parser)
    argv = [x for k, v in values.items() for x in (f"--{k.replace('_', '-')}", v)]
    return config.load(parser.parse_args(argv), environ={})


def test_logins_on_refuse_an_anonymous_listener_open_to_the_network(tmp_path: Path) -> None:
    key = tmp_path / "admin.key"
    key.write_text("a-platform-admin-secret")
    with pytest.raises(ValueError, match="would give anyone the default organization"):
        load(admin_key_file=str(key), listeners="SASL_PLAINTEXT://0.0.0.0:9094")  # 0.0.0.0:9092
    ok = load(admin_key_file=str(key), kafka_listen="127.0.0.1:9092",
              listeners="SASL_PLAINTEXT://0.0.0.0:9094")
    assert [s.protocol for s in config.kafka_listeners(ok)] == ["PLAINTEXT", "SASL_PLAINTEXT"]
    assert load(admin_key_file=str(key), kafka_listen="off",
                listeners="SASL_PLAINTEXT://0.0.0.0:9094").kafka_listen == "off"


@pytest.mark.parametrize("values,reason", [
    ({"listeners": "SASL_PLAINTEXT://127.0.0.1:9094"}, "need --admin-key-file"),
    ({"listeners": "SSL://127.0.0.1:9094"}, "need --tls-cert and --tls-key"),
    ({"listeners": "WHAT://127.0.0.1:9094"}, "PROTOCOL one of"),
    ({"listeners": "PLAINTEXT://127.0.0.1:9094"}, "one listener per protocol"),
    ({"http_tls": "true"}, "--http-tls needs"),
    ({"kafka_listen": "off"}, "no Kafka listener"),
])
def test_impossible_listener_settings_are_refused(values: dict[str, str], reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        load(**values)


def test_the_flush_rate_follows_the_object_store_unless_set(tmp_path: Path) -> None:
    """S3 bills every PUT: 10 flushes a second at most; a local folder bills nothing, so
    acks=all answers come sooner at 50; an explicit setting wins either way."""
    assert load(data_dir=str(tmp_path)).flush_rate == config.LOCAL_FLUSH_RATE == 50.0
    assert load(objects="memory://").flush_rate == 50.0
    assert load(objects="s3://bucket/prefix").flush_rate == 10.0
    assert load(objects="s3://bucket/prefix", max_flushes_per_second="4").flush_rate == 4.0
    assert load(max_flushes_per_second="2").flush_rate == 2.0
    with pytest.raises(ValueError, match="must be positive"):
        load(max_flushes_per_second="0")
