"""Who may use the admin namespace: its credentials, the UI's login sessions, and the limit on
wrong guesses.

- :class:`Credentials`: a username and a password. The password is compared in constant time
  (``hmac.compare_digest``); a bcrypt hash (``$2a$``, ``$2b$``, ``$2y$``: what socket.io's
  ``instrument`` takes) is accepted too when the ``bcrypt`` package is installed, and its
  check runs in a worker thread (it is slow on purpose).
- :class:`LoginSessions`: the id a successful login hands the UI (its ``session`` event), which
  the UI sends back instead of the password when it reconnects or reloads.
- :class:`LoginLimiter`: per client address, ``MAX_FAILURES`` wrong logins within
  ``FAILURE_WINDOW`` seconds lock the address out until the oldest of them is that old; while
  locked out, every attempt (even a right one) is refused at once, without a password check.
"""

from __future__ import annotations

import hmac
import importlib
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

#: Wrong logins from one address that lock it out, and the window they are counted in (s).
MAX_FAILURES = 5
FAILURE_WINDOW = 60.0
#: Addresses whose failures are remembered; past it the longest-quiet ones are forgotten.
MAX_TRACKED_ADDRESSES = 10_000
#: A login session lasts a day (socket.io's store keeps them 86400 s too), and at most this
#: many are kept (the oldest go first).
SESSION_LIFETIME = 86_400.0
MAX_SESSIONS = 1_000

BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$")


class Credentials:
    """A username and a password (plain, or a bcrypt hash when ``bcrypt`` is installed)."""

    def __init__(self, auth: Any) -> None:
        if not isinstance(auth, dict) or set(auth) - {"type", "username", "password"}:
            raise TypeError(
                'instrument(auth=...) takes {"username": ..., "password": ...} or False'
            )
        username = auth.get("username")
        password = auth.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not password:
            raise TypeError(
                'instrument(auth=...) needs a str "username" and a non-empty str "password"'
            )
        if auth.get("type", "basic") != "basic":
            raise ValueError(f"instrument(auth=...): unknown auth type {auth['type']!r}")
        self.username = username.encode()
        self._check_hash: Callable[[bytes, bytes], bool] | None = None
        if BCRYPT_HASH.match(password):
            try:
                # optional: only a hashed password needs it
                bcrypt = importlib.import_module("bcrypt")
            except ImportError:
                raise RuntimeError(
                    "instrument(auth=...) was given a bcrypt hash as its password, and the "
                    "bcrypt package is not installed: pip install bcrypt (or give the "
                    "password itself)"
                ) from None
            self._check_hash = bcrypt.checkpw
        self._password = password.encode()

    @property
    def slow(self) -> bool:
        """True when checking a password should not run on the event loop (bcrypt)."""
        return self._check_hash is not None

    def __repr__(self) -> str:  # never the password
        return f"<Credentials {self.username.decode()!r}>"

    def matches(self, username: Any, password: Any) -> bool:
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        # Both compared whatever the first gives, so the time taken tells nothing.
        user_ok = hmac.compare_digest(username.encode(), self.username)
        if self._check_hash is not None:
            try:
                password_ok = bool(self._check_hash(password.encode(), self._password))
            except ValueError:
                password_ok = False
        else:
            password_ok = hmac.compare_digest(password.encode(), self._password)
        return user_ok and password_ok


class LoginSessions:
    """Session ids handed to logged-in UIs, each valid for ``SESSION_LIFETIME`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def create(self) -> str:
        session_id = secrets.token_hex(16)
        self._expiry[session_id] = self._clock() + SESSION_LIFETIME
        while len(self._expiry) > MAX_SESSIONS:
            self._expiry.popitem(last=False)
        return session_id

    def valid(self, session_id: Any) -> bool:
        if not isinstance(session_id, str):
            return False
        expiry = self._expiry.get(session_id)
        if expiry is None:
            return False
        if expiry < self._clock():
            del self._expiry[session_id]
            return False
        return True


class LoginLimiter:
    """Wrong logins per client address; see the module's figures."""

    def __init__(
        self,
        max_failures: int = MAX_FAILURES,
        window: float = FAILURE_WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self._clock = clock
        # address -> times of its latest failures (at most max_failures), least recent first
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str) -> float:
        """Seconds before ``address`` may try again; 0 when it may now."""
        failures = self._failures.get(address)
        if failures is None or len(failures) < self.max_failures:
            return 0.0
        wait = failures[0] + self.window - self._clock()
        if wait <= 0:
            del self._failures[address]
            return 0.0
        return wait

    def failed(self, address: str) -> None:
        now = self._clock()
        failures = self._failures.pop(address, None)
        if failures is None:
            failures = deque(maxlen=self.max_failures)
        while failures and failures[0] + self.window <= now:
            failures.popleft()
        failures.append(now)
        self._failures[address] = failures  # now the most recent
        while len(self._failures) > MAX_TRACKED_ADDRESSES:
            self._failures.popitem(last=False)

    def succeeded(self, address: str) -> None:
        self._failures.pop(address, None)
