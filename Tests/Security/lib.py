"""What the security suites share: raw HTTP from a chosen loopback source address (so every
rate-limit check has a client of its own), JSON helpers, and a small step runner."""

import http.client
import json
import socket
import sys
import time
import uuid


class Sources:
    """Hands out loopback addresses 127.B.x.y, one per client the suite pretends to be. Every
    address in 127.0.0.0/8 reaches the loopback interface on Linux, and rate limits key on it."""

    def __init__(self, block):
        self.block = block
        self.next = 1

    def take(self):
        n = self.next
        self.next += 1
        return "127.%d.%d.%d" % (self.block, n // 250, 1 + n % 250)


def split_url(base):
    assert base.startswith("http://"), base
    host, _, port = base[len("http://"):].rstrip("/").partition(":")
    return host, int(port or 80)


def raw_request(base, method, target, body=None, headers=None, source="127.0.0.1", timeout=10):
    """Sends `target` exactly as written (no client-side normalization: fragments, dot segments,
    encodings all reach the server). Returns (status, headers as a lowercased dict, body bytes)."""
    host, port = split_url(base)
    data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8"))
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: %s:%d" % (host, port), "Connection: close",
             "Content-Length: %d" % len(data)]
    if body is not None:
        lines.append("Content-Type: application/json")
    for name, value in (headers or {}).items():
        lines.append("%s: %s" % (name, value))
    payload = ("\r\n".join(lines) + "\r\n\r\n").encode() + data
    sock = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0))
    try:
        sock.sendall(payload)
        response = http.client.HTTPResponse(sock, method=method)
        response.begin()
        raw = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, raw
    finally:
        sock.close()


def call(base, method, path, body=None, token=None, headers=None, source="127.0.0.1", timeout=10):
    all_headers = dict(headers or {})
    if token:
        all_headers["Authorization"] = "Bearer " + token
    return raw_request(base, method, path, body=body, headers=all_headers, source=source, timeout=timeout)


def as_json(raw):
    try:
        return json.loads(raw)
    except Exception:
        return {}


def error_code(raw):
    return as_json(raw).get("error", {}).get("code")


def wait_for(check, seconds, interval=0.3):
    """Polls `check` until it returns something truthy or the deadline passes; returns the last value."""
    deadline = time.time() + seconds
    value = check()
    while not value and time.time() < deadline:
        time.sleep(interval)
        value = check()
    return value


def new_email(prefix="donor"):
    return "%s-%s@example.org" % (prefix, uuid.uuid4().hex[:10])


class Steps:
    def __init__(self, name):
        self.name = name
        self.results = []

    def run(self, title, body):
        started = time.time()
        try:
            body()
            self.results.append(True)
            print("  ok    %s (%.1fs)" % (title, time.time() - started), flush=True)
        except Exception as error:
            self.results.append(False)
            print("  FAIL  %s: %s" % (title, str(error)[:2000] or repr(error)), flush=True)

    def finish(self):
        passed = sum(self.results)
        print("%s: %d passed, %d failed" % (self.name, passed, len(self.results) - passed), flush=True)
        sys.exit(0 if passed == len(self.results) else 1)


def spellings(path):
    """Other ways to write `path` that a lenient router might still route to it."""
    segments = path.strip("/").split("/")
    head, last = "/" + "/".join(segments[:-1]), segments[-1]
    return [
        path,
        path + "/",
        path + "//",
        "/" + path,
        head + "//" + last,
        head + "/./" + last,
        head + "/x/../" + last,
        head + "/%2e/" + last,
        head + "/x/%2E%2E/" + last,
        head + "/%" + "%02x" % ord(last[0]) + last[1:],
        head + "/%" + "%02X" % ord(last[0]) + last[1:],
        head + "%2F" + last,
        head + "%2f" + last,
        head + "%5C" + last,
        head + "/" + last.upper(),
        "/" + "/".join(s[:1].upper() + s[1:] for s in segments),
        path + "#x",
        path + "/#/x",
        path + "?x=1",
        path + "/?x=1",
        path + ";x=1",
        head + "/" + last + ";jsessionid=1/",
        path + "/.",
        path + "/%2e",
        path + "%00",
        path + "%20",
    ]
