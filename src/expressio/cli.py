"""The ``expressio`` command.

    expressio run module:app [--host 127.0.0.1] [--port 7076] [--workers N] [--reload]

``module:app`` names the app as uvicorn does (``package.module:attribute``, looked up from the
current directory or ``--app-dir``). ``--workers N`` serves it with N processes on one port (see
:mod:`expressio.http.workers`; refused, with the reason, when the app keeps rooms or sessions in one
process's memory); ``--reload`` restarts the server when a source file changes (development; a
single process).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

import uvicorn
from uvicorn.importer import ImportFromStringError, import_from_string
from uvicorn.supervisors import ChangeReload

from .http.serving import build_config, serve
from .http.workers import WorkerConfigError, WorkersFailed, serve_workers


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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    options = parser.parse_args(argv)
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
    settings: dict[str, Any] = {"log_level": options.log_level}
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
