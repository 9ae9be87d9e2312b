#!/usr/bin/env python3
"""A test Time-Stamping Authority over HTTP (RFC 3161 section 3.4).

    tsa_server.py DIR [PORT]

DIR was made by tsa_make.sh.  Listens on 127.0.0.1, PORT or an ephemeral
one, written to DIR/port once listening (a TSA started again on the port
it had comes back at the address the gateways know).  Each POST of an
application/timestamp-query body is answered by `openssl ts -reply`
(application/timestamp-reply).  DIR/mode, read at each request, bends the
answer for the tests: "ok" (or no file), "other" (signed by the TSA of
another CA), "tamper" (a byte of the reply's signature flipped), "down"
(HTTP 503).  Each request appends a line "<mode> <bytes>" to
DIR/requests.  Stops on SIGTERM.
"""
import http.server
import os
import signal
import subprocess
import sys
import tempfile

DIR = os.path.abspath(sys.argv[1])
MAX_QUERY = 64 * 1024


def mode():
    try:
        with open(os.path.join(DIR, "mode"), encoding="ascii") as f:
            return f.read().strip() or "ok"
    except FileNotFoundError:
        return "ok"


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        m = mode()
        n = int(self.headers.get("Content-Length", "0"))
        if n <= 0 or n > MAX_QUERY:
            self.send_error(400)
            return
        body = self.rfile.read(n)
        with open(os.path.join(DIR, "requests"), "a", encoding="ascii") as f:
            f.write("%s %d\n" % (m, n))
        if (m == "down" or self.headers.get("Content-Type")
                != "application/timestamp-query"):
            self.send_error(503 if m == "down" else 415)
            return
        cnf = "other.cnf" if m == "other" else "tsa.cnf"
        with tempfile.TemporaryDirectory(dir=DIR) as tmp:
            q = os.path.join(tmp, "q.tsq")
            r = os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(body)
            p = subprocess.run(["openssl", "ts", "-reply", "-config",
                                os.path.join(DIR, cnf), "-queryfile", q,
                                "-out", r], capture_output=True)
            if p.returncode != 0:
                self.send_error(500)
                return
            with open(r, "rb") as f:
                reply = bytearray(f.read())
        if m == "tamper":
            reply[-5] ^= 0x40
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(bytes(reply))


def main():
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    srv = http.server.HTTPServer(("127.0.0.1", port), Handler)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    tmp = os.path.join(DIR, "port.tmp")
    with open(tmp, "w", encoding="ascii") as f:
        f.write("%d\n" % srv.server_address[1])
    os.replace(tmp, os.path.join(DIR, "port"))
    srv.serve_forever()


if __name__ == "__main__":
    main()
