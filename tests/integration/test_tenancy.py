"""Organizations over a real agent: two organizations with the same topic and group names,
logged in with SASL/PLAIN and SCRAM through real clients, never see each other; bad logins
are refused cleanly and leave every other connection working."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kio.schema.errors import ErrorCode
from kio.schema.metadata.v12.request import MetadataRequest
from kio.schema.sasl_authenticate.v2.request import SaslAuthenticateRequest
from kio.schema.sasl_handshake.v1.request import SaslHandshakeRequest

from tests.conftest import ServerProcess, free_port
from tests.unit.test_credentials import client_final
from tests.wire import Wire

ADMIN_SECRET = "platform-admin-secret-for-tests"


@dataclass
class Org:
    id: str
    slug: str
    key: str
    secret: str
    reader_key: str
    reader_secret: str


@dataclass
class Secured:
    server: ServerProcess
    sasl_port: int
    acme: Org
    globex: Org

    @property
    def sasl(self) -> str:
        return f"127.0.0.1:{self.sasl_port}"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.server.http_port}"


def admin_headers(secret: str = ADMIN_SECRET) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def bearer(key: str, secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}:{secret}"}


def _org(http: str, slug: str) -> Org:
    created = httpx.post(f"{http}/api/v1/organizations", json={"slug": slug},
                         headers=admin_headers())
    assert created.status_code == 201, created.text
    org_id = created.json()["id"]
    keys = []
    for scope in ("admin", "read-only"):
        r = httpx.post(f"{http}/api/v1/organizations/{org_id}/api-keys",
                       json={"scope": scope}, headers=admin_headers())
        assert r.status_code == 201, r.text
        keys.append((r.json()["id"], r.json()["secret"]))
    return Org(id=org_id, slug=slug, key=keys[0][0], secret=keys[0][1],
               reader_key=keys[1][0], reader_secret=keys[1][1])


@pytest.fixture
def secured(server_factory: type[ServerProcess], tmp_path: Path) -> Iterator[Secured]:
    key_file = tmp_path / "admin.key"
    key_file.write_text(ADMIN_SECRET + "\n")
    sasl_port = free_port()
    server = server_factory(tmp_path / "server", extra=[
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "--admin-key-file", str(key_file)]).start()
    http = f"http://127.0.0.1:{server.http_port}"
    yield Secured(server=server, sasl_port=sasl_port, acme=_org(http, "acme"),
                  globex=_org(http, "globex"))
    server.stop()


def conf(s: Secured, org: Org, mechanism: str, **extra: Any) -> dict[str, Any]:
    return {"bootstrap.servers": s.sasl, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism, "sasl.username": org.key, "sasl.password": org.secret,
            **extra}


def consume_all(config: dict[str, Any], topic: str, want: int, timeout: float = 20) -> list[bytes]:
    c = Consumer({**config, "group.id": "g", "auto.offset.reset": "earliest",
                  "enable.auto.commit": True})
    c.subscribe([topic])
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < want and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m.value())
    c.commit(asynchronous=False)
    c.close()
    return got


def test_two_organizations_share_names_but_nothing_else(secured: Secured) -> None:
    s = secured
    for org, mechanism, values in ((s.acme, "PLAIN", [b"acme-1", b"acme-2"]),
                                   (s.globex, "SCRAM-SHA-512", [b"globex-1"])):
        p = Producer(conf(s, org, mechanism))
        for v in values:
            p.produce("orders", value=v)
        assert p.flush(15) == 0
    # Same topic and group names, each organization its own records and offsets.
    assert consume_all(conf(s, s.acme, "SCRAM-SHA-256"), "orders", 2) == [b"acme-1", b"acme-2"]
    assert consume_all(conf(s, s.globex, "PLAIN"), "orders", 1) == [b"globex-1"]
    c = Consumer({**conf(s, s.acme, "PLAIN"), "group.id": "g"})
    [committed] = c.committed([TopicPartition("orders", 0)], timeout=10)
    c.close()
    assert committed.offset == 2  # acme's commit; globex's group "g" committed 1
    c = Consumer({**conf(s, s.globex, "PLAIN"), "group.id": "g"})
    [committed] = c.committed([TopicPartition("orders", 0)], timeout=10)
    c.close()
    assert committed.offset == 1

    # Usage per organization: its own topics and traffic, another's unseen.
    usage = httpx.get(f"{s.http}/api/v1/organizations/{s.acme.id}/usage",
                      headers=bearer(s.acme.key, s.acme.secret)).json()
    assert usage["topics"] == 1 and usage["records"] == 2
    assert usage["bytes_in"] > 0 and usage["bytes_out"] > 0 and usage["storage_bytes"] > 0
    assert httpx.get(f"{s.http}/api/v1/organizations/{s.globex.id}/usage",
                     headers=bearer(s.acme.key, s.acme.secret)).status_code == 404
    metrics = httpx.get(f"{s.http}/metrics", headers=admin_headers()).text
    assert f'streamhouse_org_bytes_total{{direction="in",org="{s.acme.id}"}}' in metrics

    # Objects sit under each organization's own prefix, and hold only its records.
    objects = s.server.data_dir / "objects"
    for org, mine, theirs in ((s.acme, b"acme-1", b"globex-1"), (s.globex, b"globex-1", b"acme-1")):
        data = b"".join(f.read_bytes() for f in (objects / f"org-{org.id}").rglob("*.seg"))
        assert mine in data and theirs not in data


def test_a_foreign_name_answers_exactly_as_an_unknown_one(secured: Secured) -> None:
    s = secured
    admin_g = AdminClient(conf(s, s.globex, "PLAIN"))
    admin_g.create_topics([NewTopic("globex-only", 1)])["globex-only"].result(15)
    admin_a = AdminClient(conf(s, s.acme, "PLAIN"))
    assert "globex-only" not in admin_a.list_topics(timeout=10).topics

    w = Wire(s.sasl)
    login(w, "PLAIN", b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode())
    answers = []
    for name in ("globex-only", "never-created"):
        md = w.call(MetadataRequest, {"topics": [{"name": name, "topic_id": None}],
                                      "allow_auto_topic_creation": False,
                                      "include_topic_authorized_operations": False})
        answers.append((md.topics[0].error_code, len(md.topics[0].partitions)))
    w.close()
    assert answers[0] == answers[1] == (ErrorCode.unknown_topic_or_partition, 0)

    # Deleting it from acme answers unknown and leaves globex's topic alone.
    result = admin_a.delete_topics(["globex-only"])["globex-only"]
    with pytest.raises(KafkaException, match="UNKNOWN_TOPIC_OR_PART"):
        result.result(15)
    assert "globex-only" in admin_g.list_topics(timeout=10).topics

    # Over REST: the same 404 body, but for the name, as for a topic nobody has.
    foreign = httpx.get(f"{s.http}/api/v1/topics/globex-only", headers=bearer(s.acme.key, s.acme.secret))
    unknown = httpx.get(f"{s.http}/api/v1/topics/nope", headers=bearer(s.acme.key, s.acme.secret))
    assert foreign.status_code == unknown.status_code == 404
    assert foreign.json()["message"].replace("globex-only", "X") == \
        unknown.json()["message"].replace("nope", "X")
    # An organization's admin sees its own organization only, and no other's keys.
    other = httpx.get(f"{s.http}/api/v1/organizations/{s.globex.id}",
                      headers=bearer(s.acme.key, s.acme.secret))
    missing = httpx.get(f"{s.http}/api/v1/organizations/0000000000000000",
                        headers=bearer(s.acme.key, s.acme.secret))
    assert other.status_code == missing.status_code == 404
    keys = httpx.get(f"{s.http}/api/v1/organizations/{s.globex.id}/api-keys",
                     headers=bearer(s.acme.key, s.acme.secret))
    assert keys.status_code == 404
    listed = httpx.get(f"{s.http}/api/v1/organizations", headers=bearer(s.acme.key, s.acme.secret))
    assert [o["slug"] for o in listed.json()] == ["acme"]


def login(w: Wire, mechanism: str, token: bytes) -> Any:
    hs = w.call(SaslHandshakeRequest, {"mechanism": mechanism})
    assert hs.error_code == ErrorCode.none
    return w.call(SaslAuthenticateRequest, {"auth_bytes": token})


def test_bad_logins_are_refused_cleanly_and_others_go_on(secured: Secured) -> None:
    s = secured
    plain_ok = b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode()
    # A connection that keeps working through all of it.
    bystander = Wire(s.sasl)
    assert login(bystander, "PLAIN", plain_ok).error_code == ErrorCode.none

    # A request before authentication closes that connection (no answer).
    w = Wire(s.sasl)
    assert w.call(MetadataRequest, {"topics": [], "allow_auto_topic_creation": False,
                                    "include_topic_authorized_operations": False}) is None
    w.close()

    cases = [
        ("PLAIN", b"\0" + s.acme.key.encode() + b"\0wrong-secret", "invalid credentials"),
        ("PLAIN", b"no-separators", "malformed SASL/PLAIN"),
        ("PLAIN", b"\0" + s.acme.key.encode() + b"\0" + b"x" * 70_000, "too large"),
        ("SCRAM-SHA-512", b"\xff\xfe garbage", "UTF-8"),
        ("SCRAM-SHA-256", b"n,,r=only-a-nonce", "needs n= and r="),
    ]
    for mechanism, token, reason in cases:
        w = Wire(s.sasl)
        answer = login(w, mechanism, token)
        assert answer.error_code == ErrorCode.sasl_authentication_failed
        assert reason in (answer.error_message or "")
        assert w.read_frame() is None  # then the connection is closed
        w.close()

    # SCRAM: a final message with another exchange's nonce (a replay) fails.
    w = Wire(s.sasl)
    first = login(w, "SCRAM-SHA-512", f"n,,n={s.acme.key},r=abc".encode())
    assert first.error_code == ErrorCode.none and first.auth_bytes.startswith(b"r=abc")
    replay = w.call(SaslAuthenticateRequest, {"auth_bytes": b"c=biws,r=abcSOMEOTHERNONCE,p=AAAA"})
    assert replay.error_code == ErrorCode.sasl_authentication_failed
    assert "nonce" in replay.error_message
    w.close()
    # A truncated SCRAM exchange: the client goes away after the first message.
    w = Wire(s.sasl)
    login(w, "SCRAM-SHA-256", f"n,,n={s.acme.key},r=xyz".encode())
    w.close()

    # The bystander still works, and so do new logins and the PLAINTEXT listener.
    md = bystander.call(MetadataRequest, {"topics": [], "allow_auto_topic_creation": False,
                                          "include_topic_authorized_operations": False})
    assert md is not None and md.brokers
    bystander.close()
    p = Producer(conf(s, s.acme, "SCRAM-SHA-256"))
    p.produce("after", value=b"ok")
    assert p.flush(15) == 0
    log = s.server.log()
    assert log.count('"sasl_authentication_failed"') >= len(cases) + 1
    assert '"peer": "127.0.0.1:' in log and '"connection_refused"' in log


def test_sasl_handshake_v0_takes_bare_tokens(secured: Secured) -> None:
    """SaslHandshake v0 (pre-KIP-152 clients): the tokens follow as bare frames, PLAIN and
    SCRAM; a wrong one closes the connection, as Kafka does."""
    from kio.schema.sasl_handshake.v0.request import SaslHandshakeRequest as HandshakeV0

    s = secured
    w = Wire(s.sasl)
    assert w.call(HandshakeV0, {"mechanism": "PLAIN"}).error_code == ErrorCode.none
    w.send_raw(b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode())
    assert w.read_frame() == b""  # PLAIN answers an empty token
    listed = w.call(MetadataRequest, {"topics": None, "allow_auto_topic_creation": False,
                                      "include_topic_authorized_operations": False})
    assert listed.brokers
    w.close()

    w = Wire(s.sasl)
    assert w.call(HandshakeV0, {"mechanism": "SCRAM-SHA-256"}).error_code == ErrorCode.none
    bare = f"n={s.acme.key},r=v0nonce"
    w.send_raw(f"n,,{bare}".encode())
    server_first = w.read_frame()
    assert server_first is not None and server_first.startswith(b"r=")
    final, _signature = client_final(s.acme.secret, "SCRAM-SHA-256", bare, server_first.decode())
    w.send_raw(final.encode())
    server_final = w.read_frame()
    assert server_final is not None and server_final.startswith(b"v=")
    assert w.call(MetadataRequest, {"topics": None, "allow_auto_topic_creation": False,
                                    "include_topic_authorized_operations": False}).brokers
    w.close()

    w = Wire(s.sasl)
    assert w.call(HandshakeV0, {"mechanism": "PLAIN"}).error_code == ErrorCode.none
    w.send_raw(b"\0" + s.acme.key.encode() + b"\0wrong")
    assert w.read_frame() is None  # closed
    w.close()


def test_brute_force_from_one_address_is_slowed(secured: Secured) -> None:
    s = secured
    bad = b"\0" + s.acme.key.encode() + b"\0wrong"
    took = []
    for _ in range(8):
        w = Wire(s.sasl)
        started = time.monotonic()
        answer = login(w, "PLAIN", bad)
        took.append(time.monotonic() - started)
        assert answer.error_code == ErrorCode.sasl_authentication_failed
        w.close()
    # Five failures are free; the sixth waits 0.1 s, the seventh 0.2 s, the eighth 0.4 s.
    assert took[7] >= 0.4 and took[6] >= 0.2


def test_a_revoked_key_ends_its_live_connection(secured: Secured) -> None:
    s = secured
    w = Wire(s.sasl)
    assert login(w, "PLAIN", b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode()
                 ).error_code == ErrorCode.none
    r = httpx.delete(f"{s.http}/api/v1/organizations/{s.acme.id}/api-keys/{s.acme.key}",
                     headers=admin_headers())
    assert r.status_code == 204
    assert w.read_frame() is None  # closed by the agent, without a request
    w.close()
    w = Wire(s.sasl)
    again = login(w, "PLAIN", b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode())
    assert again.error_code == ErrorCode.sasl_authentication_failed
    w.close()
    listed = httpx.get(f"{s.http}/api/v1/organizations/{s.acme.id}/api-keys",
                       headers=admin_headers()).json()
    assert {k["id"]: k["revoked"] for k in listed}[s.acme.key] is True
    assert all("secret" not in k for k in listed)


def test_a_suspended_organization_is_logged_out(secured: Secured) -> None:
    s = secured
    w = Wire(s.sasl)
    assert login(w, "PLAIN", b"\0" + s.globex.key.encode() + b"\0" + s.globex.secret.encode()
                 ).error_code == ErrorCode.none
    r = httpx.patch(f"{s.http}/api/v1/organizations/{s.globex.id}", json={"status": "suspended"},
                    headers=admin_headers())
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert w.read_frame() is None
    w.close()
    refused = httpx.get(f"{s.http}/api/v1/topics", headers=bearer(s.globex.key, s.globex.secret))
    assert refused.status_code == 401
    # acme is not touched.
    assert httpx.get(f"{s.http}/api/v1/topics",
                     headers=bearer(s.acme.key, s.acme.secret)).status_code == 200


def test_http_logins_and_scopes(secured: Secured) -> None:
    s = secured
    assert httpx.get(f"{s.http}/health").status_code == 200
    anonymous = httpx.get(f"{s.http}/api/v1/topics")
    assert anonymous.status_code == 401 and "WWW-Authenticate" in anonymous.headers
    wrong = httpx.get(f"{s.http}/api/v1/topics", headers=bearer(s.acme.key, "nope"))
    assert wrong.status_code == 401
    basic = base64.b64encode(f"{s.acme.key}:{s.acme.secret}".encode()).decode()
    ok = httpx.get(f"{s.http}/api/v1/topics", headers={"Authorization": f"Basic {basic}"})
    assert ok.status_code == 200
    # A read-only key reads but does not write, over REST and over Kafka.
    reader = bearer(s.acme.reader_key, s.acme.reader_secret)
    produced = httpx.post(f"{s.http}/api/v1/produce", headers=reader,
                          json={"topic": "orders", "records": [{"value": "x"}]})
    assert produced.status_code == 403 and produced.json()["error"] == "forbidden"
    p = Producer({**conf(s, s.acme, "PLAIN"), "sasl.username": s.acme.reader_key,
                  "sasl.password": s.acme.reader_secret, "message.timeout.ms": 5000})
    failures: list[str] = []
    p.produce("orders", value=b"x", on_delivery=lambda err, _m: failures.append(str(err)))
    p.flush(10)
    assert failures and "TOPIC_AUTHORIZATION_FAILED" in failures[0]
    # /metrics is the platform admin's.
    assert httpx.get(f"{s.http}/metrics", headers=bearer(s.acme.key, s.acme.secret)
                     ).status_code == 403
    assert httpx.get(f"{s.http}/metrics", headers=admin_headers()).status_code == 200
    # Organizations are the platform admin's to create.
    assert httpx.post(f"{s.http}/api/v1/organizations", json={"slug": "evil"},
                      headers=bearer(s.acme.key, s.acme.secret)).status_code == 403


def test_whoami_and_the_platform_admins_organization_switch(secured: Secured) -> None:
    """What the console's sign-in and organization switcher stand on."""
    s = secured
    ORG = "X-StreamHouse-Organization"
    reader = httpx.get(f"{s.http}/api/v1/whoami",
                       headers=bearer(s.acme.reader_key, s.acme.reader_secret)).json()
    assert reader["auth"] and reader["org_id"] == s.acme.id and reader["org_slug"] == "acme"
    assert reader["scope"] == "read-only" and not reader["can_write"]
    assert not reader["platform_admin"]
    admin = httpx.get(f"{s.http}/api/v1/whoami", headers=admin_headers()).json()
    assert admin["platform_admin"] and admin["can_write"]
    assert httpx.get(f"{s.http}/api/v1/whoami").status_code == 401
    # acme's topic, seen by the platform admin inside acme and not inside globex.
    made = httpx.post(f"{s.http}/api/v1/topics", json={"name": "only-acme"},
                      headers=bearer(s.acme.key, s.acme.secret))
    assert made.status_code == 201, made.text
    inside = httpx.get(f"{s.http}/api/v1/topics", headers={**admin_headers(), ORG: s.acme.id})
    assert [t["name"] for t in inside.json()] == ["only-acme"]
    other = httpx.get(f"{s.http}/api/v1/topics", headers={**admin_headers(), ORG: s.globex.id})
    assert other.json() == []
    me = httpx.get(f"{s.http}/api/v1/whoami", headers={**admin_headers(), ORG: s.globex.id})
    assert me.json()["org_id"] == s.globex.id and me.json()["platform_admin"]
    unknown = httpx.get(f"{s.http}/api/v1/topics", headers={**admin_headers(), ORG: "nope"})
    assert unknown.status_code == 404
    # A key cannot step into another organization, and is not told whether it exists.
    for target in (s.globex.id, "nope"):
        refused = httpx.get(f"{s.http}/api/v1/topics",
                            headers={**bearer(s.acme.key, s.acme.secret), ORG: target})
        assert refused.status_code == 403, refused.text
        assert target not in refused.json()["message"]
    # Naming its own organization is harmless.
    own = httpx.get(f"{s.http}/api/v1/topics",
                    headers={**bearer(s.acme.key, s.acme.secret), ORG: s.acme.id})
    assert [t["name"] for t in own.json()] == ["only-acme"]


