"""``app.io``: the io object of the whole app — realtime routing, broadcasting, settings.

```python
app = expressio.express()
app.http().io()

app.io.broadcast("hey", {"this": "goes to everyone!"})
app.io.room("hipster").broadcast("meh", {"this": "goes to all hipsters"})

@app.io.route("special")
def special(req):
    req.io.respond({"got": req.data})

app.io.configure(lambda: app.io.enable("browser client minification").set("log level", 1))
```

``app.io()`` creates the realtime server and mounts it at ``/socket.io`` (the Engine.IO
endpoint and the browser client ``/socket.io/socket.io.js``). It is called once; a second call
raises (change settings with ``app.io.set``). Every member used before it raises the "call
app.io() first" error, as express.io did. ``app.io`` itself is the default namespace ``/``;
``app.io.of("/admin")`` gives the same API for another namespace.

Settings (``app.io(...)`` keywords or ``app.io.set``): see :mod:`expressio.io.settings`. Engine
settings changed after ``app.io()`` apply to connections opened afterwards; the adapter
(``store``) can only change while no client is connected.

Logging goes to the ``expressio`` logger (``expressio.io`` for this layer); the ``log level``
setting sets its level.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from ..engine import EngineServer
from ..engine.handshake import OriginPolicy
from ..realtime import Adapter, InMemoryAdapter, Namespace, RealtimeServer
from ..realtime.recovery import check_recoverable
from ..realtime.tasks import TaskSet
from .client_bundle import ClientBundle, is_bundle_path
from .handshake import HandshakeMiddleware
from .instrument import DEFAULT_NAMESPACE as ADMIN_NAMESPACE
from .instrument import Instrument, Mode
from .loop_bridge import LoopBridge, Pending
from .namespace import IONamespace
from .routes import Blocking, RouteTable
from .settings import ENGINE_KEYS, IOSettings, apply_log_level, engine_options
from .targets import DEFAULT_BROADCAST_ACK_TIMEOUT, Target
from .targets import MISSING as _MISSING

if TYPE_CHECKING:
    from ..sessions import SessionManager


class Host(Protocol):
    """What ``app.io`` needs of the app it belongs to (an ``expressio.Application``)."""

    root: Path
    settings: dict[str, Any]
    session_manager: SessionManager | None
    #: log one line per realtime connection and disconnection
    log_requests: bool | None

    def mount_asgi(self, prefix: str, app: Any) -> None: ...

    def on_startup(self, hook: Callable[[], Awaitable[None] | None]) -> Any: ...

    def on_shutdown(self, hook: Callable[[], Awaitable[None] | None]) -> Any: ...

    def report_error(self, error: BaseException) -> None:
        """An exception of the app's code that nothing handled (logged already)."""


MOUNT_PATH = "/socket.io"
#: How long startup waits for a cross-process adapter to subscribe before serving anyway.
ADAPTER_START_TIMEOUT = 3.0
#: Seconds shutdown waits for running events and hooks before cancelling them.
SHUTDOWN_GRACE = 2.0

logger = logging.getLogger("expressio")

Scope = MutableMapping[str, Any]


@dataclass(frozen=True, slots=True)
class Runtime:
    """What the HTTP side of forwarding (:mod:`expressio.http.forwarding`) shares with
    ``app.io``: the loop bridge and the task set shutdown waits for. Not on ``app.io`` itself,
    which shows users the API and nothing of the machinery."""

    bridge: LoopBridge
    tasks: TaskSet


def runtime_of(io: AppIO) -> Runtime:
    return Runtime(io._bridge, io._tasks)


