"""Session data <-> bytes: JSON via orjson, with a size limit.

A session is stored as one JSON object. Values come back as JSON gives them (a tuple comes back
as a list); types that JSON cannot hold faithfully (sets, datetimes, dataclasses, arbitrary
objects) are refused at save time rather than silently turned into something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from .errors import SessionDataError

#: The largest encoded session accepted, in bytes. Sessions are read on every request and every
#: realtime event; anything bigger than this belongs in a database, with its key in the session.
MAX_SESSION_BYTES = 256 * 1024

# datetimes and dataclasses would be written as strings/objects and read back as something else;
# refusing them keeps "what you store is what you get back".
_ENCODE_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def encode_session(data: Mapping[str, Any], max_bytes: int = MAX_SESSION_BYTES) -> bytes:
    """The stored form of `data`; raises `SessionDataError` naming the problem."""
    try:
        encoded = orjson.dumps(
            data if isinstance(data, dict) else dict(data), option=_ENCODE_OPTIONS
        )
    except TypeError as error:
        raise SessionDataError(
            f"session data is not JSON-serialisable{_where_it_fails(data)}: {error} "
            "(store only str, int, float, bool, None, lists and dicts with str keys)"
        ) from None
    if len(encoded) > max_bytes:
        raise SessionDataError(
            f"session data is too large: {len(encoded)} bytes encoded, the limit is {max_bytes} "
            "bytes (keep large data elsewhere and store its key in the session)"
        )
    return encoded


def _where_it_fails(data: Mapping[str, Any]) -> str:
    """` (key 'cart')`: the top-level key whose value cannot be encoded, to point at the culprit."""
    for key, value in data.items():
        if not isinstance(key, str):
            return f" (key {key!r} is not a str)"
        try:
            orjson.dumps(value, option=_ENCODE_OPTIONS)
        except TypeError:
            return f" (key {key!r})"
    return ""


def decode_session(payload: bytes | str) -> dict[str, Any]:
    """The data of a stored session; an unreadable payload reads as an empty session."""
    try:
        data = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}