def test_acls_over_rest(secured: Secured) -> None:
    s = secured
    acme = bearer(s.acme.key, s.acme.secret)
    url = f"{s.http}/api/v1/acls"
    one = {"resource_type": "TOPIC", "resource_name": "orders", "principal": "User:bob",
           "operation": "READ"}
    made = httpx.post(url, json=[one, {**one, "resource_name": "pay-", "pattern_type": "PREFIXED",
                                       "operation": "WRITE", "permission": "DENY"}], headers=acme)
    assert made.status_code == 201, made.text
    listed = httpx.get(url, headers=acme).json()
    assert {(a["resource_name"], a["pattern_type"], a["operation"], a["permission"], a["host"])
            for a in listed} == {("orders", "LITERAL", "READ", "ALLOW", "*"),
                                 ("pay-", "PREFIXED", "WRITE", "DENY", "*")}
    applying = httpx.get(url, params={"resource_type": "topic", "resource_name": "pay-ments",
                                      "pattern_type": "MATCH"}, headers=acme).json()
    assert [a["resource_name"] for a in applying] == ["pay-"]
    assert httpx.get(url, headers=bearer(s.globex.key, s.globex.secret)).json() == []
    # Refusals name the binding and the rule; nothing is made.
    for bad, words in (({**one, "operation": "READS"}, "operation 'READS' is not one of"),
                       ({**one, "resource_type": "GROUP", "operation": "WRITE"},
                        "GROUP supports only"),
                       ({**one, "principal": "bob"}, "is not User:<name>")):
        r = httpx.post(url, json=[one, bad], headers=acme)
        assert r.status_code == 422 and words in r.json()["message"], r.text
    assert len(httpx.get(url, headers=acme).json()) == 2
    assert httpx.delete(url, headers=acme).status_code == 422  # a filter must name something
    gone = httpx.delete(url, params={"principal": "User:bob", "operation": "READ"}, headers=acme)
    assert [a["resource_name"] for a in gone.json()] == ["orders"]
    assert httpx.post(url, json=[one], headers=bearer(s.acme.reader_key, s.acme.reader_secret)
                      ).status_code == 403


