"""Credentials out of Redis URLs before they reach a message, a log line or an HTTP body.

Every Redis user (the session store, the scale-out link and adapter, the emitter) names its
Redis with :func:`redacted`, and passes error texts it did not write through :func:`scrub`::

    >>> redacted("redis://:hunter22@cache.internal:6379/0")
    'redis://:***@cache.internal:6379/0'
    >>> redacted("rediss://app:hunter22@cache.internal/0?password=hunter22")
    'rediss://app:***@cache.internal/0?password=***'
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"

_QUERY_PASSWORD = re.compile(r"(?i)([?&]password=)[^&#]*")


def _split(url: str) -> tuple[str, str, str, str] | None:
    """``(scheme://, userinfo, host and path, ?query#fragment)``, or None when not a URL.

    The userinfo ends at the *last* ``@`` before the query, so a password holding an unescaped
    ``@`` or ``/`` is still taken whole."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return None
    cut = min((i for i in (rest.find("?"), rest.find("#")) if i >= 0), default=len(rest))
    head, tail = rest[:cut], rest[cut:]
    at = head.rfind("@")
    if at < 0:
        return scheme + separator, "", head, tail
    return scheme + separator, head[:at], head[at + 1 :], tail


def redacted(url: str) -> str:
    """``url`` with its password (in the userinfo or a ``password=`` query parameter) shown as
    ``***``; the user name, host, port and database stay readable."""
    parts = _split(url)
    if parts is None:
        return url
    scheme, userinfo, rest, tail = parts
    tail = _QUERY_PASSWORD.sub(lambda match: match.group(1) + MASK, tail)
    if not userinfo:
        return scheme + rest + tail
    user, colon, _password = userinfo.partition(":")
    return f"{scheme}{user}{colon}{MASK if colon else ''}@{rest}{tail}"


def secrets_of(url: str) -> list[str]:
    """The password(s) ``url`` carries, as written and percent-decoded (none: ``[]``)."""
    parts = _split(url)
    if parts is None:
        return []
    found: list[str] = []
    _scheme, userinfo, _rest, tail = parts
    if ":" in userinfo:
        found.append(userinfo.partition(":")[2])
    found.extend(value for value in re.findall(r"(?i)[?&]password=([^&#]*)", tail))
    decoded = [unquote(secret) for secret in found]
    # Longest first, so that a password containing another one is masked whole.
    return sorted({s for s in found + decoded if s}, key=len, reverse=True)


def scrub(text: str, url: str) -> str:
    """``text`` (an error message, say) with ``url`` redacted and every occurrence of its
    password masked."""
    if not text:
        return text
    text = text.replace(url, redacted(url))
    for secret in secrets_of(url):
        text = text.replace(secret, MASK)
    return text
