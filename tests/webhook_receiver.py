"""A real HTTP endpoint for the notification tests: records what it receives, fails on demand.

`Receiver()` listens on 127.0.0.1 (a free port) in a thread. `fail_next(500, 500)`
makes the next posts answer those statuses; `stop()` closes the port (the
endpoint is down: connections are refused) and `start()` opens the same port
again. `received` holds the posts answered 2xx, `attempts` every post.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Post:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def json(self) -> Any:
        return json.loads(self.body)


class Receiver:
    def __init__(self) -> None:
        self.attempts: list[Post] = []
        self._failures: list[int] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0
        self.start()

    # -- control ----------------------------------------------------------------------------
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    status = receiver._failures.pop(0) if receiver._failures else 200
                    receiver.attempts.append(Post(self.path, dict(self.headers.items()), body,
                                                  status))
                answer = b'{"ok": true}' if status < 300 else b"endpoint says no"
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def fail_next(self, *statuses: int) -> None:
        with self._lock:
            self._failures.extend(statuses)

    # -- what arrived -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Post]:
        with self._lock:
            return [p for p in self.attempts if p.status < 300]

    def event_ids(self) -> list[int]:
        return [p.json["event"]["id"] for p in self.received]

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Post]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.received
