"""SCRAM (RFC 5802/7677) and PLAIN exchanges, sans-io, against a client written from the RFC."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker.credentials import (
    CredentialError,
    ScramServer,
    hash_secret,
    parse_client_first,
    parse_plain,
    scram_credential,
    secret_matches,
)


def client_final(password: str, mechanism: str, client_first_bare: str, server_first: str,
                 gs2: str = "n,,") -> tuple[str, bytes]:
    """The client side of RFC 5802 section 3: client-final-message and the ServerSignature."""
    digest = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}[mechanism]
    attrs = dict(part.split("=", 1) for part in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(digest, password.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    without_proof = f"c={base64.b64encode(gs2.encode()).decode()},r={attrs['r']}"
    auth_message = f"{client_first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature, strict=True))
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    server_signature = hmac.new(server_key, auth_message, digest).digest()
    return f"{without_proof},p={base64.b64encode(proof).decode()}", server_signature


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_scram_exchange_succeeds_with_the_password(mechanism: str) -> None:
    cred = scram_credential("s3cret", mechanism)  # type: ignore[arg-type]
    first = parse_client_first(b"n,,n=alice,r=clientnonce")
    assert first.username == "alice"
    server = ScramServer(first, cred)
    server_first = server.server_first_message().decode()
    assert server_first.startswith("r=clientnonce") and ",i=4096" in server_first
    final, expected_signature = client_final("s3cret", mechanism, first.bare, server_first)
    answer = server.verify_client_final(final.encode())
    assert answer == b"v=" + base64.b64encode(expected_signature)


def test_scram_refuses_a_wrong_password_and_a_replayed_nonce() -> None:
    cred = scram_credential("right", "SCRAM-SHA-512")
    first = parse_client_first(b"n,,n=bob,r=abc")
    server = ScramServer(first, cred)
    server_first = server.server_first_message().decode()
    wrong, _ = client_final("wrong", "SCRAM-SHA-512", first.bare, server_first)
    with pytest.raises(CredentialError, match="invalid credentials"):
        server.verify_client_final(wrong.encode())
    # A final message of an earlier exchange (another server nonce) is refused.
    other = ScramServer(first, cred)
    replay, _ = client_final("right", "SCRAM-SHA-512", first.bare,
                             other.server_first_message().decode())
    with pytest.raises(CredentialError, match="nonce"):
        server.verify_client_final(replay.encode())


def test_scram_accepts_older_librdkafka_doubled_client_nonce() -> None:
    """librdkafka < 2.6.1 puts its client nonce once more in front of the server nonce."""
    cred = scram_credential("pw", "SCRAM-SHA-256")
    first = parse_client_first(b"n,,n=carol,r=cn")
    server = ScramServer(first, cred)
    server_first = server.server_first_message().decode()
    doubled = server_first.replace("r=", "r=cn", 1)
    final, _ = client_final("pw", "SCRAM-SHA-256", first.bare, doubled)
    # The proof is over the message as sent: recompute with the real server-first.
    digest = "sha256"
    import hashlib as h

    attrs = dict(p.split("=", 1) for p in server_first.split(","))
    salted = h.pbkdf2_hmac(digest, b"pw", base64.b64decode(attrs["s"]), int(attrs["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored = h.new(digest, client_key).digest()
    without_proof = final.rpartition(",p=")[0]
    auth = f"{first.bare},{server_first},{without_proof}".encode()
    proof = bytes(a ^ b for a, b in zip(client_key, hmac.new(stored, auth, digest).digest(),
                                        strict=True))
    token = f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
    assert server.verify_client_final(token).startswith(b"v=")
    # Only that exact doubling: any other prefix is refused.
    other = ScramServer(first, cred)
    bogus = without_proof.replace("r=cn", "r=XX", 1)
    with pytest.raises(CredentialError, match="nonce"):
        other.verify_client_final(f"{bogus},p={base64.b64encode(proof).decode()}".encode())


def test_stored_credentials_hold_no_password() -> None:
    cred = scram_credential("hunter2", "SCRAM-SHA-256", iterations=4096)
    assert b"hunter2" not in cred.stored_key + cred.server_key + cred.salt
    with pytest.raises(CredentialError, match="at least 4096"):
        scram_credential("x", "SCRAM-SHA-256", iterations=1000)


def test_api_key_secrets_are_kept_as_salted_hashes() -> None:
    h = hash_secret("secret", b"salt")
    assert "secret" not in h and h != hash_secret("secret", b"pepper")
    assert secret_matches("secret", b"salt", h) and not secret_matches("secreT", b"salt", h)


@pytest.mark.parametrize("token,reason", [
    (b"n,,r=nonce", "needs n= and r="),
    (b"p=tls-unique,,n=a,r=b", "channel binding"),
    (b"n,,n=a=b,r=c", "escaped"),
    (b"\xff\xfe", "UTF-8"),
    (b"garbage", "malformed"),
])
def test_malformed_client_first_messages_are_refused(token: bytes, reason: str) -> None:
    with pytest.raises(CredentialError, match=reason):
        parse_client_first(token)


def test_plain_tokens() -> None:
    assert parse_plain(b"\0SHKEY\0sec") == ("SHKEY", "sec")
    assert parse_plain(b"SHKEY\0SHKEY\0sec") == ("SHKEY", "sec")
    for bad in (b"nouser", b"\0\0pw", b"a\0b\0c\0d", b"other\0SHKEY\0sec"):
        with pytest.raises(CredentialError):
            parse_plain(bad)


@given(st.binary(max_size=300))
def test_any_token_gives_a_clean_refusal_or_a_parse(token: bytes) -> None:
    for parse in (parse_client_first, parse_plain):
        try:
            parse(token)
        except CredentialError:
            pass
    first = parse_client_first(b"n,,n=u,r=n1")
    server = ScramServer(first, scram_credential("p", "SCRAM-SHA-256"))
    with pytest.raises(CredentialError):
        server.verify_client_final(token)


def test_agent_request_signatures_bind_organization_body_and_time() -> None:
    from broker.credentials import sign_peer_request, verify_peer_request

    secret = b"s" * 32
    cid = sign_peer_request(secret, "org1", 0, 7, b"body", now=1000.0)
    assert verify_peer_request(secret, cid, 0, 7, b"body", now=1010.0) == "org1"
    for args, reason in [
        ((b"t" * 32, cid, 0, 7, b"body"), "does not match"),       # another secret
        ((secret, cid.replace("org1", "org2"), 0, 7, b"body"), "does not match"),
        ((secret, cid, 0, 7, b"other"), "does not match"),         # another body
        ((secret, cid, 1, 7, b"body"), "does not match"),          # another API
        ((secret, cid, 0, 8, b"body"), "does not match"),          # another request
        ((secret, "streamhouse-agent;x", 0, 7, b"body"), "malformed"),
    ]:
        with pytest.raises(CredentialError, match=reason):
            verify_peer_request(*args, now=1010.0)
    with pytest.raises(CredentialError, match="too old"):
        verify_peer_request(secret, cid, 0, 7, b"body", now=1100.0)
