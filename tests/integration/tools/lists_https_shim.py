#!/usr/bin/env python3
"""A TEST TOOL, not the product: serves the lists over HTTPS for
tests/integration/lists_https.sh by running `icx lists http-get` for each
request, until the dashboard server (gateway/web/) mounts
icx_lists_http_get() itself.

It does what that server must do and nothing more: TLS with a client
certificate required (the partners' certificates are the trusted ones),
the client's certificate handed to icx, which maps it to a partner
(docs/LISTS.md, "Over HTTPS"), GET only, the reply's status, Content-Type
and ETag, and If-None-Match passed through.  One request at a time.

usage: lists_https_shim.py ICX CONFIG CERT KEY CLIENT_CA PORT_FILE
Listens on 127.0.0.1, an ephemeral port written to PORT_FILE; the lists
are under /lists/.  Stops on SIGTERM.
"""
import http.server
import os
import signal
import ssl
import subprocess
import sys
import tempfile

ICX, CONFIG, CERT, KEY, CLIENT_CA, PORT_FILE = sys.argv[1:7]
PREFIX = "/lists/"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self):
        if not self.path.startswith(PREFIX):
            return self.reply(404)
        der = self.connection.getpeercert(binary_form=True)
        if der is None:
            return self.reply(404)
        with tempfile.NamedTemporaryFile("w", suffix=".pem") as pem:
            pem.write(ssl.DER_cert_to_PEM_cert(der))
            pem.flush()
            cmd = [ICX, "lists", "http-get", self.path[len(PREFIX):],
                   "--client-cert", pem.name, "-c", CONFIG]
            inm = self.headers.get("If-None-Match")
            if inm:
                cmd += ["--if-none-match", inm]
            run = subprocess.run(cmd, stdout=subprocess.PIPE,
                                 stderr=subprocess.DEVNULL)
        if run.returncode not in (0, 1):
            return self.reply(503)
        head, _, body = run.stdout.partition(b"\n\n")
        fields = dict(line.split(": ", 1) for line in
                      head.decode().splitlines())
        status = int(fields["status"])
        headers = [("Content-Type", fields["content-type"])]
        if "etag" in fields:
            headers.append(("ETag", fields["etag"]))
        self.reply(status, body if status == 200 else b"", headers)

    def log_message(self, fmt, *args):
        pass


def main():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(CERT, KEY)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=CLIENT_CA)
    # Partners present self-signed certificates: trust them as they are.
    ctx.verify_flags |= getattr(ssl, "VERIFY_X509_PARTIAL_CHAIN", 0)
    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = PORT_FILE + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, PORT_FILE)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    srv.serve_forever()


if __name__ == "__main__":
    main()
