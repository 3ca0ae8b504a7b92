from channels.generic.websocket import AsyncWebsocketConsumer


class EchoConsumer(AsyncWebsocketConsumer):
    """Sends every text message back, prefixed: the /ws/ proxy check."""

    async def receive(self, text_data=None, bytes_data=None):
        await self.send(text_data=f"echo: {text_data}")