def test_acls_over_rest_answer_security_disabled_while_logins_are_off(server) -> None:
    r = httpx.get(f"http://127.0.0.1:{server.http_port}/api/v1/acls")
    assert r.status_code == 409 and r.json()["error"] == "security_disabled"


def test_admin_cli_creates_the_first_organization_and_key(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = str(Path(sys.executable).parent / "streamhouse")
    data = tmp_path / "data"
    out = subprocess.run([exe, "admin", "--data-dir", str(data), "create-org", "initech"],
                         capture_output=True, text=True, check=True)
    org = json.loads(out.stdout)
    assert org["slug"] == "initech"
    out = subprocess.run([exe, "admin", "--data-dir", str(data), "create-key", "--org",
                          "initech", "--scope", "admin"], capture_output=True, text=True,
                         check=True)
    key = json.loads(out.stdout)
    assert key["key"].startswith("SH") and len(key["secret"]) >= 40
    assert key["secret"] not in (data / "catalogue.db").read_bytes().decode("latin-1")
    again = subprocess.run([exe, "admin", "--data-dir", str(data), "create-org", "initech"],
                           capture_output=True, text=True)
    assert again.returncode == 2 and "already exists" in again.stderr


def test_scram_users_are_managed_with_kip_554_and_log_in(secured: Secured) -> None:
    from confluent_kafka.admin import (
        ScramCredentialInfo,
        ScramMechanism,
        UserScramCredentialDeletion,
        UserScramCredentialUpsertion,
    )

    s = secured
    admin = AdminClient(conf(s, s.acme, "PLAIN"))
    user = "acme.alice"
    info = ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192)
    admin.alter_user_scram_credentials(
        [UserScramCredentialUpsertion(user, info, b"alice-password")])[user].result(15)
    described = admin.describe_user_scram_credentials([user])[user].result(15)
    [cred] = described.scram_credential_infos
    assert cred.mechanism == ScramMechanism.SCRAM_SHA_256 and cred.iterations == 8192

    # The user logs in with its password (the broker only ever saw the salted one).
    p = Producer({**conf(s, s.acme, "SCRAM-SHA-256"), "sasl.username": user,
                  "sasl.password": "alice-password"})
    p.produce("alice-topic", value=b"hi")
    assert p.flush(15) == 0
    assert "alice-topic" in admin.list_topics(timeout=10).topics  # in acme

    # Names outside the organization's prefix, and too few iterations, are refused.
    for name, iterations, reason in (("alice", 4096, "start with 'acme.'"),
                                     ("acme.bob", 1000, "iterations")):
        bad = UserScramCredentialUpsertion(
            name, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, iterations), b"pw")
        with pytest.raises(KafkaException, match=reason):
            admin.alter_user_scram_credentials([bad])[name].result(15)
    # Another organization neither sees nor can touch acme's users.
    other = AdminClient(conf(s, s.globex, "PLAIN"))
    seen = other.describe_user_scram_credentials().result(15)
    assert user not in seen
    with pytest.raises(KafkaException, match="does not exist|RESOURCE_NOT_FOUND"):
        other.describe_user_scram_credentials([user])[user].result(15)
    gone = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)
    with pytest.raises(KafkaException):
        other.alter_user_scram_credentials([gone])[user].result(15)
    # Deleted by its own organization: the login stops working.
    admin.alter_user_scram_credentials([gone])[user].result(15)
    failed: list[str] = []
    p = Producer({**conf(s, s.acme, "SCRAM-SHA-256"), "sasl.username": user,
                  "sasl.password": "alice-password", "message.timeout.ms": 4000,
                  "error_cb": lambda e: failed.append(str(e))})
    p.produce("alice-topic", value=b"again")
    p.flush(6)
    assert any("Authentication" in f or "authentication" in f for f in failed)


