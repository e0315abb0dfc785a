"""The receivers of tests/receivers.py, made to go down and come back on the same port."""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller

from tests.receivers import HttpReceiver, SmtpReceiver, _Handler


class DrillReceiver(HttpReceiver):
    """An HttpReceiver that comes back on the same port after stop() (a receiver that was down
    for a while). When each request arrived is its `at` (time.monotonic())."""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port, ssl=self.ssl_context,
                                                  reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]


class DrillSmtpReceiver(SmtpReceiver):
    """An SmtpReceiver that can start again on its port after stop() (an aiosmtpd Controller cannot)."""

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port)
        self._controller.start()
