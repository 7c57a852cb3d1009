"""Sessions shared by HTTP and realtime routes: the session object, its manager, its stores.

The HTTP middleware that opens them is ``expressio.session``
(:mod:`expressio.http.session_middleware`).

```python
app.use(expressio.session(secret="monkey"))                       # in memory
app.use(expressio.session(secret="monkey", store=expressio.RedisStore("redis://127.0.0.1:6379/0")))

@app.post("/login")
async def login(req, res):
    req.session.regenerate()          # new id, same data: defeats session fixation
    req.session["user"] = req.body["user"]
    res.send("welcome")
```
"""

from .errors import SessionDataError, SessionError, SessionNotLoaded, SessionStoreUnavailable
from .manager import DEFAULT_IDLE_TTL, SessionManager
from .serialization import MAX_SESSION_BYTES
from .session import Session, StoreOperation
from .stores import DEFAULT_MAX_SESSIONS, MemoryStore, RedisStore, SessionStore

__all__ = [
    "DEFAULT_IDLE_TTL",
    "DEFAULT_MAX_SESSIONS",
    "MAX_SESSION_BYTES",
    "MemoryStore",
    "RedisStore",
    "Session",
    "SessionDataError",
    "SessionError",
    "SessionManager",
    "SessionNotLoaded",
    "SessionStore",
    "SessionStoreUnavailable",
    "StoreOperation",
]
