"""The direct transport's reading of a websocket upgrade request, under generated requests.

``parse_upgrade_request`` refuses a malformed head by returning None, ``handshake_problem``
refuses a request that is not a valid RFC 6455 opening handshake with an HTTP answer, and
the engine's admission refuses with an ``EngineError``; none of them raises. A request they accept
gets a ``101`` whose accept key is the one RFC 6455 prescribes.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import quote

from hypothesis import example, given
from hypothesis import strategies as st

from expressio.engine.admission import admit_websocket
from expressio.engine.server import EngineServer
from expressio.engine.upgrade_request import (
    handshake_problem,
    parse_upgrade_request,
    switching_protocols,
    valid_key,
)

# Header bytes as a peer may send them: tokens, spaces, colons, and anything else.
header_bytes = st.one_of(
    st.binary(max_size=20),
    st.text("abcxyzXYZ-_019 :/?%=&;,.\t", max_size=20).map(str.encode),
)
keys = st.one_of(
    st.binary(min_size=16, max_size=16).map(base64.b64encode),
    st.binary(min_size=15, max_size=17).map(base64.b64encode),
    st.binary(max_size=30),
    st.text("ABCxyz019+/=", min_size=22, max_size=26).map(str.encode),
)
path_segments = st.lists(st.text(max_size=8), max_size=4)
query_strings = st.one_of(
    st.just(b""),
    st.sampled_from([b"EIO=4&transport=websocket", b"EIO=4&transport=websocket&sid=nope"]),
    st.binary(max_size=30),
)


@st.composite
def request_heads(draw: st.DrawFn) -> bytes:
    """A request head: each part valid most of the time, and the headers in any order."""
    method = draw(st.sampled_from([b"GET", b"GET", b"GET", b"get", b"POST", b""]))
    segments = draw(path_segments)
    path = ("/" + "/".join(quote(segment, safe="") for segment in segments)).encode("ascii")
    if draw(st.integers(0, 5)) == 0:
        path = draw(st.binary(max_size=20))
    target = path + (b"?" + draw(query_strings) if draw(st.booleans()) else b"")
    version = draw(st.sampled_from([b"HTTP/1.1", b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"FTP"]))
    spaces = draw(st.sampled_from([b" ", b" ", b" ", b"  ", b"\t"]))
    lines = [spaces.join([method, target, version])]
    headers = [
        (b"Host", b"localhost"),
        (b"Upgrade", b"websocket"),
        (b"Connection", b"Upgrade"),
        (b"Sec-WebSocket-Version", draw(st.sampled_from([b"13", b"13", b"8", b" 13 ", b""]))),
        (b"Sec-WebSocket-Key", draw(keys)),
    ]
    if draw(st.booleans()):
        headers.append((b"Origin", draw(header_bytes)))
    headers += draw(st.lists(st.tuples(header_bytes, header_bytes), max_size=3))
    for name, value in draw(st.permutations(headers)):
        separator = draw(st.sampled_from([b": ", b": ", b":", b" : ", b""]))
        lines.append(name + separator + value)
    return b"\r\n".join(lines)


heads = st.one_of(request_heads(), st.binary(max_size=200))
# No session is ever opened on it: admission only reads its policy and its (empty) sessions.
ENGINE = EngineServer(origins=["https://example.com"])


@given(heads, st.sampled_from(["", "/prefix"]))
@example(b"", "")
@example(b"GET / HTTP/1.1\r\n", "")
@example(b"GET /%ff%zz%C3 HTTP/1.1\r\nHost: x", "")
@example(b"GET * HTTP/1.1\r\n: empty name", "")
@example(b"GET /a HTTP/1.1\r\n \t: spaces only", "")
def test_a_request_head_parses_or_is_refused_with_none(head: bytes, root_path: str) -> None:
    request = parse_upgrade_request(head, root_path)
    if request is None:
        return
    assert head.split(b"\r\n")[0].split(b" ")[0] == b"GET"
    assert request.path.startswith(root_path)
    for name, value in request.headers:
        assert name == name.strip().lower() and value == value.strip()
    problem = handshake_problem(request)
    if problem is not None:
        assert problem.startswith(b"HTTP/1.1 4") and b"\r\n\r\n" in problem
        return
    key = request.header(b"sec-websocket-key")
    assert request.header(b"sec-websocket-version") == b"13" and key is not None
    expected = base64.b64encode(
        hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
    )
    answer = b"".join(switching_protocols(key, [(b"server", b"expressio")]))
    assert b"\r\nsec-websocket-accept: " + expected + b"\r\n" in answer
    assert answer.startswith(b"HTTP/1.1 101 ") and answer.endswith(b"\r\n\r\n")
    # The engine's admission answers too: refused with an EngineError, or a new session.
    scope = {
        "type": "websocket",
        "scheme": "ws",
        "path": request.path,
        "raw_path": request.raw_path,
        "query_string": request.query_string,
        "headers": request.headers,
        "client": ("127.0.0.1", 1),
    }
    admission = admit_websocket(ENGINE, scope)
    assert admission.probing is None and not admission.duplicate  # no session exists
    assert (admission.error is None) != (admission.query is None)
    if admission.query is not None:
        assert admission.query.get("EIO") == "4"


@given(path_segments, st.binary(max_size=30), st.lists(st.tuples(header_bytes, header_bytes)))
def test_a_well_formed_head_reads_back(
    segments: list[str], query: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    raw_path = ("/" + "/".join(quote(segment, safe="") for segment in segments)).encode()
    query = query.replace(b" ", b"").replace(b"\r", b"").replace(b"\n", b"")
    headers = [
        (name.strip(), value)
        for name, value in headers
        if name.strip() and b":" not in name and not {*b"\r\n"} & {*name, *value}
    ]
    head = b"\r\n".join(
        [b"GET " + raw_path + b"?" + query + b" HTTP/1.1"]
        + [name + b": " + value for name, value in headers]
    )
    request = parse_upgrade_request(head, "/root")
    assert request is not None
    assert request.path == "/root/" + "/".join(segments)
    assert (request.raw_path, request.query_string) == (raw_path, query)
    assert request.headers == [(name.lower(), value.strip()) for name, value in headers]


@given(keys)
@example(b"dGhlIHNhbXBsZSBub25jZQ==")
@example(b"dGhlIHNhbXBsZSBub25jZR==")
@example(b"dGhlIHNhbXBsZSBub25jZQ=\xff")
@example("dGhlIHNhbXBsZSBub25jZé=".encode())
def test_valid_key_is_the_base64_of_sixteen_bytes(key: bytes) -> None:
    try:
        decoded = base64.b64decode(key, validate=True)
    except ValueError:
        decoded = None
    if valid_key(key):
        assert len(key) == 24 and decoded is not None and len(decoded) == 16
        assert key.decode("ascii")  # what the accept key is computed from
    if decoded is not None and len(decoded) == 16 and base64.b64encode(decoded) == key:
        assert valid_key(key)
