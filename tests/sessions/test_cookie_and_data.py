"""Signing session ids and encoding session data."""

from __future__ import annotations

import datetime

import pytest

from expressio.sessions import MAX_SESSION_BYTES, SessionDataError
from expressio.sessions.cookie import SessionIdSigner, new_session_id, parse_cookie_header
from expressio.sessions.serialization import decode_session, encode_session


def test_signed_id_round_trips() -> None:
    signer = SessionIdSigner("monkey")
    session_id = new_session_id()
    signed = signer.sign(session_id)
    assert signed.startswith(session_id + ".")
    assert signer.unsign(signed) == session_id


@pytest.mark.parametrize(
    "mangle",
    [
        lambda signed: signed.split(".")[0],  # unsigned
        lambda signed: ("x" if signed[0] != "x" else "y") + signed[1:],  # another id
        # a changed signature (not its last character: base64 leaves low bits unused there)
        lambda signed: signed[:-5] + ("A" if signed[-5] != "A" else "B") + signed[-4:],
        lambda signed: "",
        lambda signed: "...",
        lambda signed: "é.é",
    ],
)
def test_tampered_values_name_no_session(mangle) -> None:  # type: ignore[no-untyped-def]
    signer = SessionIdSigner("monkey")
    assert signer.unsign(mangle(signer.sign(new_session_id()))) is None


def test_other_secret_does_not_verify_but_rotation_keeps_old_cookies() -> None:
    old = SessionIdSigner("old secret")
    signed = old.sign("abc")
    assert SessionIdSigner("new secret").unsign(signed) is None
    rotated = SessionIdSigner(["old secret", "new secret"])
    assert rotated.unsign(signed) == "abc"
    assert SessionIdSigner("new secret").unsign(rotated.sign("abc")) == "abc"


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret"):
        SessionIdSigner("")


def test_session_ids_are_unique_and_cookie_safe() -> None:
    ids = {new_session_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(
        set(i) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for i in ids
    )


def test_cookie_header_parsing() -> None:
    header = 'a=1; expressio.sid="quoted.value"; junk; =x; a=2;b = 3 '
    assert parse_cookie_header(header) == {"a": "1", "expressio.sid": "quoted.value", "b": "3"}
    assert parse_cookie_header(None) == {}
    assert parse_cookie_header("") == {}


def test_encoding_round_trips_json_values() -> None:
    data = {"user": "ann", "n": 3, "f": 1.5, "ok": True, "none": None, "cart": [1, {"x": "y"}]}
    assert decode_session(encode_session(data)) == data


@pytest.mark.parametrize(
    ("value", "culprit"),
    [({1, 2}, "set"), (object(), "object"), (datetime.datetime(2024, 1, 1), "datetime")],
)
def test_non_json_value_is_a_clear_error(value: object, culprit: str) -> None:
    with pytest.raises(SessionDataError, match=f"not JSON-serialisable \\(key 'bad'\\).*{culprit}"):
        encode_session({"ok": 1, "bad": value})


def test_non_str_key_is_a_clear_error() -> None:
    with pytest.raises(SessionDataError, match="key 1 is not a str"):
        encode_session({1: "x"})  # type: ignore[dict-item]


def test_too_large_is_a_clear_error() -> None:
    with pytest.raises(SessionDataError, match=f"too large.*limit is {MAX_SESSION_BYTES} bytes"):
        encode_session({"blob": "x" * MAX_SESSION_BYTES})
    assert encode_session({"blob": "x" * 100}, max_bytes=200)


def test_unreadable_payload_decodes_as_empty() -> None:
    assert decode_session(b"not json") == {}
    assert decode_session(b"[1, 2]") == {}
