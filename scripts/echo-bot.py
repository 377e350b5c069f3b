#!/usr/bin/env python3
"""An echo bot for chatroom's outgoing webhooks: answers each message it is told of with
{"text": "echo: <the message's text>"}, which the server posts back into the room as the bot.

    python3 scripts/echo-bot.py --port 8765
    chatroom bots webhook echo http://127.0.0.1:8765/

Standard library only. Prints "listening on 127.0.0.1:PORT" once it listens (with --port 0,
on a port the system picks), then one line per message it answers.
"""

import argparse
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The most a delivery may hold; chatroom's are far smaller.
MAX_BODY = 1024 * 1024


class EchoHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length <= 0 or length > MAX_BODY:
            self.answer(400, {"error": "a JSON body is expected"})
            return
        try:
            delivery = json.loads(self.rfile.read(length))
            text = delivery["message"]["text"]
            author = delivery.get("author", "")
            room = delivery["room"]["name"]
        except (ValueError, KeyError, TypeError):
            self.answer(400, {"error": "not a chatroom delivery"})
            return
        try:
            print(f"{author} in {room}: {text}", flush=True)
        except OSError:
            # Nobody reads our output any more (a closed pipe): answering matters more.
            pass
        self.answer(200, {"text": f"echo: {text}"})

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format, *args):
        # One line per message (above) is enough; the request log would double it.
        pass


def main():
    parser = argparse.ArgumentParser(description="An echo bot for chatroom's outgoing webhooks.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port to listen on; 0 picks one (8765)")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), EchoHandler)
    host, port = server.server_address[:2]
    print(f"listening on {host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
