#!/usr/bin/python3
# An independent permessage-deflate decoder for compression.test.js:
# Python websockets (Debian python3-websockets) connects with its default
# offer (permessage-deflate), receives up to COUNT messages within SECS
# seconds and prints the negotiated extensions, then each message on a
# line of its own, then "received N".
#   ws_deflate_client.py URL COUNT SECS
import asyncio
import sys

import websockets


async def main(url, count, secs):
    loop = asyncio.get_running_loop()
    end = loop.time() + secs
    n = 0
    async with websockets.connect(url, max_size=None) as ws:
        exts = ws.response_headers.get_all("Sec-WebSocket-Extensions")
        print("extensions: " + ", ".join(exts), flush=True)
        while n < count:
            try:
                msg = await asyncio.wait_for(ws.recv(), end - loop.time())
            except asyncio.TimeoutError:
                break
            sys.stdout.write(msg + "\n")
            n += 1
    print("received %d" % n, flush=True)


asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
