"""Credentials without I/O: API keys (id and secret, kept as a salted hash) and SCRAM
(RFC 5802, RFC 7677: SCRAM-SHA-256 and SCRAM-SHA-512), the server side of its exchange.

A secret or a password never reaches the catalogue: an API key keeps a salted SHA-256 of
its secret (the secret is 256 random bits, so a slow hash adds nothing), and SCRAM keeps
its salt, iteration count, StoredKey and ServerKey.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Literal

Mechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512"]
MECHANISMS: dict[str, str] = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}
MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384  # as Kafka: more is refused as UNACCEPTABLE_CREDENTIAL
KEY_ID_PREFIX = "SH"
_KEY_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class CredentialError(ValueError):
    """A malformed or failed authentication exchange (the message says which step)."""


# -- API keys -------------------------------------------------------------------------------


def new_key_id() -> str:
    """A public key id: `SH` and 16 base32 characters (it is the SASL username)."""
    return KEY_ID_PREFIX + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str, salt: bytes) -> str:
    return hashlib.sha256(salt + secret.encode()).hexdigest()


def secret_matches(secret: str, salt: bytes, expected_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret, salt), expected_hash)


# -- SCRAM ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ScramCredential:
    mechanism: Mechanism
    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def scram_credential(password: str, mechanism: Mechanism, *, salt: bytes | None = None,
                     iterations: int = MIN_ITERATIONS) -> ScramCredential:
    if iterations < MIN_ITERATIONS:
        raise CredentialError(f"SCRAM iterations must be at least {MIN_ITERATIONS}")
    digest = MECHANISMS[mechanism]
    salt = salt if salt is not None else secrets.token_bytes(24)
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), salt, iterations)
    return scram_from_salted(salted, mechanism, salt=salt, iterations=iterations)


def scram_from_salted(salted: bytes, mechanism: Mechanism, *, salt: bytes,
                      iterations: int) -> ScramCredential:
    """The stored keys from a SaltedPassword (what KIP-554's AlterUserScramCredentials sends:
    the client salts the password, the broker never sees it)."""
    digest = MECHANISMS[mechanism]
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    return ScramCredential(
        mechanism=mechanism, salt=salt, iterations=iterations,
        stored_key=hashlib.new(digest, client_key).digest(),
        server_key=hmac.new(salted, b"Server Key", digest).digest(),
    )


_ATTR = re.compile(r"^([a-zA-Z])=(.*)$", re.S)


def _attributes(message: str, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.split(","):
        m = _ATTR.match(part)
        if m is None:
            raise CredentialError(f"malformed SCRAM {what}: {part[:40]!r} is not an attribute")
        out.setdefault(m.group(1), m.group(2))
    return out


def _saslname(value: str) -> str:
    if re.search(r"=(?!2C|3D)", value):
        raise CredentialError("malformed SCRAM username: '=' must be escaped as =2C or =3D")
    return value.replace("=2C", ",").replace("=3D", "=")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientFirst:
    username: str
    nonce: str
    bare: str  # client-first-message-bare, part of the AuthMessage
    gs2_header: str


def parse_client_first(data: bytes) -> ClientFirst:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError("SCRAM client-first-message is not UTF-8") from None
    parts = text.split(",", 2)
    if len(parts) != 3 or parts[0] not in ("n", "y") and not parts[0].startswith("p="):
        raise CredentialError("malformed SCRAM client-first-message (expected n,,n=user,r=nonce)")
    if parts[0].startswith("p="):
        raise CredentialError("SCRAM channel binding is not supported")
    gs2_header = f"{parts[0]},{parts[1]},"
    bare = parts[2]
    attrs = _attributes(bare, "client-first-message")
    if "m" in attrs:
        raise CredentialError("SCRAM extensions (m=) are not supported")
    if "n" not in attrs or "r" not in attrs or not attrs["r"]:
        raise CredentialError("SCRAM client-first-message needs n= and r=")
    username = _saslname(attrs["n"])
    if not username:
        raise CredentialError("SCRAM username is empty")
    return ClientFirst(username=username, nonce=attrs["r"], bare=bare, gs2_header=gs2_header)


class ScramServer:
    """One SCRAM exchange: client-first → server-first, client-final → server-final."""

    def __init__(self, first: ClientFirst, credential: ScramCredential) -> None:
        self.first = first
        self.credential = credential
        self.nonce = first.nonce + base64.b64encode(secrets.token_bytes(18)).decode()
        self.server_first = (
            f"r={self.nonce},s={base64.b64encode(credential.salt).decode()},"
            f"i={credential.iterations}"
        )

    def server_first_message(self) -> bytes:
        return self.server_first.encode()

    def verify_client_final(self, data: bytes) -> bytes:
        """Check the client's proof; the server-final-message (v=signature) if it holds."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CredentialError("SCRAM client-final-message is not UTF-8") from None
        without_proof, sep, proof_part = text.rpartition(",p=")
        if not sep:
            raise CredentialError("SCRAM client-final-message has no proof (p=)")
        attrs = _attributes(without_proof, "client-final-message")
        expected_binding = base64.b64encode(self.first.gs2_header.encode()).decode()
        if attrs.get("c") != expected_binding:
            raise CredentialError("SCRAM channel binding (c=) does not match the first message")
        # librdkafka before 2.6.1 sends the client nonce once more in front of the server's
        # (librdkafka#4895); Kafka 3.x accepts it, and so do we: it still carries this
        # exchange's fresh server nonce, so a replay is refused all the same.
        if attrs.get("r") not in (self.nonce, self.first.nonce + self.nonce):
            raise CredentialError("SCRAM nonce does not match this exchange (a replayed message?)")
        try:
            proof = base64.b64decode(proof_part, validate=True)
        except ValueError:
            raise CredentialError("SCRAM proof is not base64") from None
        digest = MECHANISMS[self.credential.mechanism]
        auth_message = f"{self.first.bare},{self.server_first},{without_proof}".encode()
        client_signature = hmac.new(self.credential.stored_key, auth_message, digest).digest()
        if len(proof) != len(client_signature):
            raise CredentialError("authentication failed: invalid credentials")
        client_key = bytes(a ^ b for a, b in zip(proof, client_signature, strict=True))
        if not hmac.compare_digest(hashlib.new(digest, client_key).digest(),
                                   self.credential.stored_key):
            raise CredentialError("authentication failed: invalid credentials")
        server_signature = hmac.new(self.credential.server_key, auth_message, digest).digest()
        return b"v=" + base64.b64encode(server_signature)


