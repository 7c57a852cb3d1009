"""The errors the session machinery raises."""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every session error."""


class SessionDataError(SessionError, ValueError):
    """The session's data cannot be stored: a value JSON cannot hold, or too large.

    Raised when the session is saved (by `save()`, `regenerate()` or at the end of a request),
    never later: the message names the offending problem.
    """


class SessionStoreUnavailable(SessionError):
    """The session store cannot be reached (e.g. Redis is down).

    HTTP requests that need the session answer 503 while it lasts; service resumes by itself
    when the store is back.
    """

    #: The HTTP status an app answers with when this error reaches it.
    status = 503


class SessionNotLoaded(SessionError, RuntimeError):
    """``req.session`` was read on the event loop by code the session was not loaded for
    (sessions load before a handler or route whose own code reads ``req.session``), and the
    store cannot answer without waiting. The message says what to do."""
