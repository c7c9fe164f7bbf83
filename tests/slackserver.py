"""A loopback emulator of a Slack incoming webhook, in a background thread.

It answers as Slack does: ``200 ok``; ``400 invalid_blocks`` for a message over Block Kit's
limits (more than 50 blocks, a section over 3,000 characters) and ``400 invalid_payload`` for
something that is not a JSON message; and, when a test queues them, ``429`` with Retry-After,
other 4xx and 5xx. Every request is recorded with the payload and the answer it got.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_PATH = "/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX"
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_MESSAGE = 13000


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)


OK = Answer()


def rate_limited(retry_after: int) -> Answer:
    return Answer(429, "rate_limited", {"Retry-After": str(retry_after)})


@dataclass(frozen=True)
class Posted:
    path: str
    payload: Any
    status: int


def slack_problem(payload: Any) -> str | None:
    """What Slack would refuse in ``payload``, as its error code; None if it is acceptable."""
    if not isinstance(payload, dict) or not (payload.get("text") or payload.get("blocks")):
        return "invalid_payload"
    blocks = payload.get("blocks", [])
    if len(blocks) > MAX_BLOCKS:
        return "invalid_blocks"
    total = len(payload.get("text", ""))
    for block in blocks:
        if block.get("type") == "section":
            text = block["text"]["text"]
            if len(text) > MAX_SECTION:
                return "invalid_blocks"
            total += len(text)
        else:
            total += sum(len(e.get("text", "")) for e in block.get("elements", []))
    return "msg_blocks_too_long" if total > MAX_MESSAGE else None


class SlackServer:
    """``with SlackServer() as slack:`` then post to ``slack.webhook_url``."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self._answers: deque[Answer] = deque()
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                answer = server._answer(self.path, body)
                data = answer.body.encode()
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def webhook_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{WEBHOOK_PATH}"

    def queue(self, *answers: Answer) -> None:
        """Answer the next requests with these, in order; then ``ok`` again."""
        with self._lock:
            self._answers.extend(answers)

    def _answer(self, path: str, body: bytes) -> Answer:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        with self._lock:
            if path != WEBHOOK_PATH:
                answer = Answer(404, "no_service")
            elif self._answers:
                answer = self._answers.popleft()
            else:
                problem = slack_problem(payload)
                answer = Answer(400, problem) if problem else OK
            self.posted.append(Posted(path, payload, answer.status))
        return answer

    @property
    def accepted(self) -> list[Any]:
        """Payloads answered 200, i.e. messages that would appear in the channel."""
        with self._lock:
            return [p.payload for p in self.posted if p.status == 200]

    def __enter__(self) -> SlackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