def test_acl_apis_answer_security_disabled_while_logins_are_off(
        server_factory: type[ServerProcess], tmp_path: Path) -> None:
    """No logins, no authorizer: the ACL APIs say so (error 54), as Kafka does."""
    from kio.schema.create_acls.v3.request import CreateAclsRequest
    from kio.schema.describe_acls.v3.request import DescribeAclsRequest

    server = server_factory(tmp_path / "open").start()
    try:
        w = Wire(server.bootstrap)
        described = w.call(DescribeAclsRequest, {
            "resource_type_filter": 1, "resource_name_filter": None, "pattern_type_filter": 1,
            "principal_filter": None, "host_filter": None, "operation": 1,
            "permission_type": 1})
        assert described.error_code == ErrorCode.security_disabled and described.error_message
        created = w.call(CreateAclsRequest, {"creations": [{
            "resource_type": 2, "resource_name": "orders", "resource_pattern_type": 3,
            "principal": "User:x", "host": "*", "operation": 3, "permission_type": 3}]})
        assert [r.error_code for r in created.results] == [ErrorCode.security_disabled]
        w.close()
    finally:
        server.stop()


def _key(s: Secured, org: Org, scope: str) -> tuple[str, str]:
    r = httpx.post(f"{s.http}/api/v1/organizations/{org.id}/api-keys", json={"scope": scope},
                   headers=admin_headers())
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["secret"]


