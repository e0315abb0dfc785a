"""A connector endpoint for Relay's create_task / update_field, standard library only."""
import hashlib
import hmac
import json
import os
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SECRET = os.environ.get("RELAY_CONNECTOR_SECRET", "change-me").encode()

def verified(header: str, body: bytes, now: float) -> bool:
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    expected = hmac.new(SECRET, parts.get("t", "").encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = parts.get("t", "").isdigit() and abs(now - int(parts["t"])) <= 300
    return fresh and hmac.compare_digest(expected, parts.get("v1", ""))

class Connector(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if not verified(self.headers.get("X-Relay-Signature", ""), body, time.time()):
            return self.send_error(401, "bad signature")
        call = json.loads(body)  # {"action", "instance_id", "step_id", "input"}
        reply = json.dumps({"ok": True, "action": call["action"], "id": call["step_id"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

if __name__ == "__main__":
    ThreadingHTTPServer(("127.0.0.1", 8099), Connector).serve_forever()
