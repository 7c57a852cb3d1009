"""Cookie values the Express way: JSON values (``j:``), signed values (``s:``), Set-Cookie lines.

Express's cookie-parser stores objects as ``j:`` + JSON and signed values as ``s:`` + value +
signature; signed values here carry an itsdangerous signature instead of Express's HMAC,
so they are readable by expressio only. Values are percent-encoded like Express does.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import quote, unquote

import orjson
from itsdangerous import BadSignature, Signer

# Characters a cookie value may hold without encoding (RFC 6265 cookie-octet minus "%").
_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"
_SALT = "expressio.cookie"

Secret = str | bytes | Sequence[str | bytes]


def _signer(secret: Secret) -> Signer:
    keys = [secret] if isinstance(secret, str | bytes) else list(secret)
    encoded = [key.encode() if isinstance(key, str) else key for key in keys]
    # itsdangerous signs with the last key and accepts all of them: rotate by appending.
    return Signer(encoded, salt=_SALT)


def encode_value(value: Any, secret: Secret | None = None) -> str:
    """The cookie text for ``value``: JSON for non-strings, signed when ``secret`` is given."""
    text = value if isinstance(value, str) else "j:" + orjson.dumps(value).decode()
    if secret is not None:
        text = "s:" + _signer(secret).sign(text).decode()
    return quote(text, safe=_SAFE)


def decode_plain(text: str) -> Any:
    """A ``j:`` JSON cookie becomes its value; anything else stays a string."""
    if text.startswith("j:"):
        try:
            return orjson.loads(text[2:])
        except orjson.JSONDecodeError:
            return text
    return text


def unsign(text: str, secret: Secret) -> Any:
    """The value of an ``s:`` cookie, or ``False`` when its signature does not verify.

    ``False`` (not a missing key) is Express's way to tell a tampered cookie from an absent one.
    """
    try:
        unsigned = _signer(secret).unsign(text[2:]).decode()
    except BadSignature:
        return False
    return decode_plain(unsigned)


def split_cookies(
    raw: dict[str, str], secret: Secret | None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plain cookies and signed cookies from the parsed Cookie header."""
    plain: dict[str, Any] = {}
    signed: dict[str, Any] = {}
    for name, value in raw.items():
        text = unquote(value)
        if secret is not None and text.startswith("s:"):
            signed[name] = unsign(text, secret)
        else:
            plain[name] = decode_plain(text)
    return plain, signed


def set_cookie_line(
    name: str,
    value: str,
    *,
    max_age: float | None = None,
    expires: datetime | float | str | None = None,
    path: str | None = "/",
    domain: str | None = None,
    secure: bool = False,
    httponly: bool = False,
    samesite: str | None = None,
    partitioned: bool = False,
) -> str:
    """One Set-Cookie header value. ``max_age`` is in seconds and also sets ``Expires``."""
    parts = [f"{name}={value}"]
    if max_age is not None:
        parts.append(f"Max-Age={int(max_age)}")
        if expires is None:
            expires = time.time() + max_age
    if expires is not None:
        parts.append(f"Expires={_http_date(expires)}")
    if path:
        parts.append(f"Path={path}")
    if domain:
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        if samesite.lower() not in ("lax", "strict", "none"):
            raise ValueError("samesite must be 'lax', 'strict' or 'none'")
        parts.append(f"SameSite={samesite.capitalize()}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)


def _http_date(when: datetime | float | str) -> str:
    if isinstance(when, str):
        return when
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(when, tz=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)