def _produce(config: dict[str, Any], topic: str) -> str | None:
    """Produce one record; None when it was acknowledged, else the error's name."""
    p = Producer({**config, "message.timeout.ms": 6000})
    result: list[str | None] = []
    p.produce(topic, value=b"v", on_delivery=lambda err, _m: result.append(
        None if err is None else err.name()))
    p.flush(10)
    assert result, "no delivery report"
    return result[0]


def test_acls_are_enforced_per_organization_with_real_clients(secured: Secured) -> None:
    """An org admin writes ACLs with confluent-kafka's AdminClient; they bind its other keys
    (DENY wins, PREFIXED patterns, groups), describe and delete as Kafka's do, show in the
    authorized operations, and never reach the other organization."""
    from confluent_kafka import KafkaError, TopicCollection
    from confluent_kafka.admin import (
        AclBinding,
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        ResourcePatternType,
        ResourceType,
    )

    s = secured
    admin_conf = conf(s, s.acme, "SCRAM-SHA-512")
    admin = AdminClient(admin_conf)
    for f in admin.create_topics([NewTopic(t, 1) for t in ("orders", "payments", "misc")]).values():
        f.result(20)
    writer_id, writer_secret = _key(s, s.acme, "read-write")
    writer = {**admin_conf, "sasl.username": writer_id, "sasl.password": writer_secret}
    reader = {**admin_conf, "sasl.username": s.acme.reader_key,
              "sasl.password": s.acme.reader_secret}
    # Before any ACL, the scopes decide: the writer writes everywhere.
    assert _produce(writer, "payments") is None

    bindings = [
        AclBinding(ResourceType.TOPIC, "payments", ResourcePatternType.LITERAL,
                   f"User:{writer_id}", "*", AclOperation.WRITE, AclPermissionType.DENY),
        AclBinding(ResourceType.TOPIC, "ord", ResourcePatternType.PREFIXED,
                   f"User:{s.acme.reader_key}", "*", AclOperation.READ, AclPermissionType.ALLOW),
        AclBinding(ResourceType.GROUP, "blocked", ResourcePatternType.LITERAL,
                   "User:*", "*", AclOperation.READ, AclPermissionType.DENY),
    ]
    for f in admin.create_acls(bindings).values():
        f.result(20)
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)
    assert sorted(map(str, admin.describe_acls(everything).result(20))) == sorted(
        map(str, bindings))
    # A key that may not change ACLs is refused; a bad binding is refused with a reason.
    writer_admin = AdminClient(writer)
    with pytest.raises(KafkaException) as refused:
        next(iter(writer_admin.create_acls(bindings[:1]).values())).result(20)
    assert refused.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    with pytest.raises(KafkaException, match="kafka-cluster"):
        next(iter(admin.create_acls([AclBinding(
            ResourceType.BROKER, "other", ResourcePatternType.LITERAL, "User:x", "*",
            AclOperation.ALTER, AclPermissionType.ALLOW)]).values())).result(20)

    time.sleep(0.2)
    # DENY wins; a topic no ACL names stays the scope's; a named topic needs an ALLOW.
    assert _produce(writer, "payments") == "TOPIC_AUTHORIZATION_FAILED"
    assert _produce(writer, "misc") is None
    assert _produce(writer, "orders") == "TOPIC_AUTHORIZATION_FAILED"
    assert _produce(admin_conf, "orders") is None  # the org's admin key is its super-user
    assert consume_all(reader, "orders", 1) == [b"v"]
    # The writer no longer sees the topics ACLs name without granting it anything (as in
    # Kafka, a named resource needs an ALLOW, also to DESCRIBE); the reader sees "orders".
    listed = set(writer_admin.list_topics(timeout=10).topics)
    assert "misc" in listed and not {"orders", "payments"} & listed
    reader_admin = AdminClient(reader)
    assert "orders" in reader_admin.list_topics(timeout=10).topics
    # The group DENY: the reader cannot consume in group "blocked".
    c = Consumer({**reader, "group.id": "blocked", "auto.offset.reset": "earliest"})
    c.subscribe(["orders"])
    errs = []
    deadline = time.monotonic() + 15
    while not errs and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error():
            errs.append(m.error().code())
    c.close()
    assert KafkaError.GROUP_AUTHORIZATION_FAILED in errs
    # Authorized operations, as the reader may use "orders".
    [desc] = reader_admin.describe_topics(
        TopicCollection(["orders"]), include_authorized_operations=True).values()
    assert set(desc.result(20).authorized_operations) == {AclOperation.READ,
                                                          AclOperation.DESCRIBE}
    # On a group and the cluster no ACL names, the read-only scope decides.
    [group] = reader_admin.describe_consumer_groups(
        ["g"], include_authorized_operations=True).values()
    assert set(group.result(20).authorized_operations) == {AclOperation.READ,
                                                           AclOperation.DESCRIBE}
    cluster = reader_admin.describe_cluster(include_authorized_operations=True).result(20)
    assert set(cluster.authorized_operations) == {AclOperation.DESCRIBE,
                                                  AclOperation.DESCRIBE_CONFIGS}

    # Globex sees none of it, and its own keys are not bound by Acme's ACLs.
    globex_admin = AdminClient(conf(s, s.globex, "PLAIN"))
    assert globex_admin.describe_acls(everything).result(20) == []
    # Deleting with a filter answers what it removed; the writer writes again.
    deny_filter = AclBindingFilter(ResourceType.TOPIC, "payments", ResourcePatternType.MATCH,
                                   None, None, AclOperation.ANY, AclPermissionType.DENY)
    [removed] = admin.delete_acls([deny_filter]).values()
    assert list(map(str, removed.result(20))) == [str(bindings[0])]
    time.sleep(0.2)
    assert _produce(writer, "payments") is None


