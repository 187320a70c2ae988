"""The way CaliDog's certstream-python reads a feed, for the tests.

certstream-python (not in Debian) is a thin layer over websocket-client
(Debian's python3-websocket): a WebSocketApp subclass whose on_message
json-loads each text message, drops heartbeats when asked, and hands the
frame to a callback; listen_for_events() runs it with ping_interval=15.
This file makes the same calls with the same library, so the daemon is
read by the same transport, handshake (no extension offered) and
parsing. Each message's raw text goes to stdout as "M <text>" (messages
are one line), so a test can compare bytes as well as parsed frames.

  python3 certstream_py.py URL [--heartbeats]
stdout: "open" once connected, "M ..." per message, "closed" at the end.
SIGTERM closes the connection.
"""
import json
import signal
import sys

import websocket


class CertStreamClient(websocket.WebSocketApp):
    """certstream.core.CertStreamClient's shape: json.loads, heartbeat skip."""

    def __init__(self, message_callback, url, skip_heartbeats=True):
        self.message_callback = message_callback
        self.skip_heartbeats = skip_heartbeats
        super().__init__(url=url, on_open=self._on_open,
                         on_message=self._on_message, on_error=self._on_error)

    def _on_open(self, _):
        print("open", flush=True)

    def _on_message(self, _, message):
        frame = json.loads(message)
        if frame.get("message_type", None) == "heartbeat" and self.skip_heartbeats:
            return
        self.message_callback(message, frame)

    def _on_error(self, _, error):
        print("error %s" % error, file=sys.stderr, flush=True)


def main():
    url = sys.argv[1]
    skip = "--heartbeats" not in sys.argv[2:]

    def callback(raw, frame):
        # What a certstream-python callback does first: read the type and data.
        assert isinstance(frame.get("message_type"), str)
        sys.stdout.write("M " + raw + "\n")
        sys.stdout.flush()

    client = CertStreamClient(callback, url, skip_heartbeats=skip)
    # As Ctrl-C ends listen_for_events: run_forever tears down on it.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    client.run_forever(ping_interval=15)
    print("closed", flush=True)


if __name__ == "__main__":
    main()
