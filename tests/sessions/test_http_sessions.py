"""Sessions over real HTTP: httpx with a cookie jar against uvicorn on 127.0.0.1."""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Iterator
from http.cookies import SimpleCookie

import httpx
import pytest

from expressio.sessions import MemoryStore, SessionManager
from tests.sessions.app import make_app
from tests.support import served

COOKIE = "expressio.sid"


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with served(make_app()) as base_url, httpx.Client(base_url=base_url) as client:
        yield client


def set_cookie(response: httpx.Response) -> SimpleCookie:
    lines = response.headers.get_list("set-cookie")
    jar: SimpleCookie = SimpleCookie()
    for line in lines:
        jar.load(line)
    return jar


def test_new_session_sets_an_httponly_lax_cookie_once_it_holds_something(
    client: httpx.Client,
) -> None:
    untouched = client.get("/whoami")
    assert untouched.status_code == 200 and untouched.json()["data"] == {}
    assert "set-cookie" not in untouched.headers  # left empty: neither stored nor a cookie
    response = client.post("/set", json={"user": "ann"})
    session_id = response.json()["id"]
    morsel = set_cookie(response)[COOKIE]
    assert morsel.value.startswith(session_id + ".")
    assert morsel["httponly"] and morsel["samesite"] == "Lax" and morsel["path"] == "/"
    assert not morsel["secure"] and not morsel["max-age"]  # a browser-session cookie
    # The cookie names that session from now on; an unchanged session sets no cookie again.
    again = client.get("/whoami")
    assert again.json()["id"] == session_id and "set-cookie" not in again.headers


def test_save_uninitialized_stores_and_sets_a_cookie_even_when_untouched() -> None:
    """express.io's behaviour, as an option: a page's socket then shares the session at once."""
    store = MemoryStore()
    with (
        served(make_app(store=store, save_uninitialized=True)) as base_url,
        httpx.Client(base_url=base_url) as client,
    ):
        response = client.get("/whoami")
        session_id = response.json()["id"]
        assert set_cookie(response)[COOKIE].value.startswith(session_id + ".")
        assert len(store) == 1
        again = client.get("/whoami")
        assert again.json()["id"] == session_id and "set-cookie" not in again.headers


def test_data_persists_across_requests(client: httpx.Client) -> None:
    first = client.post("/set", json={"user": "ann", "n": 1}).json()["id"]
    client.post("/set", json={"n": 2})
    assert client.get("/whoami").json() == {"id": first, "data": {"user": "ann", "n": 2}}
    with httpx.Client(base_url=str(client.base_url)) as stranger:
        assert stranger.get("/whoami").json()["data"] == {}


def test_nested_changes_are_saved(client: httpx.Client) -> None:
    client.get("/cart/add", params={"item": "apple"})
    client.get("/cart/add", params={"item": "pear"})
    assert client.get("/whoami").json()["data"] == {"cart": {"items": ["apple", "pear"]}}


def test_regenerate_gives_a_new_id_with_the_same_data(client: httpx.Client) -> None:
    client.post("/set", json={"cart": [1]})
    planted = client.cookies[COOKIE]
    ids = client.post("/login", json={"user": "ann"}).json()
    assert ids["old"] != ids["new"] and client.cookies[COOKIE].startswith(ids["new"] + ".")
    assert client.get("/whoami").json() == {"id": ids["new"], "data": {"cart": [1], "user": "ann"}}
    # The pre-login id is gone: whoever planted or stole it gets a fresh session.
    with httpx.Client(base_url=str(client.base_url), cookies={COOKIE: planted}) as attacker:
        reply = attacker.get("/whoami").json()
    assert reply["id"] not in (ids["old"], ids["new"]) and reply["data"] == {}


def test_destroy_empties_the_session_and_clears_the_cookie(client: httpx.Client) -> None:
    client.post("/set", json={"user": "ann"})
    old_cookie = client.cookies[COOKIE]
    response = client.post("/logout")
    assert response.json() == {"id": None}
    cleared = set_cookie(response)[COOKIE]
    assert cleared.value == "" and "1970" in cleared["expires"]
    assert COOKIE not in client.cookies
    with httpx.Client(base_url=str(client.base_url), cookies={COOKIE: old_cookie}) as replay:
        assert replay.get("/whoami").json()["data"] == {}
    fresh = client.get("/whoami")
    assert fresh.json()["data"] == {} and "set-cookie" not in fresh.headers