class AppIO:
    """The io object for the entire app: routing and broadcasting to realtime clients."""

    def __init__(self, app: Host) -> None:
        self._app = app
        self.server: RealtimeServer | None = None
        self.settings: IOSettings | None = None
        self._bridge = LoopBridge()
        self._namespaces: dict[str, IONamespace] = {}
        self._bundle: ClientBundle | None = None
        self._blocking = Blocking()
        # tasks of events, hooks and forwarded requests; shutdown waits for them
        self._tasks = TaskSet()
        self._instrument: Instrument | None = None

    # -- starting ----------------------------------------------------------------------------

    def __call__(self, options: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        """Create the realtime server at ``/socket.io``; returns the app.

        ``options`` (a dict) and keywords take setting names: ``adapter``, ``ping_interval``,
        ``ping_timeout``, ``max_payload``, ``transports``, ``origins``, ``connect_timeout``,
        ``parser`` (``"json"``, the default, or ``"msgpack"``), ``allow_request`` (socket.io's
        ``allowRequest``: ``fn(request)``, ``def`` or ``async def``, sees each handshake's
        ``expressio.engine.HandshakeRequest`` before a connection opens; a false answer or an
        exception refuses it with HTTP 403), and every name ``app.io.set`` knows."""
        if self.server is not None:
            raise RuntimeError(
                "app.io() was already called; change settings with app.io.set(name, value)"
            )
        settings = IOSettings()
        for name, value in {**(options or {}), **kwargs}.items():
            settings.set(name, value)
        if settings["recovery"] is not None:
            check_recoverable(settings["adapter"])
        self.settings = settings
        self.server = RealtimeServer(
            adapter_factory=self._make_adapter, **engine_options(settings.values)
        )
        apply_log_level(settings["log_level"])
        settings.on_change = self._apply
        self._bundle = ClientBundle(settings.__getitem__, roots=(self._app.root, Path.cwd()))
        self._app.mount_asgi(MOUNT_PATH, self._asgi)
        self._app.on_startup(self._startup)
        self._app.on_shutdown(self._shutdown)
        self._namespaces["/"] = self._wrap(self.server.of("/"))
        return self._app

    @property
    def started(self) -> bool:
        """True once ``app.io()`` was called."""
        return self.server is not None

    def _not_started(self, name: str) -> NoReturn:
        raise RuntimeError(f"You must call app.io() before using app.io.{name}")

    def _default(self, member: str) -> IONamespace:
        namespace = self._namespaces.get("/")
        if namespace is None:
            self._not_started(member)
        return namespace

    # -- the default namespace's API -----------------------------------------------------

    def route(self, event: str, handler: Any = _MISSING, *, blocking: bool = False) -> Any:
        """``app.io.route(event, handler)``, ``@app.io.route(event)``, or
        ``app.io.route(name, {"create": f, "update": g})`` for ``name:create``/``name:update``.
        ``connect`` and ``disconnect`` run on each connection's lifecycle (``req.data``: the
        client's auth payload / the reason); other reserved names raise ``ValueError``.
        ``blocking=True``: a ``def`` handler that blocks, run in worker threads from the start
        (see :mod:`expressio.io.routes`)."""
        return self._default("route").route(event, handler, blocking=blocking)

    def broadcast(self, event: str, data: Any = _MISSING) -> None:
        """Send ``event`` with ``data`` to every client (of the default namespace)."""
        self._default("broadcast").broadcast(event, data)

    def room(self, *rooms: str) -> Target:
        """``app.io.room("a", "b").broadcast(event, data)``: every client in any of the rooms.
        The target also has ``excluding``, ``volatile``, ``broadcast_with_ack``,
        ``fetch_sockets``, ``join``, ``leave`` and ``disconnect`` (see
        :mod:`expressio.io.targets`)."""
        return self._default("room").room(*rooms)

    def excluding(self, *rooms: str) -> Target:
        """Every client except those in any of ``rooms``."""
        return self._default("excluding").excluding(*rooms)

    @property
    def volatile(self) -> Target:
        """``app.io.volatile.broadcast(...)``: dropped for a client that cannot take it now."""
        return self._default("volatile").volatile

    def broadcast_with_ack(
        self, event: str, data: Any = _MISSING, *, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """``await app.io.broadcast_with_ack(event, data, timeout=5.0)``: the list of every
        client's answer, as soon as all answered, else at the timeout with those received."""
        return self._default("broadcast_with_ack").broadcast_with_ack(
            event, data, timeout=timeout
        )

    def fetch_sockets(self) -> Pending:
        """``await app.io.fetch_sockets()``: every client, as views with ``id``, ``rooms``,
        ``handshake``, ``data``, ``emit``, ``join``, ``leave`` and ``disconnect``."""
        return self._default("fetch_sockets").fetch_sockets()

    def join(self, room: str | Iterable[str]) -> None:
        """Make every client join ``room``."""
        self._default("join").join(room)

    def leave(self, room: str | Iterable[str]) -> None:
        """Make every client leave ``room``."""
        self._default("leave").leave(room)

    def disconnect(self, close: bool = False) -> None:
        """Disconnect every client (of the default namespace)."""
        self._default("disconnect").disconnect(close)

    def server_side_route(self, event: str, handler: Any = _MISSING) -> Any:
        """``@app.io.server_side_route(event)``: ``handler(*args)`` runs when another process
        of the app calls ``server_side_emit(event, *args)``; its return value is the answer."""
        return self._default("server_side_route").server_side_route(event, handler)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every other process of the app (not to clients)."""
        self._default("server_side_emit").server_side_emit(event, *args)

    def server_side_emit_with_ack(
        self, event: str, *args: Any, timeout: float = DEFAULT_BROADCAST_ACK_TIMEOUT
    ) -> Pending:
        """``await app.io.server_side_emit_with_ack(event, *args)``: the other processes'
        answers (``[]`` with a single process)."""
        return self._default("server_side_emit_with_ack").server_side_emit_with_ack(
            event, *args, timeout=timeout
        )

    def use(self, middleware: HandshakeMiddleware) -> HandshakeMiddleware:
        """Handshake middleware: ``fn(handshake, next)`` or ``fn(handshake)`` (see
        :meth:`IONamespace.use`)."""
        return self._default("use").use(middleware)

    @property
    def routes(self) -> RouteTable:
        """The default namespace's route table."""
        return self._default("routes").routes

    def of(self, name: str) -> IONamespace:
        """The same API for another namespace: own routes, middleware, hooks and rooms."""
        self._default("of")
        server = self.server
        assert server is not None
        instrumented = self._instrument
        if instrumented is not None and server.of(name) is instrumented.namespace:
            raise ValueError(
                f"{instrumented.namespace.name} is the admin UI's namespace (app.io.instrument); "
                "it has no routes of its own"
            )
        namespace = server.of(name)
        wrapped = self._namespaces.get(namespace.name)
        if wrapped is None:
            wrapped = self._namespaces[namespace.name] = self._wrap(namespace)
        return wrapped

    def instrument(
        self,
        auth: Any = None,
        mode: Mode | None = None,
        readonly: bool = False,
        namespace: str = ADMIN_NAMESPACE,
        server_id: str | None = None,
    ) -> Instrument:
        """Serve the official Socket.IO Admin UI (``@socket.io/admin-ui``) on ``namespace``.

        ``auth={"username": u, "password": p}`` (``p`` may be a bcrypt hash when the ``bcrypt``
        package is installed) or ``auth=False`` for none; ``mode`` ``"development"`` (every
        socket, room and event) or ``"production"`` (server stats only; the default when the
        app's ``env`` is ``"production"``); ``readonly`` hides the UI's commands. See
        :mod:`expressio.io.instrument`."""
        self._default("instrument")
        server = self.server
        assert server is not None
        if self._instrument is not None:
            raise RuntimeError("app.io.instrument() was already called")
        if mode is None:
            mode = "production" if self._app.settings.get("env") == "production" else "development"
        name = namespace if namespace.startswith("/") else "/" + namespace
        if name in self._namespaces:
            raise ValueError(
                f"app.io.of({name!r}) is in use by the app; give instrument() another namespace"
            )
        self._instrument = Instrument(
            server,
            auth=auth,
            mode=mode,
            readonly=readonly,
            namespace=name,
            server_id=server_id,
        )
        return self._instrument

    def _wrap(self, namespace: Namespace) -> IONamespace:
        wrapped = IONamespace(
            namespace,
            self._bridge,
            session_manager=self._session_manager,
            authorization=self._authorization,
            log_connections=self._log_connections,
            blocking=self._blocking,
            tasks=self._tasks,
            report_error=self._app.report_error,
        )
        if self.settings is not None:
            wrapped.max_in_flight_events = self.settings["max_in_flight_events"]
            wrapped.unknown_event_ack = self.settings["unknown_event_ack"]
            wrapped.fetch_sockets_limit = self.settings["fetch_sockets_limit"]
        return wrapped

    def _session_manager(self) -> SessionManager | None:
        return self._app.session_manager

    def _log_connections(self) -> bool:
        return bool(self._app.log_requests)

    def _authorization(self) -> HandshakeMiddleware | None:
        settings = self.settings
        return settings["authorization"] if settings is not None else None

    # -- settings ----------------------------------------------------------------------------

    def set(self, name: str, value: Any = _MISSING) -> AppIO:
        """Set a server setting (socket.io 0.9 names or modern ones); returns ``app.io``."""
        if self.settings is None:
            self._not_started("set")
        if value is _MISSING:
            raise TypeError("app.io.set(name, value) needs a value")
        self.settings.set(name, value)
        return self

    def enable(self, name: str) -> AppIO:
        if self.settings is None:
            self._not_started("enable")
        return self.set(name, True)

    def disable(self, name: str) -> AppIO:
        if self.settings is None:
            self._not_started("disable")
        return self.set(name, False)

    def get(self, name: str) -> Any:
        """The current value of a setting."""
        if self.settings is None:
            self._not_started("get")
        return self.settings.get(name)

    def enabled(self, name: str) -> bool:
        return bool(self.get(name))

    def disabled(self, name: str) -> bool:
        return not self.get(name)

    def configure(self, *args: Any) -> AppIO:
        """``configure(fn)`` runs ``fn()`` now; ``configure(env, ..., fn)`` only when
        ``app.get("env")`` is one of the ``env`` names (Express 3's ``app.configure``)."""
        if self.settings is None:
            self._not_started("configure")
        if not args or not callable(args[-1]):
            raise TypeError("app.io.configure([env, ...,] fn) needs a function last")
        *environments, function = args
        if not environments or self._app.settings.get("env") in environments:
            function()
        return self

    def _apply(self, key: str, value: Any) -> None:
        server = self.server
        assert server is not None
        engine = server.engine
        if key == "log_level":
            apply_log_level(value)
        elif key in ENGINE_KEYS:
            setattr(engine, key, value)
        elif key in ("transports", "allow_upgrades"):
            transports = value if key == "transports" else engine.transports
            allow = value if key == "allow_upgrades" else engine.allow_upgrades
            engine.transports = tuple(transports)
            engine.allow_upgrades = allow
        elif key == "origins":
            engine.origin_policy = OriginPolicy(value)
        elif key == "connect_timeout":
            server.connect_timeout = value
        elif key == "parser":
            if value is not server.parser and value != server.parser.name:
                raise RuntimeError(
                    "the parser is chosen once, by app.io(parser=...): clients and the "
                    "server must agree on it"
                )
        elif key == "max_rooms_per_socket":
            server.max_rooms_per_socket = value
        elif key == "blocking_threshold":
            self._blocking.threshold = value
        elif key == "max_in_flight_events":
            for wrapped in self._namespaces.values():
                wrapped.max_in_flight_events = value
        elif key == "unknown_event_ack":
            for wrapped in self._namespaces.values():
                wrapped.unknown_event_ack = value
        elif key == "fetch_sockets_limit":
            for wrapped in self._namespaces.values():
                wrapped.fetch_sockets_limit = value
        elif key in ("adapter", "recovery"):
            connected = [ns.name for ns in server.namespaces.values() if ns.sockets]
            if connected:
                raise RuntimeError(
                    f"the {key} setting cannot change while clients are connected "
                    f"(namespaces {connected}); set it before serving, or in app.io({key}=...)"
                )
            assert self.settings is not None
            factory = (value if key == "adapter" else self.settings["adapter"]) or InMemoryAdapter
            recovery = value if key == "recovery" else server.recovery
            if recovery is not None:
                check_recoverable(factory)
            server.recovery = recovery
            for namespace in server.namespaces.values():  # each adapter keeps its own state
                namespace.adapter = factory(namespace)

    def _make_adapter(self, namespace: Namespace) -> Adapter:
        settings = self.settings
        factory: Callable[[Namespace], Adapter] | None = (
            settings["adapter"] if settings is not None else None
        )
        return (factory or InMemoryAdapter)(namespace)

    # -- serving -----------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Any, send: Any) -> None:
        self._bridge.attach()
        if scope["type"] == "http" and self._bundle is not None:
            path: str = scope["path"]
            root_path: str = scope.get("root_path", "")
            relative = path[len(root_path) :] if path.startswith(root_path) else path
            if is_bundle_path(relative):
                await self._bundle.serve(scope, send, relative[1:])
                return
        server = self.server
        assert server is not None
        await server(scope, receive, send)

    def direct_websocket_route(self, path: str) -> EngineServer | None:
        """Every websocket under ``/socket.io`` is the engine's: ``app.listen()`` may carry it
        on the direct transport, without ASGI (see ``expressio.engine.direct``)."""
        return self.server.engine if self.server is not None else None

    def _adapter_hook(self, name: str) -> Callable[[], Awaitable[None]] | None:
        """The adapter's ``start``/``close``, for adapters that own a connection (Redis)."""
        factory = self.settings["adapter"] if self.settings is not None else None
        hook = getattr(factory, name, None)
        return hook if callable(hook) else None

    async def _startup(self) -> None:
        self._bridge.attach()
        start = self._adapter_hook("start")
        if start is not None:
            # Subscribe before the first client arrives, so that no broadcast from another
            # process misses it. An unreachable store is not fatal: the adapter keeps retrying.
            try:
                await asyncio.wait_for(start(), ADAPTER_START_TIMEOUT)
            except Exception:
                logger.warning("the adapter could not connect at startup; retrying", exc_info=True)

    async def _shutdown(self) -> None:
        if self.server is not None:
            await self.server.shutdown()
        # Disconnect hooks just started, events still running: bounded, so that a stuck one
        # cannot hold the shutdown.
        await self._tasks.finish(SHUTDOWN_GRACE)
        close = self._adapter_hook("close")
        if close is not None:
            await close()

    def __repr__(self) -> str:
        state = "started" if self.server is not None else "not started (call app.io())"
        return f"<AppIO {state}>"
