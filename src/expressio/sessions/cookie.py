"""The session cookie: a signed session id, and reading it from a Cookie header.

The cookie holds only the session id and its HMAC signature (itsdangerous); the data stays in
the store. A cookie whose signature does not verify is treated as absent, so a client can never
pick a session id, and never reach another user's session by guessing or altering one.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer

# A salt of our own keeps these signatures from being valid anywhere else the same secret is used.
_SALT = "expressio.session"

Secret = str | bytes
Secrets = Secret | Sequence[Secret]


def new_session_id() -> str:
    """A fresh, unguessable session id (192 random bits, URL- and cookie-safe)."""
    return secrets.token_urlsafe(24)


class SessionIdSigner:
    """Signs session ids for the cookie and verifies them on the way back.

    `secret` may be a list to rotate secrets: the last one signs, every one verifies, so cookies
    signed with an older secret stay valid until it is removed from the list.
    """

    def __init__(self, secret: Secrets) -> None:
        keys = [secret] if isinstance(secret, str | bytes) else list(secret)
        if not keys or not all(keys):
            raise ValueError("session secret must be a non-empty string (or a list of them)")
        key_bytes = [key.encode() if isinstance(key, str) else key for key in keys]
        self._signer = Signer(
            key_bytes, salt=_SALT, key_derivation="hmac", digest_method=hashlib.sha256
        )

    def sign(self, session_id: str) -> str:
        return self._signer.sign(session_id).decode("ascii")

    def unsign(self, cookie_value: str | None) -> str | None:
        """The session id a cookie value carries, or None if it is missing, unsigned or tampered."""
        if not cookie_value:
            return None
        try:
            return self._signer.unsign(cookie_value).decode("ascii")
        except (BadSignature, UnicodeError):
            return None


def parse_cookie_header(header: str | None) -> dict[str, str]:
    """name -> value for a request's Cookie header; malformed pieces are skipped, the first of
    duplicate names wins (as browsers send the most specific path first)."""
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for piece in header.split(";"):
        name, separator, value = piece.partition("=")
        name = name.strip()
        if not separator or not name or name in cookies:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        cookies[name] = value
    return cookies
