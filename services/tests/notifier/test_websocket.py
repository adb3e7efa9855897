"""The WebSocket under Socket.IO: what `storybang notifier` negotiates with a browser-like client."""

from __future__ import annotations

import websockets.asyncio.client


async def test_per_message_deflate_is_declined(notifier: str) -> None:
    # Browsers offer it; each small event would be compressed again for every socket.
    url = notifier.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    async with websockets.asyncio.client.connect(url, compression="deflate") as ws:
        assert ws.response is not None
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        opened = await ws.recv()
        assert isinstance(opened, str) and opened.startswith("0"), "an Engine.IO open packet"
