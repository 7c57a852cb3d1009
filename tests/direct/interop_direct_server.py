"""The interop suite's server (tests/interop/interop_server.py) served as app.listen() serves
an app: mounted at /socket.io on an Application, run with serving.build_config, so engine
websockets take the direct transport.

    python tests/direct/interop_direct_server.py --port N
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from expressio.engine.direct import DirectWebSocketProtocol
from expressio.http.application import Application
from expressio.http.serving import build_config
from tests.interop.interop_server import build_server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    port: int = parser.parse_args().port
    app = Application()
    realtime = build_server()
    app.mount_asgi("/socket.io", realtime)
    app.on_shutdown(realtime.shutdown)
    config = build_config(app, port=port, log_level="warning")
    assert config.ws is DirectWebSocketProtocol
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
