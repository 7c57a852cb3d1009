"""Cookie values the Express way: JSON values (``j:``), signed values (``s:``), Set-Cookie lines.

Express's cookie-parser stores objects as ``j:`` + JSON and signed values as ``s:`` + value +
signature; signed values here carry an itsdangerous signature instead of Express's HMAC,
so they are readable by expressio only. Values are percent-encoded like Express does.
"""

from __future__ import annotations

import math
import re
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

# What Express's ``cookie`` module accepts when it serialises a Set-Cookie line: a name is an
# RFC 6265 token, a value is cookie-octets (optionally in double quotes), a domain is host
# labels, a path is printable ASCII without ";" (nor "<").
_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r'("?)[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*\1')
_DOMAIN = re.compile(
    r"([.]?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*",
    re.IGNORECASE,
)
_PATH = re.compile(r"[\x20-\x3a\x3d-\x7e]*")
_DATE = re.compile(r"[\x20-\x3a\x3c-\x7e]*")  # an Expires string: printable, no ";"

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
    """One Set-Cookie header value. ``max_age`` is in seconds and also sets ``Expires``.

    Raises ``ValueError`` for a name that is not an RFC 6265 token, a value that is not
    cookie-octets, or a ``domain``, ``path``, ``expires`` or ``max_age`` that would not read back
    as that attribute (a ``;`` or CR/LF would add attributes or headers of the caller's
    choosing), as Express's ``cookie`` module refuses them."""
    check_cookie_name(name)
    if not isinstance(value, str) or not _VALUE.fullmatch(value):
        raise ValueError(
            f"invalid cookie value {value!r} for cookie {name!r}: a cookie value holds no "
            'space, control character, ", comma, ; or \\ (res.cookie encodes values itself)'
        )
    parts = [f"{name}={value}"]
    option = f"expires {expires!r}"
    if max_age is not None:
        if isinstance(max_age, bool) or not isinstance(max_age, int | float):
            raise ValueError(f"invalid cookie max_age {max_age!r}: a number of seconds")
        if not math.isfinite(max_age):
            raise ValueError(f"invalid cookie max_age {max_age!r}: a finite number of seconds")
        parts.append(f"Max-Age={int(max_age)}")
        if expires is None:
            expires = time.time() + max_age
            option = f"max_age {max_age!r}"
    if expires is not None:
        try:
            date = _http_date(expires)
        except (OverflowError, OSError, ValueError) as error:
            # A moment no date can hold (years 1 to 9999 only), e.g. now + a huge max_age.
            raise ValueError(f"invalid cookie {option}: {error}") from None
        if not _DATE.fullmatch(date):
            raise ValueError(f"invalid cookie expires {expires!r}: an HTTP date")
        parts.append(f"Expires={date}")
    if path:
        if not isinstance(path, str) or not _PATH.fullmatch(path):
            raise ValueError(f"invalid cookie path {path!r}: printable ASCII without ';' (nor '<')")
        parts.append(f"Path={path}")
    if domain:
        if not isinstance(domain, str) or not _DOMAIN.fullmatch(domain):
            raise ValueError(
                f"invalid cookie domain {domain!r}: a host name such as 'example.com' "
                "(letters, digits, '-' and '.', no port)"
            )
        parts.append(f"Domain={domain}")
    if secure:
        parts.append("Secure")
    if httponly:
        parts.append("HttpOnly")
    if samesite:
        if not isinstance(samesite, str) or samesite.lower() not in ("lax", "strict", "none"):
            raise ValueError(f"invalid cookie samesite {samesite!r}: 'lax', 'strict' or 'none'")
        parts.append(f"SameSite={samesite.capitalize()}")
    if partitioned:
        parts.append("Partitioned")
    return "; ".join(parts)


def check_cookie_name(name: Any) -> None:
    """Raise ``ValueError`` unless ``name`` is a valid cookie name (an RFC 6265 token)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"invalid cookie name {name!r}: a cookie name is an RFC 6265 token "
            "(letters, digits and !#$%&'*+-.^_`|~; no space, '=', ';' or ',')"
        )


def _http_date(when: datetime | float | str) -> str:
    if isinstance(when, str):
        return when
    if isinstance(when, datetime):
        moment = when if when.tzinfo else when.replace(tzinfo=UTC)
    else:
        moment = datetime.fromtimestamp(when, tz=UTC)
    return format_datetime(moment.astimezone(UTC), usegmt=True)