def _self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, and its key (PEM files)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_sasl_ssl_listener_and_https(server_factory: type[ServerProcess], tmp_path: Path) -> None:
    """SASL_SSL beside PLAINTEXT, and HTTPS, from one certificate; clients verify it."""
    cert, key = _self_signed(tmp_path)
    (tmp_path / "admin.key").write_text(ADMIN_SECRET)
    tls_port = free_port()
    server = server_factory(tmp_path / "server", extra=[
        "--listeners", f"SASL_SSL://127.0.0.1:{tls_port}", "--tls-cert", str(cert),
        "--tls-key", str(key), "--http-tls", "true",
        "--admin-key-file", str(tmp_path / "admin.key")]).start()
    https = f"https://127.0.0.1:{server.http_port}"
    import ssl

    trust = ssl.create_default_context(cafile=str(cert))
    assert httpx.get(f"{https}/health", verify=trust).status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{https}/health")  # an unknown certificate is refused by the client
    org = httpx.post(f"{https}/api/v1/organizations", json={"slug": "tls"},
                     headers=admin_headers(), verify=trust).json()
    k = httpx.post(f"{https}/api/v1/organizations/{org['id']}/api-keys", json={"scope": "admin"},
                   headers=admin_headers(), verify=trust).json()
    tls = {"bootstrap.servers": f"127.0.0.1:{tls_port}", "security.protocol": "SASL_SSL",
           "ssl.ca.location": str(cert), "sasl.mechanism": "SCRAM-SHA-512",
           "sasl.username": k["id"], "sasl.password": k["secret"]}
    p = Producer(tls)
    p.produce("secure", value=b"over tls")
    assert p.flush(15) == 0
    from kafka import KafkaConsumer

    c = KafkaConsumer("secure", bootstrap_servers=f"127.0.0.1:{tls_port}",
                      security_protocol="SASL_SSL", ssl_cafile=str(cert),
                      sasl_mechanism="PLAIN", sasl_plain_username=k["id"],
                      sasl_plain_password=k["secret"], auto_offset_reset="earliest",
                      consumer_timeout_ms=10000)
    assert [m.value for m in c] == [b"over tls"]
    c.close()
    # Metadata names each listener's own address: the SASL_SSL port for its clients.
    md = AdminClient(tls).list_topics(timeout=10)
    assert [b.port for b in md.brokers.values()] == [tls_port]
    server.stop()


