#!/usr/bin/python3
# An independent permessage-deflate decoder for compression.test.js:
# Python websockets (Debian python3-websockets) connects with its default
# offer (permessage-deflate), receives COUNT messages and prints the
# negotiated extensions, then each message on a line of its own.
#   ws_deflate_client.py URL COUNT
import asyncio
import sys

import websockets


async def main(url, count):
    async with websockets.connect(url, max_size=None) as ws:
        exts = ws.response_headers.get_all("Sec-WebSocket-Extensions")
        print("extensions: " + ", ".join(exts), flush=True)
        for _ in range(count):
            msg = await ws.recv()
            sys.stdout.write(msg + "\n")
    sys.stdout.flush()


asyncio.run(main(sys.argv[1], int(sys.argv[2])))
