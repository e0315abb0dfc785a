"""The receivers of tests/receivers.py, made to go down and come back on the same port."""

from __future__ import annotations

import asyncio
import time

from aiosmtpd.controller import Controller

from tests.receivers import HttpReceiver, SmtpReceiver, _Handler


class DrillReceiver(HttpReceiver):
    """An HttpReceiver that notes when each request arrived (`arrived`, time.monotonic()) and comes
    back on the same port after stop() (a receiver that was down for a while)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.arrived: list[float] = []

    def _record(self, request, body: bytes) -> None:  # noqa: ANN001
        self.arrived.append(time.monotonic())
        super()._record(request, body)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.ssl_context,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]


class DrillSmtpReceiver(SmtpReceiver):
    """An SmtpReceiver that can start again on its port after stop() (an aiosmtpd Controller cannot)."""

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
