"""The one allowed network path out of a sandbox: a Unix-socket relay to a single LLM endpoint.

bubblewrap cannot filter a network namespace by destination: ``--share-net`` gives the code the host's
whole network (every local service, the internet), ``--unshare-net`` gives it only its own empty
loopback. So a task that allows LLM data synthesis keeps ``--unshare-net`` and gets a relay instead:

* outside, :class:`UnixRelay` listens on a Unix socket in a private temporary folder and forwards every
  connection to the one allowed ``host:port`` (and nowhere else);
* the folder is bind-mounted into the sandbox, where the launcher
  (:data:`~ftagent.dojo.sandbox.base.LAUNCHER`) listens on ``127.0.0.1:<port>`` of the sandbox's own
  loopback and forwards to that socket.

The code sees ``$FTDOJO_LLM_BASE_URL=http://127.0.0.1:<port>/v1``. Only plain HTTP endpoints can be
relayed (a TLS endpoint would see the wrong host name); the endpoint needs no API key because none
is ever passed into a sandbox — a remote API belongs behind a loopback proxy run by the harness.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

SOCKET_NAME = "llm.sock"


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        src.close()
        dst.close()


class UnixRelay:
    """Forward connections on a Unix socket to one TCP endpoint, for the lifetime of a ``with`` block.

    Args:
        host: Endpoint host.
        port: Endpoint port.

    Attributes:
        folder: Private folder holding :data:`SOCKET_NAME` (bind it into the sandbox).
        connections: Connections relayed so far.
    """

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.folder = Path(tempfile.mkdtemp(prefix="ftdojo-relay-"))
        self.connections = 0
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.folder / SOCKET_NAME))
        self._server.listen(64)
        self._thread = threading.Thread(target=self._serve, name="ftdojo-llm-relay", daemon=True)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._server.accept()
            except OSError:  # closed on exit
                return
            try:
                upstream = socket.create_connection((self.host, self.port), timeout=10)
                upstream.settimeout(None)
            except OSError:
                conn.close()
                continue
            self.connections += 1
            for a, b in ((conn, upstream), (upstream, conn)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def __enter__(self) -> UnixRelay:
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            self._server.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._server.close()
        self._thread.join(timeout=5)
        shutil.rmtree(self.folder, ignore_errors=True)
