"""Real local servers that receive Relay's side effects in tests.

    async with HttpReceiver() as r:       # HTTP/1.1 on a free 127.0.0.1 port
        r.respond(500)                     # scripted answers, then 200 {"ok": true}
        ... r.url, r.requests[0].json()
    async with SmtpReceiver() as s:        # aiosmtpd on a free port
        s.refuse(550) ... s.messages[0].message["Subject"]
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import h11
from aiosmtpd.controller import Controller

from app.devserver import free_port


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.monotonic() when it arrived

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


@dataclass
class ScriptedResponse:
    status: int = 200
    body: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    delay: float = 0.0


class HttpReceiver:
    """An asyncio HTTP/1.1 server (h11) in the current event loop that records requests."""

    def __init__(self, host: str = "127.0.0.1", ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.ssl_context = ssl_context
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self._script: list[ScriptedResponse] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    def respond(
        self, status: int = 200, body: Any = None, headers: dict[str, str] | None = None, delay: float = 0.0
    ) -> None:
        """Queue one answer; when the queue is empty the answer is 200 {"ok": true}."""
        hdrs = {k.lower(): v for k, v in (headers or {}).items()}
        if body is None:
            raw = b""
        elif isinstance(body, bytes):
            raw = body
        elif isinstance(body, str):
            raw = body.encode()
            hdrs.setdefault("content-type", "text/plain; charset=utf-8")
        else:
            raw = json.dumps(body).encode()
            hdrs.setdefault("content-type", "application/json")
        self._script.append(ScriptedResponse(status, raw, hdrs, delay))

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> HttpReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request, body = None, bytearray()
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await reader.read(65536)
                        conn.receive_data(data)
                        continue
                    if isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)) or event is h11.PAUSED:
                        break
                if request is None or isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
                self._record(request, bytes(body))
                await self._answer(conn, writer, request.method == b"HEAD")
                if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()
        except (h11.ProtocolError, ConnectionError):
            return
        except asyncio.CancelledError:  # stop(): end quietly (a cancelled handler task gets logged)
            return
        finally:
            writer.close()
            self._tasks.discard(task)

    def _record(self, request: h11.Request, body: bytes) -> None:
        target = urlsplit(request.target.decode())
        self.requests.append(
            RecordedRequest(
                method=request.method.decode(),
                path=target.path,
                query=dict(parse_qsl(target.query, keep_blank_values=True)),
                headers={k.decode().lower(): v.decode() for k, v in request.headers},
                body=body,
                at=time.monotonic(),
            )
        )

    async def _answer(self, conn: h11.Connection, writer: asyncio.StreamWriter, head: bool) -> None:
        scripted = self._script.pop(0) if self._script else ScriptedResponse()
        if scripted.delay:
            await asyncio.sleep(scripted.delay)
        headers = dict(scripted.headers)
        headers["content-length"] = str(len(scripted.body))
        response = h11.Response(status_code=scripted.status, headers=list(headers.items()))
        writer.write(conn.send(response))
        if not head:
            writer.write(conn.send(h11.Data(data=scripted.body)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    message: email.message.Message


class _Handler:
    def __init__(self, receiver: SmtpReceiver) -> None:
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.receiver.refusal and self.receiver.refuse_at == "RCPT":
            return self.receiver.refusal
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.receiver.refusal and self.receiver.refuse_at == "DATA":
            return self.receiver.refusal
        raw = envelope.original_content or envelope.content
        message = email.message_from_bytes(raw, policy=email.policy.default)
        self.receiver.messages.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


class SmtpReceiver:
    """An aiosmtpd server (in its own thread) on a free 127.0.0.1 port that records mail."""

    def __init__(self, host: str = "127.0.0.1", auth: tuple[str, str] | None = None) -> None:
        self.host = host
        self.port = _free_port(host)
        self.messages: list[ReceivedMail] = []
        self.refusal: str | None = None
        self.refuse_at = "DATA"
        self._controller = Controller(_Handler(self), hostname=host, port=self.port)

    def refuse(self, code: int = 550, text: str | None = None, *, at: str = "DATA") -> None:
        """Answer every later message (at RCPT or DATA) with `code`."""
        default = "Mailbox unavailable" if code >= 500 else "Try again later"
        self.refusal = f"{code} {text or default}"
        self.refuse_at = at

    def accept(self) -> None:
        self.refusal = None

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> SmtpReceiver:
        await asyncio.to_thread(self.start)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)


def _free_port(host: str) -> int:
    if host == "127.0.0.1":
        return free_port()  # never a port this process already gave to another server
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
