"""A loopback token endpoint for the credential tests (Azure's managed identity endpoint, GCP's metadata
server): GETs answered with JSON by `answer(path, headers) -> (status, doc)`, each call recorded."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class TokenServer:
    def __init__(self, answer):
        self.answer = answer
        self.seen: list[tuple[str, dict]] = []  # (path with query, headers) per call
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                owner.seen.append((self.path, dict(self.headers)))
                status, doc = owner.answer(self.path, self.headers)
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
