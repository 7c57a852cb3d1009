"""The ``expressio`` command.

    expressio run module:app [--host 127.0.0.1] [--port 7076] [--workers N] [--reload]
                             [--header-timeout 10] [--max-connections 10000]
    expressio client install [--dir DIR] [--registry URL] [--force]
    expressio admin-ui [--port 8080] [--host 127.0.0.1] [--dir PATH]

``module:app`` names the app as uvicorn does (``package.module:attribute``, looked up from the
current directory or ``--app-dir``). ``--workers N`` serves it with N processes on one port (see
:mod:`expressio.http.workers`; refused, with the reason, when the app keeps rooms or sessions in one
process's memory); ``--reload`` restarts the server when a source file changes (development; a
single process). ``--header-timeout`` and ``--max-connections`` are ``app.listen()``'s
``header_timeout`` and ``max_connections`` (see :mod:`expressio.http.connection_guard`; 0 turns
one off).

``client install`` downloads the official browser client (``/socket.io/socket.io.js``) from the
npm registry, without Node: see :mod:`expressio.io.client_install`.

``admin-ui`` serves the official Socket.IO Admin UI (npm's ``@socket.io/admin-ui``) on a local
port, for apps that call ``app.io.instrument(...)``: see :mod:`expressio.io.admin_ui`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.parse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import uvicorn
from uvicorn.importer import ImportFromStringError, import_from_string
from uvicorn.supervisors import ChangeReload

from .http.connection_guard import DEFAULT_HEADER_TIMEOUT, DEFAULT_MAX_CONNECTIONS
from .http.serving import build_config, serve
from .http.workers import WorkerConfigError, WorkersFailed, serve_workers
from .io import admin_ui, client_install


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="expressio", description="expressio: express.io for Python"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="command")
    run = commands.add_parser("run", help="serve an app", description="Serve an expressio app.")
    run.add_argument("app", help="the app to serve, as module:attribute (e.g. myapp:app)")
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    run.add_argument("--port", type=int, default=7076, help="port to bind (default 7076)")
    run.add_argument(
        "--workers", type=int, default=1, help="number of worker processes (default 1)"
    )
    run.add_argument(
        "--reload", action="store_true", help="restart when source files change (development)"
    )
    run.add_argument(
        "--log-level",
        default="info",
        choices=["critical", "error", "warning", "info", "debug", "trace"],
        help="server log level (default info)",
    )
    run.add_argument(
        "--app-dir", default=".", help="directory added to the import path (default: current)"
    )
    run.add_argument(
        "--header-timeout",
        type=float,
        default=DEFAULT_HEADER_TIMEOUT,
        help="seconds a client has to send a request head, else 408 (default %(default)s; 0: off)",
    )
    run.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        help="connections open at once per process; one more gets a 503 (default %(default)s;"
        " 0: no limit)",
    )
    client = commands.add_parser(
        "client",
        help="the socket.io browser client",
        description="The socket.io browser client served at /socket.io/socket.io.js.",
    )
    client_commands = client.add_subparsers(dest="client_command", required=True, metavar="command")
    install = client_commands.add_parser(
        "install",
        help="download the official browser client (no Node needed)",
        description=(
            f"Download {client_install.PACKAGE} {client_install.CLIENT_VERSION} from the npm "
            "registry, check it against its pinned integrity and install its dist files where "
            f"apps find them (${client_install.DIR_VARIABLE}, else "
            f"$XDG_DATA_HOME/expressio/{client_install.PACKAGE}-"
            f"{client_install.CLIENT_VERSION}/dist, by default under ~/.local/share)."
        ),
    )
    install.add_argument(
        "--dir",
        type=Path,
        help="install into DIR instead (then set the app's 'browser client path' to DIR)",
    )
    install.add_argument(
        "--registry",
        default=client_install.DEFAULT_REGISTRY,
        type=_registry,
        metavar="URL",
        help=f"the npm registry to download from (default {client_install.DEFAULT_REGISTRY})",
    )
    install.add_argument("--force", action="store_true", help="reinstall when already installed")
    # For tests: another version or tarball than the pinned one, with its integrity.
    install.add_argument("--pin-version", help=argparse.SUPPRESS)
    install.add_argument("--pin-integrity", type=_integrity, help=argparse.SUPPRESS)
    ui = commands.add_parser(
        "admin-ui",
        help="serve the Socket.IO Admin UI locally",
        description=(
            "Serve the official Socket.IO Admin UI (npm's @socket.io/admin-ui) on a local port; "
            "it connects to apps that call app.io.instrument(...)."
        ),
    )
    ui.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    ui.add_argument("--port", type=int, default=8080, help="port to bind (default 8080)")
    ui.add_argument(
        "--dir",
        type=Path,
        help="the UI's ui/dist folder, or a folder holding node_modules (looked at first)",
    )
    return parser


def _registry(value: str) -> str:
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise argparse.ArgumentTypeError(f"not an http or https URL: {value!r}")
    return value


def _integrity(value: str) -> str:
    try:
        client_install.parse_integrity(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
    if options.command == "client":
        return _client_install(parser, options)
    if options.command == "admin-ui":
        return _admin_ui(options)
    return _run(parser, options)


def _admin_ui(options: argparse.Namespace) -> int:
    try:
        directory = admin_ui.find_ui(options.dir, roots=[Path.cwd()])
    except admin_ui.AdminUINotFound as error:
        print(f"expressio: error: {error}", file=sys.stderr)
        return 1
    try:
        admin_ui.serve_ui(directory, options.host, options.port)
    except OSError as error:  # the port is taken, or the address is not this machine's
        print(f"expressio: error: cannot listen on {options.host}:{options.port}: {error}",
              file=sys.stderr)  # fmt: skip
        return 1
    return 0


def _client_install(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    if options.pin_version is not None and options.pin_integrity is None:
        parser.error("--pin-version needs --pin-integrity")
    version = options.pin_version or client_install.CLIENT_VERSION
    integrity = options.pin_integrity or client_install.CLIENT_INTEGRITY
    try:
        installed = client_install.install(
            options.dir,
            registry=options.registry,
            version=version,
            integrity=integrity,
            force=options.force,
        )
    except client_install.InstallError as error:
        print(f"expressio: error: {error}", file=sys.stderr)
        return 1
    where = installed.directory
    if installed.already:
        print(
            f"the browser client is already installed in {where}: nothing to do "
            f"(--force reinstalls {client_install.PACKAGE} {installed.version})"
        )
    else:
        print(f"installed {client_install.PACKAGE} {installed.version} in {where}")
    looked_up = client_install.client_directory(version)
    if looked_up is not None and Path(os.path.abspath(looked_up)) == where:
        print("apps serve it at /socket.io/socket.io.js")
    else:
        print("point your app at it with:\n")
        print(f'    app.io.set("browser client path", {json.dumps(str(where))})')
    return 0


def _run(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    if options.workers < 1:
        parser.error("--workers must be at least 1")
    if options.reload and options.workers > 1:
        parser.error("--reload serves a single process: it cannot be used with --workers")
    sys.path.insert(0, options.app_dir)
    try:
        app: Any = import_from_string(options.app)
    except ImportFromStringError as error:
        parser.error(str(error))
    tls = getattr(app, "tls", None)
    if options.header_timeout < 0 or options.max_connections < 0:
        parser.error("--header-timeout and --max-connections cannot be negative")
    settings: dict[str, Any] = {
        "log_level": options.log_level,
        "header_timeout": options.header_timeout or None,
        "max_connections": options.max_connections or None,
    }
    try:
        if options.reload:
            # The reloader's child imports the app itself, again at every change.
            config = build_config(
                options.app, host=options.host, port=options.port, tls=tls, reload=True,
                reload_dirs=[options.app_dir], **settings,
            )  # fmt: skip
            listening = config.bind_socket()
            ChangeReload(config, target=uvicorn.Server(config).run, sockets=[listening]).run()
        elif options.workers > 1:
            serve_workers(
                app, host=options.host, port=options.port, workers=options.workers, tls=tls,
                **settings,
            )  # fmt: skip
        else:
            serve(app, host=options.host, port=options.port, tls=tls, **settings)
    except (WorkerConfigError, WorkersFailed) as error:
        print(f"expressio: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
