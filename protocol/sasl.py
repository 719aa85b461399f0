"""SaslHandshake and SaslAuthenticate (KIP-43, KIP-152): PLAIN and SCRAM-SHA-256/512 logins
on SASL listeners, and re-authentication (KIP-368). The credentials' rules are
`broker.tenants`'; the exchange's parsing is `broker.credentials` (sans-io).

A failed login answers SASL_AUTHENTICATION_FAILED with a message, is logged with the peer,
and closes the connection; repeated failures from one address are answered ever slower.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import TYPE_CHECKING, Any

import structlog
from kio.schema.errors import ErrorCode

from broker import credentials as cr
from broker import errors
from broker.context import RequestContext

if TYPE_CHECKING:
    from .codec import Request
    from .connection import Connection
    from .listener import KafkaListener

log = structlog.get_logger("streamhouse.auth")

HANDSHAKE, AUTHENTICATE = 17, 36
VERSIONS = {HANDSHAKE: (0, 1), AUTHENTICATE: (0, 2)}
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
MAX_TOKEN_BYTES = 64 * 1024  # SASL tokens are small; a larger one is an attack

# Per peer address: failures within the window make each further answer wait longer.
FAILURE_WINDOW_S = 60.0
FREE_FAILURES = 5
MAX_DELAY_S = 5.0


class FailedLogins:
    def __init__(self) -> None:
        self._by_address: dict[str, list[float]] = {}

    def delay(self, address: str) -> float:
        recent = self._recent(address)
        extra = len(recent) - FREE_FAILURES
        return 0.0 if extra < 0 else min(0.1 * 2 ** extra, MAX_DELAY_S)

    def failed(self, address: str) -> None:
        self._recent(address).append(time.monotonic())
        if len(self._by_address) > 10_000:
            self._by_address = {a: t for a, t in self._by_address.items() if self._recent(a)}

    def _recent(self, address: str) -> list[float]:
        now = time.monotonic()
        times = [t for t in self._by_address.get(address, []) if now - t < FAILURE_WINDOW_S]
        self._by_address[address] = times
        return times


async def handle(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    if request.api_key == HANDSHAKE:
        return handshake(kafka, request, conn)
    return await authenticate(kafka, request, conn)


def handshake(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    mechanism = request.body.mechanism
    if not conn.sasl_enabled:
        return {"error_code": ErrorCode.illegal_sasl_state, "mechanisms": []}
    if mechanism not in MECHANISMS:
        log.info("sasl_mechanism_refused", peer=conn.peer, mechanism=mechanism)
        return {"error_code": ErrorCode.unsupported_sasl_mechanism, "mechanisms": list(MECHANISMS)}
    if request.api_version == 0:
        # v0: the tokens follow as bare frames, not SaslAuthenticate (raw_token below);
        # the connection reads them so (Connection.raw_sasl).
        conn.raw_sasl = True
    conn.sasl_mechanism = mechanism
    conn.scram = None
    return {"error_code": 0, "mechanisms": list(MECHANISMS)}


async def authenticate(kafka: KafkaListener, request: Request, conn: Connection) -> dict[str, Any]:
    return await authenticate_token(kafka, conn, bytes(request.body.auth_bytes),
                                    request.client_id or "")


async def raw_token(kafka: KafkaListener, conn: Connection, token: bytes) -> bytes | None:
    """A SASL token sent as a bare frame after SaslHandshake v0; the answer as a bare
    frame (PLAIN: an empty one), or None on a failure, when the connection closes, as
    Kafka does (v0 has no place for an error message)."""
    answer = await authenticate_token(kafka, conn, token, conn.client_id)
    if answer["error_code"] != 0:
        return None
    auth = bytes(answer["auth_bytes"])
    if conn.login is not None:
        conn.raw_sasl = False  # authenticated: Kafka requests from here on
    return len(auth).to_bytes(4, "big") + auth


async def authenticate_token(kafka: KafkaListener, conn: Connection, token: bytes,
                             client_id: str) -> dict[str, Any]:
    tenants = kafka.broker.tenants
    address = conn.peer.rsplit(":", 1)[0]
    mechanism = conn.sasl_mechanism
    try:
        if mechanism is None:
            raise cr.CredentialError("SaslAuthenticate before SaslHandshake")
        if len(token) > MAX_TOKEN_BYTES:
            raise cr.CredentialError(f"SASL token of {len(token)} bytes is too large")
        if mechanism == "PLAIN":
            username, secret = cr.parse_plain(token)
            login = await tenants.login_with_secret(username, secret)
            return await _succeeded(kafka, conn, login, b"", client_id)
        if conn.scram is None:  # client-first-message
            first = cr.parse_client_first(token)
            found = await tenants.scram_credential(first.username, mechanism)
            # An unknown user gets a server-first-message too, with a salt that is the same
            # at every attempt (derived from its name) and no extra work: the exchange
            # looks like a real user's, and the final answer like a wrong password's.
            cred = found[0] if found else kafka.unknown_scram_user(first.username, mechanism)
            conn.scram = (cr.ScramServer(first, cred), found[1] if found else None)
            return {"error_code": 0, "error_message": None,
                    "auth_bytes": conn.scram[0].server_first_message(), "session_lifetime": 0}
        server, pending = conn.scram
        conn.scram = None
        final = server.verify_client_final(token)
        if pending is None:
            raise cr.CredentialError("authentication failed: invalid credentials")
        return await _succeeded(kafka, conn, pending, final, client_id)
    except (cr.CredentialError, errors.AuthenticationFailed) as exc:
        failures = kafka.failed_logins
        failures.failed(address)
        log.warning("sasl_authentication_failed", peer=conn.peer, mechanism=mechanism,
                    client_id=client_id, reason=str(exc))
        await asyncio.sleep(failures.delay(address))
        conn.closing_after_response = True
        conn.scram = None
        return {"error_code": ErrorCode.sasl_authentication_failed,
                "error_message": str(exc), "auth_bytes": b"", "session_lifetime": 0}
    except errors.PolicyViolation as exc:  # over the organization's connections quota
        log.warning("sasl_login_over_quota", peer=conn.peer, client_id=client_id,
                    reason=exc.message)
        conn.closing_after_response = True
        conn.scram = None
        return {"error_code": exc.kafka_code, "error_message": exc.message, "auth_bytes": b"",
                "session_lifetime": 0}


async def _succeeded(kafka: KafkaListener, conn: Connection, login: Any, final: bytes,
                     client_id: str) -> dict[str, Any]:
    if conn.login is not None and conn.login.principal != login.principal:
        raise cr.CredentialError("re-authentication must use the same principal")
    if not await kafka.broker.tenants.still_valid(login):
        raise cr.CredentialError("authentication failed: invalid credentials")
    now_ms = int(time.time() * 1000)
    lifetime = kafka.options_reauth_ms
    if login.expires_at is not None:
        lifetime = max(min(lifetime or login.expires_at - now_ms, login.expires_at - now_ms), 1)
    again = conn.login is not None
    if not again:  # the organization's connections quota (per agent), named when refused
        ctx = RequestContext(principal=login.principal, org_id=login.org_id, door="kafka",
                             client_id=client_id, peer=conn.peer)
        await kafka.broker.quotas.check_count(
            ctx, "connections", kafka.broker.sessions.count(login.org_id) + 1)
    await kafka.broker.acls.ready(login.org_id)  # the decisions after the login need them
    conn.authenticated(login, lifetime)
    log.info("sasl_authenticated", peer=conn.peer, principal=login.principal.name,
             org=login.org_id, mechanism=conn.sasl_mechanism, reauthenticated=again)
    return {"error_code": 0, "error_message": None, "auth_bytes": final,
            "session_lifetime": datetime.timedelta(milliseconds=lifetime)}
