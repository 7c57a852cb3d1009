"""``expressio admin-ui``: the official Socket.IO Admin UI, served from this machine.

The UI is the static Vue app that the npm package ``@socket.io/admin-ui`` ships in
``ui/dist``; no copy of it comes with expressio. It is looked up as the browser client is
(:mod:`.client_bundle`): in ``--dir`` first (the ``ui/dist`` folder itself, or a folder holding
``node_modules``), then in ``node_modules/@socket.io/admin-ui/ui/dist`` of the current
directory or any of its parents. The page then connects, from the browser, to the app named in
its connection form, whose ``/admin`` namespace ``app.io.instrument(...)`` serves.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

UI_DIR = Path("node_modules") / "@socket.io" / "admin-ui" / "ui" / "dist"
INDEX = "index.html"


class AdminUINotFound(LookupError):
    """The UI's files are in none of the places looked at (``looked_in``)."""

    def __init__(self, looked_in: Sequence[Path]) -> None:
        self.looked_in = tuple(looked_in)
        places = "\n".join(f"    {place}" for place in self.looked_in)
        super().__init__(
            "the Socket.IO Admin UI is not installed; it is the npm package @socket.io/admin-ui. "
            "Install it next to your app with:\n\n"
            "    npm install @socket.io/admin-ui\n\n"
            "or point --dir at its ui/dist folder. Looked in:\n" + places
        )


def find_ui(extra: Path | None = None, roots: Iterable[Path] = ()) -> Path:
    """The folder holding the UI's ``index.html``; :class:`AdminUINotFound` when none does."""
    candidates: list[Path] = []
    if extra is not None:
        candidates += [extra, extra / UI_DIR]
    seen: set[Path] = set()
    for root in roots:
        root = root.resolve()
        for folder in (root, *root.parents):
            if folder in seen:
                break
            seen.add(folder)
            candidates.append(folder / UI_DIR)
    for candidate in candidates:
        if (candidate / INDEX).is_file():
            return candidate
    raise AdminUINotFound(candidates)


def connection_hint(url: str) -> str:
    """What to tell the user once the UI is served at ``url``."""
    return (
        f"Socket.IO Admin UI: {url}\n"
        "In its form: Server URL = your app (e.g. http://127.0.0.1:7076), and the username and "
        "password given to app.io.instrument(); the app must allow this origin: "
        f'app.io.set("origins", [..., "{url.rstrip("/")}"]).'
    )


def serve_ui(directory: Path, host: str, port: int, *, log_level: str = "warning") -> None:
    """Serve ``directory`` (the UI) at ``http://host:port/`` until interrupted.

    The socket is bound and listening before the hint is printed (connections wait in its
    backlog until the server accepts them), so a port in use fails first, with ``OSError``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.create_server((host, port), family=family)
    # In a Starlette app, whose error handling turns the files' HTTPException(404) into a 404.
    files = Starlette(routes=[Mount("/", StaticFiles(directory=directory, html=True))])
    config = uvicorn.Config(files, host=host, port=port, log_level=log_level)
    shown_host = f"[{host}]" if family == socket.AF_INET6 else host
    print(connection_hint(f"http://{shown_host}:{listening.getsockname()[1]}/"), flush=True)
    uvicorn.Server(config).run(sockets=[listening])
