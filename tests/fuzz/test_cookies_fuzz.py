"""Cookie headers, Express-style cookie values and the session cookie, under generated input.

Reading never raises: ``parse_cookie_header`` skips malformed pieces, a signed value that does
not verify reads ``False`` (``req.signed_cookies``) or as no session (``SessionIdSigner``).
Writing refuses what would not read back with ``ValueError`` ("invalid cookie ...") and
nothing else.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from expressio.http.cookies import encode_value, set_cookie_line, split_cookies
from expressio.sessions.cookie import SessionIdSigner, new_session_id, parse_cookie_header
from tests.fuzz.strategies import json_text, json_values, mangled

# A Cookie header as the server sees it: bytes decoded as latin-1 (as ASGI servers and
# Starlette do), or text shaped like cookies.
cookie_headers = st.one_of(
    st.binary(max_size=80).map(lambda raw: raw.decode("latin-1")),
    st.lists(
        st.tuples(
            st.text('ab=; "%js:.', max_size=6),
            st.sampled_from(["=", "=", ""]),
            st.text('ab=; "%j:s{}[]1.\\', max_size=12),
        ),
        max_size=5,
    ).map(lambda pieces: ";".join(name + sep + value for name, sep, value in pieces)),
)
secrets = st.one_of(
    st.text(min_size=1, max_size=10),
    st.lists(st.text(min_size=1, max_size=10), min_size=1, max_size=3),
)
cookie_names = st.text("abcXYZ019!#$&'*+-.^_`|~", min_size=1, max_size=8)


@given(st.none() | cookie_headers, st.none() | secrets)
@example('a="x"; a=y; =z; b', None)
@example("a=s:x.y; b=j:{", "secret")
@example("a=%ff%fe; b=s:%C3", "secret")
def test_any_cookie_header_reads_without_raising(header: str | None, secret: Any) -> None:
    raw = parse_cookie_header(header)
    for name in raw:
        assert name and name == name.strip()
    plain, signed = split_cookies(raw, secret)
    assert set(plain) | set(signed) == set(raw) and not set(plain) & set(signed)
    if secret is None:
        assert signed == {}


@given(st.lists(st.tuples(cookie_names, st.text("abc019!#$&'()*+-./:<=>?@[]^_`{|}~")), max_size=6))
def test_the_first_of_each_name_is_read_back(pairs: list[tuple[str, str]]) -> None:
    header = "; ".join(f"{name}={value}" for name, value in pairs)
    expected: dict[str, str] = {}
    for name, value in pairs:
        expected.setdefault(name, value)
    assert parse_cookie_header(header) == expected


# Values that read back as they were: Express's cookie-parser (and this one) reads a string
# spelled "j:..." as JSON and, with a secret, one spelled "s:..." as signed.
cookie_values = st.one_of(
    json_text.filter(lambda text: not text.startswith(("j:", "s:"))), json_values()
)


@given(cookie_names, cookie_values, st.none() | secrets)
@example("a", "x; b=1", None)
@example("a", "é\r\n%", "k")
def test_encoded_values_read_back(name: str, value: Any, secret: Any) -> None:
    encoded = encode_value(value, secret)
    line = set_cookie_line(name, encoded)  # what res.cookie sends; never refused
    assert line.startswith(f"{name}={encoded}; ")
    plain, signed = split_cookies(parse_cookie_header(f"other=1; {name}={encoded}"), secret)
    if secret is None:
        assert plain[name] == value
    else:
        assert signed[name] == value and name not in plain


@given(cookie_names, cookie_values, secrets, st.data())
def test_a_changed_signed_value_never_reads_as_another_value(
    name: str, value: Any, secret: Any, data: st.DataObject
) -> None:
    encoded = encode_value(value, secret)
    tampered = data.draw(mangled(encoded))
    _, signed = split_cookies(parse_cookie_header(f"{name}={tampered}"), secret)
    assert signed.get(name, False) in (False, value)


@given(st.text(min_size=1, max_size=12), st.text(min_size=1, max_size=12), st.data())
def test_session_cookies_verify_only_as_signed(
    secret: str, other_secret: str, data: st.DataObject
) -> None:
    session_id = new_session_id()
    signer = SessionIdSigner(secret)
    cookie = signer.sign(session_id)
    assert signer.unsign(cookie) == session_id
    # Rotation: the last secret signs, every one verifies.
    assert SessionIdSigner([secret, other_secret]).unsign(cookie) == session_id
    if other_secret != secret:
        assert SessionIdSigner(other_secret).unsign(cookie) is None
    tampered = data.draw(mangled(cookie))
    assert signer.unsign(tampered) in (None, session_id)


@given(st.none() | cookie_headers, st.text(min_size=1, max_size=12))
@example("expressio.sid=abc.def; expressio.sid=é", "k")
def test_a_forged_session_cookie_reads_as_no_session(header: str | None, secret: str) -> None:
    value = parse_cookie_header(header).get("expressio.sid")
    assert SessionIdSigner(secret).unsign(value) is None


@given(
    st.text(max_size=10),
    st.text(max_size=10),
    st.fixed_dictionaries(
        {},
        optional={
            "max_age": st.one_of(st.floats(), st.integers(-(10**20), 10**20), st.text(max_size=5)),
            "expires": st.one_of(st.floats(), st.integers(-(10**15), 10**15), st.text(max_size=30)),
            "path": st.none() | st.text(max_size=10),
            "domain": st.none() | st.text("abc.-:é ;", max_size=12),
            "samesite": st.none() | st.sampled_from(["lax", "Strict", "none", "x;y", ""]),
        },
    ),
)
@example("a", "b", {"max_age": 1e20})
@example("a", "b", {"max_age": -1e20})
@example("a", "b", {"expires": 1e17})
@example("a", "b", {"expires": -1e12})
@example("a", "b", {"max_age": math.nan})
def test_set_cookie_line_refuses_only_with_value_error(
    name: str, value: str, options: dict[str, Any]
) -> None:
    try:
        line = set_cookie_line(name, value, **options)
    except ValueError as error:
        assert str(error).startswith("invalid cookie")
        return
    assert line.startswith(f"{name}={value}")
    # Nothing the caller passed adds a header or an attribute of its own.
    assert "\r" not in line and "\n" not in line
    attributes = [part.split("=")[0] for part in line.split("; ")[1:]]
    assert len(attributes) == len(set(attributes))
    assert set(attributes) <= {"Max-Age", "Expires", "Path", "Domain", "SameSite"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"max_age": 1e20}, "invalid cookie max_age 1e+20"),
        ({"max_age": -(10**20)}, "invalid cookie max_age"),
        ({"expires": 1e17}, "invalid cookie expires 1e+17"),
    ],
)
def test_a_date_beyond_year_9999_is_refused_with_value_error(
    options: dict[str, Any], message: str
) -> None:
    # datetime raises OverflowError for these; the caller was promised ValueError.
    with pytest.raises(ValueError, match=re.escape(message)):
        set_cookie_line("a", "b", **options)