def parse_plain(data: bytes) -> tuple[str, str]:
    """SASL/PLAIN (RFC 4616): `authzid NUL authcid NUL passwd` → (username, password)."""
    parts = data.split(b"\0")
    if len(parts) != 3:
        raise CredentialError("malformed SASL/PLAIN token: expected authzid NUL user NUL password")
    authzid, user, password = parts
    try:
        username, secret = user.decode("utf-8"), password.decode("utf-8")
        authz = authzid.decode("utf-8")
    except UnicodeDecodeError:
        raise CredentialError("SASL/PLAIN token is not UTF-8") from None
    if not username or not secret:
        raise CredentialError("SASL/PLAIN username and password must not be empty")
    if authz and authz != username:
        raise CredentialError("SASL/PLAIN authorization id must be empty or the username")
    return username, secret


# -- agent-to-agent requests ------------------------------------------------------------------

PEER_PREFIX = "streamhouse-agent;"
PEER_MAX_SKEW_S = 60.0


def _peer_mac(secret: bytes, org_id: str, ts: int, api_key: int, correlation_id: int,
              body: bytes | memoryview) -> str:
    head = f"{org_id};{ts};{api_key};{correlation_id};".encode()
    return hmac.new(secret, head + bytes(body), "sha256").hexdigest()[:32]


def sign_peer_request(secret: bytes, org_id: str, api_key: int, correlation_id: int,
                      body: bytes, *, now: float | None = None) -> str:
    """The client id an agent sends to another: the organization the request acts for,
    bound to this request's body by an HMAC under the cluster's shared secret."""
    ts = int(now if now is not None else time.time())
    return f"{PEER_PREFIX}{org_id};{ts};" + _peer_mac(secret, org_id, ts, api_key,
                                                      correlation_id, body)


def verify_peer_request(secret: bytes, client_id: str, api_key: int, correlation_id: int,
                        body: bytes | memoryview, *, now: float | None = None) -> str:
    """The organization a signed agent request acts for; CredentialError if the signature,
    or its time, does not hold (a forged or replayed request)."""
    try:
        org_id, ts_text, mac = client_id[len(PEER_PREFIX):].split(";")
        ts = int(ts_text)
    except ValueError:
        raise CredentialError("malformed agent request signature") from None
    if abs((now if now is not None else time.time()) - ts) > PEER_MAX_SKEW_S:
        raise CredentialError("agent request signature is too old (clock skew or a replay)")
    expected = _peer_mac(secret, org_id, ts, api_key, correlation_id, body)
    if not hmac.compare_digest(mac, expected):
        raise CredentialError("agent request signature does not match")
    return org_id
