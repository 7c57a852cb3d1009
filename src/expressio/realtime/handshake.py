"""What a socket knows about the request that opened its connection."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Handshake(Mapping[str, Any]):
    """The connection's opening request plus the auth payload sent with the namespace CONNECT.

    Readable as attributes (``handshake.auth``) and as a mapping (``handshake["auth"]``).
    """

    headers: Mapping[str, str]
    address: str
    time: datetime  # UTC
    query: Mapping[str, str]
    url: str
    secure: bool
    issued: int  # ``time`` in integer milliseconds since the epoch
    auth: dict[str, Any]

    @classmethod
    def from_request(cls, request: Any, auth: dict[str, Any]) -> Handshake:
        """Build from the engine's ``HandshakeRequest`` (headers, query, address, secure, url,
        time)."""
        time = request.time
        if not isinstance(time, datetime):
            time = datetime.fromtimestamp(float(time), UTC)
        elif time.tzinfo is None:
            time = time.replace(tzinfo=UTC)
        return cls(
            headers=request.headers,
            address=str(request.address),
            time=time,
            query=request.query,
            url=str(request.url),
            secure=bool(request.secure),
            issued=int(time.timestamp() * 1000),
            auth=auth,
        )

    def __getitem__(self, key: str) -> Any:
        if key not in _FIELD_NAMES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_FIELD_NAMES)

    def __len__(self) -> int:
        return len(_FIELD_NAMES)


_FIELD_NAMES = tuple(field.name for field in fields(Handshake))