@pytest.mark.parametrize("mangle", ["unsigned", "tampered", "other secret", "garbage"])
def test_bad_cookie_gives_a_fresh_session_never_the_victims(
    client: httpx.Client, mangle: str
) -> None:
    victim_id = client.post("/set", json={"user": "victim"}).json()["id"]
    signed = client.cookies[COOKIE]
    value = {
        "unsigned": victim_id,
        "tampered": victim_id + "." + "A" * 43,
        "other secret": SessionManager("not monkey").signer.sign(victim_id),
        "garbage": "%%%;;",
    }[mangle]
    assert value != signed
    with httpx.Client(base_url=str(client.base_url)) as attacker:
        response = attacker.get("/whoami", headers={"cookie": f"{COOKIE}={value}"})
    assert response.status_code == 200
    assert response.json()["id"] != victim_id and response.json()["data"] == {}
    assert COOKIE not in set_cookie(response)  # a fresh, empty session: no cookie yet


def test_expired_session_gives_a_fresh_one() -> None:
    with served(make_app(max_age=1)) as base_url, httpx.Client(base_url=base_url) as client:
        first = client.post("/set", json={"user": "ann"})
        morsel = set_cookie(first)[COOKIE]
        assert morsel["max-age"] == "1"
        # A request within max_age renews it (the cookie is re-sent with every response).
        assert "set-cookie" in client.get("/whoami").headers
        time.sleep(1.3)
        # Send the old cookie by hand: the jar would have dropped it, the server must too.
        stale = client.get("/whoami", headers={"cookie": f"{COOKIE}={morsel.value}"})
        assert stale.json()["data"] == {}
        assert stale.json()["id"] != first.json()["id"]


def test_a_worker_thread_handler_can_save_and_wait(client: httpx.Client) -> None:
    session_id = client.get("/thread").json()["id"]
    assert client.get("/whoami").json() == {"id": session_id, "data": {"thread": True}}


@pytest.mark.parametrize(
    ("path", "message"),
    [("/bad", "not JSON-serialisable (key 'tags')"), ("/huge", "session data is too large")],
)
def test_unstorable_data_is_a_500_with_a_clear_log(
    client: httpx.Client, caplog: pytest.LogCaptureFixture, path: str, message: str
) -> None:
    client.post("/set", json={"kept": 1})
    with caplog.at_level(logging.ERROR, logger="expressio"):
        response = client.get(path)
    assert response.status_code == 500
    assert "should not arrive" not in response.text
    assert message in caplog.text
    assert client.get("/whoami").json()["data"] == {"kept": 1}  # the bad change was not kept


def test_the_app_publishes_its_session_manager(client: httpx.Client) -> None:
    assert client.get("/manager").json() == {"published": True}


def test_cookie_options_override_the_defaults() -> None:
    app = make_app(
        name="sid",
        cookie={"path": "/", "samesite": "strict", "secure": True, "httponly": False},
        store=MemoryStore(),
    )
    with served(app) as base_url, httpx.Client(base_url=base_url) as client:
        morsel = set_cookie(client.post("/set", json={"a": 1}))["sid"]
    assert morsel["samesite"] == "Strict" and morsel["secure"] and not morsel["httponly"]


def test_secure_cookie_under_https(tmp_path) -> None:  # type: ignore[no-untyped-def]
    trustme = pytest.importorskip("trustme", reason="trustme builds the test certificate")
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    certificate.private_key_pem.write_to_path(str(key))
    certificate.cert_chain_pems[0].write_to_path(str(cert))
    trusted = ssl.create_default_context()
    authority.configure_trust(trusted)
    app = make_app()
    with (
        served(app, tls={"key": key, "cert": cert}) as base_url,
        httpx.Client(base_url=base_url, verify=trusted) as client,
    ):
        response = client.post("/set", json={"a": 1})
    assert base_url.startswith("https://")
    assert set_cookie(response)[COOKIE]["secure"]
