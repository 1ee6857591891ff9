"""A development-grade HTTPS API on Python's standard library, as small
services are often written: ``http.server.ThreadingHTTPServer`` (listen
backlog 5), TLS handshakes in the accepting thread, HTTP Basic, an API key
header and HS256 JWTs checked by hand. For ``benches/scripts/dev-server.sh``:
how long the catalog takes against a modest server, and that nothing in it
errors. Not tuned to pass authbench's cases.

Usage: python3 server.py PORT CERT KEY STATE_DIR CA
Writes STATE_DIR/target.toml (a complete profile) and prints ``ready URL``.
"""

import base64
import hashlib
import hmac
import http.server
import json
import os
import secrets
import ssl
import sys
import time

PORT, CERT, KEY, STATE, CA = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
PASSWORD = "dev-" + secrets.token_urlsafe(12)
API_KEY = "sk_test_" + secrets.token_urlsafe(32)
SECRET = secrets.token_bytes(32)
ISSUER, AUDIENCE = "https://issuer.dev.test", "https://api.dev.test"
LEEWAY = 30


def b64url_decode(segment):
    if not segment or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in segment):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def jwt_valid(token):
    parts = token.split(".")
    if len(parts) != 3:
        return False
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        signature = b64url_decode(parts[2])
    except ValueError:
        return False
    if not isinstance(header, dict) or not isinstance(claims, dict):
        return False
    if header.get("alg") != "HS256" or "crit" in header:
        return False
    expected = hmac.new(SECRET, (parts[0] + "." + parts[1]).encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        return False
    now = time.time()
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or isinstance(exp, bool) or exp + LEEWAY < now:
        return False
    nbf = claims.get("nbf")
    if nbf is not None and (not isinstance(nbf, (int, float)) or nbf - LEEWAY > now):
        return False
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    return claims.get("iss") == ISSUER and AUDIENCE in auds


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, body, challenge=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if challenge:
            self.send_header("WWW-Authenticate", challenge)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self):
        path = self.path.split("?", 1)[0]
        values = self.headers.get_all("Authorization") or []
        if path == "/baseline":
            return self.answer(200, {"ok": True})
        if path == "/basic":
            if len(values) == 1 and values[0][:6].lower() == "basic ":
                try:
                    user, _, password = base64.b64decode(values[0][6:].strip(), validate=True).decode().partition(":")
                except ValueError:
                    user, password = "", ""
                if hmac.compare_digest(user.encode(), b"alice") & hmac.compare_digest(password.encode(), PASSWORD.encode()):
                    return self.answer(200, {"user": user})
            return self.answer(401, {"error": "unauthorized"}, 'Basic realm="dev", charset="UTF-8"')
        if path == "/api-key":
            keys = self.headers.get_all("X-API-Key") or []
            if len(keys) == 1 and hmac.compare_digest(keys[0].encode(), API_KEY.encode()):
                return self.answer(200, {"app": "dev"})
            return self.answer(401, {"error": "unauthorized"}, 'ApiKey realm="dev"')
        if path == "/jwt":
            if not values:
                return self.answer(401, {"error": "unauthorized"}, 'Bearer realm="dev"')
            if len(values) == 1 and values[0][:7].lower() == "bearer " and jwt_valid(values[0][7:].strip()):
                return self.answer(200, {"ok": True})
            return self.answer(401, {"error": "invalid_token"}, 'Bearer realm="dev", error="invalid_token"')
        return self.answer(404, {"error": "not_found"})

    do_GET = do_HEAD = do_POST = route


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(CERT, KEY)
    # The handshake happens in accept(), on the serving thread: one slow
    # client holds up every other, as in many small services.
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(STATE, "jwt.secret"), "wb") as f:
        f.write(SECRET)
    port = server.server_address[1]
    with open(os.path.join(STATE, "target.toml"), "w") as f:
        f.write(f"""version = 1
name = "python-dev"
base_url = "https://localhost:{port}"
baseline_url = "/baseline"
ca_file = "{CA}"

[basic]
url = "/basic"
username = "alice"
password = "{PASSWORD}"

[api_key]
url = "/api-key"
header = "X-API-Key"
key = "{API_KEY}"

[jwt]
url = "/jwt"
issuer = "{ISSUER}"
audience = "{AUDIENCE}"
algorithm = "HS256"
signing_key_file = "jwt.secret"
leeway_seconds = {LEEWAY}
""")
    print(f"ready https://localhost:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
