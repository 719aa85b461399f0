"""SASL on a Kafka listener, socket-free over the service layer: logins with an API key
(PLAIN, SCRAM), refusals that answer and close only their own connection, and random
tokens that never crash the listener."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode

from broker.context import RequestContext
from broker.tenants import PLATFORM_ADMIN
from broker.types import DEFAULT_ORG
from protocol.connection import Connection
from protocol.listener import KafkaListener
from protocol.sasl import FailedLogins
from tests.unit.test_kafka_handlers import (  # noqa: F401  (kafka is a fixture)
    FakeWriter,
    Kafka,
    Sent,
    api_versions,
    decode_response,
    kafka,
    metadata,
    request,
    split_frames,
)

HANDSHAKE, AUTHENTICATE = 17, 36
ADMIN = RequestContext(principal=PLATFORM_ADMIN, org_id=DEFAULT_ORG, door="internal")


class Live:
    """One SASL_PLAINTEXT connection driven step by step, as a client does: each request
    is sent once the answer to the one before has come back."""

    def __init__(self, listener: KafkaListener) -> None:
        self.reader = asyncio.StreamReader()
        self.writer = FakeWriter()
        conn = Connection(self.reader, self.writer,  # type: ignore[arg-type]
                          dispatch=listener.dispatch, unsupported=listener.unsupported,
                          supported=listener.supported,
                          max_frame_bytes=listener.options.max_request_bytes,
                          protocol="SASL_PLAINTEXT", sessions=listener.broker.sessions,
                          peer_secret=listener.broker.peer_secret)
        self.task = asyncio.create_task(conn.serve())
        self.sent: list[Sent] = []

    def answers(self) -> list[Any]:
        frames = split_frames(bytes(self.writer.data)) if self.writer.data else []
        return [decode_response(f, s.api_key, s.version).body
                for f, s in zip(frames, self.sent, strict=False)]

    async def call(self, sent: Sent) -> Any | None:
        """The answer, or None when the connection closed instead."""
        self.sent.append(sent)
        before = len(self.answers())
        self.reader.feed_data(sent.frame)
        for _ in range(1000):
            if len(self.answers()) > before:
                return self.answers()[-1]
            if self.task.done():
                return None
            await asyncio.sleep(0.005)
        raise AssertionError("no answer and no close")

    async def end(self) -> None:
        self.reader.feed_eof()
        await asyncio.wait_for(self.task, 10)


async def serve_sasl(listener: KafkaListener, *sent: Sent) -> tuple[list[Any], FakeWriter]:
    """Requests on one SASL_PLAINTEXT connection, each after the answer to the one before."""
    live = Live(listener)
    for s in sent:
        if await live.call(s) is None:
            break
    if not live.task.done():
        await live.end()
    return live.answers(), live.writer


def handshake(mechanism: str) -> Sent:
    return request(HANDSHAKE, 1, {"mechanism": mechanism})


def authenticate(token: bytes) -> Sent:
    return request(AUTHENTICATE, 2, {"auth_bytes": token})


@pytest.fixture
async def key(kafka: Kafka) -> tuple[str, str]:  # noqa: F811
    tenants = kafka.broker.tenants
    tenants.admin_secret = "platform-admin-secret-for-tests"
    org = await tenants.create_org(ADMIN, "acme")
    created, secret = await tenants.create_api_key(ADMIN, org.id, "admin")
    return created.id, secret


async def test_plain_login_then_requests_are_served(kafka: Kafka, key: tuple[str, str]) -> None:  # noqa: F811
    key_id, secret = key
    answers, _w = await serve_sasl(
        kafka.listener, api_versions(), handshake("PLAIN"),
        authenticate(b"\0" + key_id.encode() + b"\0" + secret.encode()), metadata("t1"))
    assert [a.error_code for a in answers[:3]] == [ErrorCode.none] * 3
    assert answers[3].topics[0].error_code == ErrorCode.none  # created in acme, not default
    assert await kafka.broker.topics.get(ADMIN, "t1") is None


async def test_scram_sha_512_login(kafka: Kafka, key: tuple[str, str]) -> None:  # noqa: F811
    key_id, secret = key
    first_bare = f"n={key_id},r=fixednonce"
    live = Live(kafka.listener)
    assert (await live.call(handshake("SCRAM-SHA-512"))).error_code == ErrorCode.none
    server_first = (await live.call(authenticate(("n,," + first_bare).encode()))
                    ).auth_bytes.decode()
    attrs = dict(p.split("=", 1) for p in server_first.split(","))
    salted = hashlib.pbkdf2_hmac("sha512", secret.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", "sha512").digest()
    stored = hashlib.sha512(client_key).digest()
    without_proof = f"c=biws,r={attrs['r']}"
    auth = f"{first_bare},{server_first},{without_proof}".encode()
    proof = bytes(a ^ b for a, b in zip(client_key, hmac.new(stored, auth, "sha512").digest(),
                                        strict=True))
    done = await live.call(
        authenticate(f"{without_proof},p={base64.b64encode(proof).decode()}".encode()))
    assert done.error_code == ErrorCode.none and done.auth_bytes.startswith(b"v=")
    md = await live.call(metadata())
    assert md is not None and md.brokers  # served after the login
    await live.end()


async def test_requests_before_login_close_the_connection(kafka: Kafka, key: tuple[str, str]) -> None:  # noqa: F811
    answers, writer = await serve_sasl(kafka.listener, api_versions(), metadata())
    assert len(answers) == 1 and writer.closed  # ApiVersions only, then closed
    # A request pipelined behind SaslAuthenticate, before its answer, is refused too: it
    # must never run as the anonymous caller.
    key_id, secret = key
    live = Live(kafka.listener)
    await live.call(handshake("PLAIN"))
    live.sent += [auth := authenticate(b"\0" + key_id.encode() + b"\0" + secret.encode()),
                  md := metadata("sneaky")]
    live.reader.feed_data(auth.frame + md.frame)
    await asyncio.wait_for(live.task, 10)
    assert len(live.answers()) <= 2 and await kafka.broker.topics.get(ADMIN, "sneaky") is None


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mechanism=st.sampled_from(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]),
       tokens=st.lists(st.binary(max_size=200), min_size=1, max_size=3))
async def test_random_tokens_are_refused_and_the_listener_goes_on(
    kafka: Kafka, key: tuple[str, str], mechanism: str, tokens: list[bytes]  # noqa: F811
) -> None:
    kafka.listener.failed_logins = FailedLogins()  # no brute-force slowdown between examples
    answers, writer = await serve_sasl(kafka.listener, handshake(mechanism),
                                       *[authenticate(t) for t in tokens])
    assert writer.closed
    codes = [a.error_code for a in answers[1:]]
    # A SCRAM first message may be well-formed (a server-first answer); a final one never
    # is, and every connection ends with a refusal or runs out of tokens.
    assert all(c in (ErrorCode.none, ErrorCode.sasl_authentication_failed) for c in codes)
    assert ErrorCode.none not in codes[1:]
    answers, _ = await serve_sasl(kafka.listener, api_versions())
    assert answers[0].error_code == ErrorCode.none


# -- requests from other agents ------------------------------------------------------------


def peer_produce(org_id: str, secret: bytes, topic: str, records: bytes, *,
                 now: float | None = None, send_instead: bytes | None = None) -> Sent:
    """A Produce v9 as protocol.client sends it for an organization."""
    import io
    import struct

    from kio.serial import entity_writer

    from broker.credentials import sign_peer_request
    from protocol.build import build
    from protocol.codec import request_class

    cls: Any = request_class(0, 9)

    def encode(r: bytes) -> bytes:
        out = io.BytesIO()
        entity_writer(cls)(out, build(cls, {
            "acks": -1, "timeout": 5000, "topic_data": [
                {"name": topic, "partition_data": [{"index": 0, "records": r}]}]}))
        return out.getvalue()

    body = encode(records)
    correlation_id = 4242
    client_id = sign_peer_request(secret, org_id, 0, correlation_id, body, now=now)
    if send_instead is not None:  # a signature lifted onto another body
        body = encode(send_instead)
    header_cls: Any = cls.__header_schema__
    out = io.BytesIO()
    entity_writer(header_cls)(out, build(header_cls, {
        "request_api_key": 0, "request_api_version": 9, "correlation_id": correlation_id,
        "client_id": client_id}))
    payload = out.getvalue() + body
    return Sent(0, 9, correlation_id, struct.pack(">i", len(payload)) + payload)


async def test_a_signed_agent_request_acts_for_its_organization(
    kafka: Kafka, key: tuple[str, str]  # noqa: F811
) -> None:
    from tests.unit.test_kafka_handlers import T0, batch

    org = (await kafka.broker.tenants.list_orgs(ADMIN))[-1]
    secret = kafka.broker.peer_secret
    assert secret is not None and org.slug == "acme"
    records = batch([(b"k", b"from-peer", [], T0)])
    # On a SASL listener, with no login: another agent's signed request is served, in the
    # organization it names.
    answers, _w = await serve_sasl(kafka.listener, peer_produce(org.id, secret, "fwd", records))
    assert answers[0].responses[0].partition_responses[0].error_code == ErrorCode.none
    ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=org.id, door="internal")  # type: ignore[arg-type]
    assert await kafka.broker.topics.get(ctx, "fwd") is not None
    assert await kafka.broker.topics.get(ADMIN, "fwd") is None  # not in the default org


@pytest.mark.parametrize("forgery", ["wrong secret", "too old", "another body"])
async def test_a_forged_agent_request_closes_the_connection(
    kafka: Kafka, key: tuple[str, str], forgery: str  # noqa: F811
) -> None:
    import time

    from tests.unit.test_kafka_handlers import T0, batch

    org = (await kafka.broker.tenants.list_orgs(ADMIN))[-1]
    secret = kafka.broker.peer_secret
    assert secret is not None
    records = batch([(b"k", b"forged", [], T0)])
    if forgery == "wrong secret":
        sent = peer_produce(org.id, b"x" * 32, "forged", records)
    elif forgery == "too old":
        sent = peer_produce(org.id, secret, "forged", records, now=time.time() - 3600)
    else:
        sent = peer_produce(org.id, secret, "forged", records,
                            send_instead=batch([(b"k", b"other!", [], T0)]))
    answers, writer = await serve_sasl(kafka.listener, sent)
    assert answers == [] and writer.closed
    ctx = RequestContext(principal=PLATFORM_ADMIN, org_id=org.id, door="internal")  # type: ignore[arg-type]
    assert await kafka.broker.topics.get(ctx, "forged") is None