def test_a_deleted_organization_is_purged_after_its_grace_period(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    (tmp_path / "admin.key").write_text(ADMIN_SECRET)
    sasl_port = free_port()
    server = server_factory(tmp_path / "server", extra=[
        "--listeners", f"SASL_PLAINTEXT://127.0.0.1:{sasl_port}",
        "--admin-key-file", str(tmp_path / "admin.key"),
        "--org-deletion-grace-ms", "1000", "--retention-check-seconds", "0.3"]).start()
    http = f"http://127.0.0.1:{server.http_port}"
    s = Secured(server=server, sasl_port=sasl_port, acme=_org(http, "acme"),
                globex=_org(http, "globex"))
    for org in (s.acme, s.globex):
        p = Producer(conf(s, org, "PLAIN"))
        p.produce("orders", value=f"{org.slug}-1".encode())
        assert p.flush(15) == 0
    objects = server.data_dir / "objects"
    assert list((objects / f"org-{s.acme.id}").rglob("*.seg"))
    assert httpx.delete(f"{http}/api/v1/organizations/{s.acme.id}",
                        headers=admin_headers()).status_code == 204
    # At once: its logins stop and it is gone from the API; its data stays for the grace.
    assert httpx.get(f"{http}/api/v1/organizations/{s.acme.id}",
                     headers=admin_headers()).status_code == 404
    assert httpx.get(f"{http}/api/v1/topics", headers=bearer(s.acme.key, s.acme.secret)
                     ).status_code == 401
    deadline = time.monotonic() + 20
    while list((objects / f"org-{s.acme.id}").rglob("*.seg")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not list((objects / f"org-{s.acme.id}").rglob("*.seg"))
    assert '"organization_purged"' in server.log()
    # globex is untouched.
    assert consume_all(conf(s, s.globex, "PLAIN"), "orders", 1) == [b"globex-1"]
    server.stop()


def test_schema_registry_is_per_organization_with_basic_auth(secured: Secured) -> None:
    """Confluent's Avro serializer with basic.auth.user.info: each organization has its own
    subjects, versions and ids; another's answer as unknown."""
    from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
    from confluent_kafka.schema_registry.error import SchemaRegistryError
    from confluent_kafka.serialization import MessageField, SerializationContext

    s = secured
    url = f"http://127.0.0.1:{s.server.registry_port}"
    assert httpx.get(f"{url}/subjects").status_code == 401
    clients = {org.slug: SchemaRegistryClient({"url": url,
                                               "basic.auth.user.info": f"{org.key}:{org.secret}"})
               for org in (s.acme, s.globex)}
    schema = {"type": "record", "name": "Order", "fields": [{"name": "item", "type": "string"}]}
    other = {"type": "record", "name": "Order", "fields": [
        {"name": "item", "type": "string"}, {"name": "qty", "type": "int", "default": 1}]}
    acme_id = clients["acme"].register_schema("orders-value", Schema(json.dumps(schema), "AVRO"))
    clients["globex"].register_schema("orders-value", Schema(json.dumps(other), "AVRO"))
    clients["globex"].register_schema("globex-only-value", Schema(json.dumps(other), "AVRO"))
    assert clients["acme"].get_subjects() == ["orders-value"]
    assert sorted(clients["globex"].get_subjects()) == ["globex-only-value", "orders-value"]
    assert [v for v in clients["acme"].get_versions("orders-value")] == [1]
    with pytest.raises(SchemaRegistryError) as unknown:
        clients["acme"].get_versions("globex-only-value")
    assert unknown.value.error_code == 40401  # as for a subject nobody has

    # The serializer round trip over SASL, in acme.
    ser = AvroSerializer(clients["acme"], json.dumps(schema), conf={"auto.register.schemas": False})
    ctx = SerializationContext("orders", MessageField.VALUE)
    payload = ser({"item": "book"}, ctx)
    assert int.from_bytes(payload[1:5], "big") == acme_id
    p = Producer(conf(s, s.acme, "PLAIN"))
    p.produce("orders", value=payload)
    assert p.flush(15) == 0
    [raw] = consume_all(conf(s, s.acme, "PLAIN"), "orders", 1)
    assert AvroDeserializer(clients["acme"])(raw, ctx) == {"item": "book"}
    # A read-only key reads the registry but does not change it.
    reader = SchemaRegistryClient({"url": url, "basic.auth.user.info":
                                   f"{s.acme.reader_key}:{s.acme.reader_secret}"})
    assert reader.get_subjects() == ["orders-value"]
    with pytest.raises(SchemaRegistryError) as refused:
        reader.register_schema("more-value", Schema(json.dumps(schema), "AVRO"))
    assert refused.value.http_status_code == 403


def set_quota(s: Secured, org: Org, name: str, value: float | None, client_id: str = "") -> None:
    r = httpx.put(f"{s.http}/api/v1/organizations/{org.id}/quotas", headers=admin_headers(),
                  json={"client_id": client_id, "name": name, "value": value})
    assert r.status_code == 200, r.text


def test_count_quotas_refuse_with_policy_violation(secured: Secured) -> None:
    s = secured
    set_quota(s, s.acme, "topics", 1)
    set_quota(s, s.acme, "partitions", 4)
    admin = AdminClient(conf(s, s.acme, "PLAIN"))
    admin.create_topics([NewTopic("first", 3)])["first"].result(15)
    with pytest.raises(KafkaException, match="POLICY_VIOLATION") as refused:
        admin.create_topics([NewTopic("second", 1)])["second"].result(15)
    assert "topics would be 2" in str(refused.value)
    from confluent_kafka.admin import NewPartitions

    with pytest.raises(KafkaException, match="partitions would be 5"):
        admin.create_partitions([NewPartitions("first", 5)])["first"].result(15)
    rest = httpx.post(f"{s.http}/api/v1/topics", json={"name": "third", "partitions": 1},
                      headers=bearer(s.acme.key, s.acme.secret))
    assert rest.status_code == 403 and rest.json()["error"] == "quota_exceeded"
    # Another organization is not limited by acme's quotas.
    other = AdminClient(conf(s, s.globex, "PLAIN"))
    other.create_topics([NewTopic("second", 1)])["second"].result(15)
    # The organization sees its quotas; only the platform admin sets them.
    seen = httpx.get(f"{s.http}/api/v1/organizations/{s.acme.id}/quotas",
                     headers=bearer(s.acme.key, s.acme.secret)).json()
    assert seen["quotas"][""] == {"partitions": 4.0, "topics": 1.0}
    denied = httpx.put(f"{s.http}/api/v1/organizations/{s.acme.id}/quotas",
                       headers=bearer(s.acme.key, s.acme.secret),
                       json={"name": "topics", "value": 100})
    assert denied.status_code == 403


def test_the_connections_quota_refuses_logins_past_it(secured: Secured) -> None:
    """Two connections allowed: the third login is refused with POLICY_VIOLATION naming the
    limit and closed; the first two and the other organization go on; per-organization
    metrics count the connections and requests."""
    s = secured
    set_quota(s, s.acme, "connections", 2)
    plain = b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode()
    first, second, third = Wire(s.sasl), Wire(s.sasl), Wire(s.sasl)
    assert login(first, "PLAIN", plain).error_code == ErrorCode.none
    assert login(second, "PLAIN", plain).error_code == ErrorCode.none
    refused = login(third, "PLAIN", plain)
    assert refused.error_code == ErrorCode.policy_violation
    assert "connections would be 3" in refused.error_message
    assert third.read_frame() is None  # closed after the answer
    assert first.call(MetadataRequest, {"topics": None, "allow_auto_topic_creation": False,
                                        "include_topic_authorized_operations": False}).brokers
    other = Wire(s.sasl)
    assert login(other, "PLAIN", b"\0" + s.globex.key.encode() + b"\0"
                 + s.globex.secret.encode()).error_code == ErrorCode.none
    second.close()
    time.sleep(0.3)  # the agent sees the close; a login fits again
    again = Wire(s.sasl)
    assert login(again, "PLAIN", plain).error_code == ErrorCode.none
    text = httpx.get(f"{s.http}/metrics", headers=admin_headers()).text
    assert f'streamhouse_org_connections{{org="{s.acme.id}"}} 2.0' in text
    assert f'streamhouse_org_connections{{org="{s.globex.id}"}} 1.0' in text
    assert f'streamhouse_org_requests_total{{org="{s.acme.id}"}}' in text
    for w in (first, again, other):
        w.close()


def test_a_producer_over_its_byte_rate_is_held_to_it(secured: Secured) -> None:
    s = secured
    rate = 1_000_000
    set_quota(s, s.globex, "producer_byte_rate", rate)
    p = Producer(conf(s, s.globex, "PLAIN", **{"linger.ms": 5, "batch.size": 65536}))
    value = b"x" * 1000
    n = 4000  # 4 MB: the first second's credit (1 MB), then at least 3 s at the rate
    failures: list[str] = []
    started = time.monotonic()
    for _ in range(n):
        p.produce("limited", value=value,
                  on_delivery=lambda err, _m: failures.append(str(err)) if err else None)
        p.poll(0)
    assert p.flush(60) == 0
    elapsed = time.monotonic() - started
    assert not failures  # held back, never refused
    assert elapsed >= (n * len(value) - rate) / rate * 0.8
    assert '"streamhouse_quota_throttle_seconds' not in s.server.log()  # a metric, not a log
    metrics = httpx.get(f"{s.http}/metrics", headers=admin_headers()).text
    assert f'streamhouse_quota_throttle_seconds_total{{org="{s.globex.id}",quota="producer_byte_rate"}}' in metrics


def test_http_produce_over_its_rate_gets_429_with_retry_after(secured: Secured) -> None:
    s = secured
    set_quota(s, s.acme, "producer_byte_rate", 1000)
    records = {"topic": "http-limited", "records": [{"value": "y" * 5000}]}
    first = httpx.post(f"{s.http}/api/v1/produce", json=records,
                       headers=bearer(s.acme.key, s.acme.secret))
    assert first.status_code == 200  # taken, and the quota is now in debt
    second = httpx.post(f"{s.http}/api/v1/produce", json=records,
                        headers=bearer(s.acme.key, s.acme.secret))
    assert second.status_code == 429 and int(second.headers["Retry-After"]) >= 1
    assert second.json()["error"] == "rate_limited"
    # Consuming over HTTP is held to consumer_byte_rate the same way.
    set_quota(s, s.acme, "consumer_byte_rate", 1000)
    url = f"{s.http}/api/v1/consume?topic=http-limited&offset=0"
    assert httpx.get(url, headers=bearer(s.acme.key, s.acme.secret)).status_code == 200
    again = httpx.get(url, headers=bearer(s.acme.key, s.acme.secret))
    assert again.status_code == 429 and int(again.headers["Retry-After"]) >= 1


def test_client_quotas_over_kafka(secured: Secured) -> None:
    """AlterClientQuotas and DescribeClientQuotas: an organization's admin sets client-id
    quotas within it (never above its own), and sees only its own."""
    from kio.schema.alter_client_quotas.v1.request import AlterClientQuotasRequest
    from kio.schema.describe_client_quotas.v1.request import DescribeClientQuotasRequest

    s = secured
    set_quota(s, s.acme, "producer_byte_rate", 100_000)
    set_quota(s, s.globex, "consumer_byte_rate", 7)

    def alter(w: Wire, entity: list[dict[str, Any]], key: str, value: float) -> Any:
        return w.call(AlterClientQuotasRequest, {"validate_only": False, "entries": [
            {"entity": entity, "ops": [{"key": key, "value": value, "remove": False}]}]})

    w = Wire(s.sasl)
    login(w, "PLAIN", b"\0" + s.acme.key.encode() + b"\0" + s.acme.secret.encode())
    app = [{"entity_type": "client-id", "entity_name": "app-1"}]
    ok = alter(w, app, "producer_byte_rate", 50_000)
    assert ok.entries[0].error_code == ErrorCode.none
    above = alter(w, app, "producer_byte_rate", 500_000)  # above the organization's 100k
    assert above.entries[0].error_code == ErrorCode.policy_violation
    own = alter(w, [{"entity_type": "user", "entity_name": None}], "producer_byte_rate", 1e9)
    assert own.entries[0].error_code == ErrorCode.cluster_authorization_failed
    described = w.call(DescribeClientQuotasRequest, {"components": [], "strict": False})
    assert described.error_code == ErrorCode.none
    seen = {tuple((e.entity_type, e.entity_name) for e in entry.entity):
            {v.key: v.value for v in entry.values} for entry in described.entries}
    assert seen == {(("user", None),): {"producer_byte_rate": 100_000.0},
                    (("client-id", "app-1"),): {"producer_byte_rate": 50_000.0}}  # no globex
    w.close()
