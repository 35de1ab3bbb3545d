"""A TCP proxy that misbehaves on demand, put by Tests/Chaos/chaos.py between a service and
PostgreSQL or between two services. Modes, switched at any time with `proxy.mode = ...`:
- "pass": bytes flow both ways;
- "latency": every chunk waits `proxy.delay` seconds before it is forwarded;
- "reset": open connections are reset (RST, not FIN) and new ones reset as soon as accepted;
- "drop-responses": what the client sends still reaches the server, but nothing comes back;
- "half-open": nothing is forwarded either way, and neither side is told.
A connection that lost bytes (dropped or half-open) is reset when the proxy goes back to "pass",
as a connection whose stream broke would be; the peers open new ones.
Threads, one pair per connection: the services' pools open a handful.
"""
import socket
import struct
import threading
import time

MODES = ("pass", "latency", "reset", "drop-responses", "half-open")


class FaultProxy:
    def __init__(self, upstream_port, host="127.0.0.1"):
        self.upstream = (host, int(upstream_port))
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, 0))
        self.listener.listen(256)
        self.port = self.listener.getsockname()[1]
        self.delay = 0.1
        self._mode = "pass"
        self.lock = threading.Lock()
        self.connections = {}  # id -> [client, server, broken]
        self.accepted = 0
        self.closed = False
        threading.Thread(target=self.accept, daemon=True).start()

    @property
    def mode(self):
        return self._mode

    @mode.setter
    def mode(self, mode):
        assert mode in MODES, mode
        with self.lock:
            self._mode = mode
            doomed = [key for key, (_, _, broken) in self.connections.items() if mode == "reset" or (mode == "pass" and broken)]
        for key in doomed:
            self.reset(key)

    @staticmethod
    def abort(sock):
        """Closes with RST: the peer sees a reset, not an orderly end."""
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Wakes a pump blocked reading it (sends nothing); the close then resets.
            sock.shutdown(socket.SHUT_RD)
        except OSError:
            pass
        try:
            sock.close()
        except OSError:
            pass

    def reset(self, key):
        with self.lock:
            pair = self.connections.pop(key, None)
        if pair:
            self.abort(pair[0])
            self.abort(pair[1])

    def accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._mode == "reset":
                self.abort(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                self.abort(client)
                continue
            with self.lock:
                self.accepted += 1
                key = self.accepted
                self.connections[key] = [client, server, False]
            threading.Thread(target=self.pump, args=(key, client, server, False), daemon=True).start()
            threading.Thread(target=self.pump, args=(key, server, client, True), daemon=True).start()

    def pump(self, key, source, target, answers):
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                data = b""
            if not data:
                break
            mode = self._mode
            if mode == "latency":
                time.sleep(self.delay)
            elif mode == "half-open" or (mode == "drop-responses" and answers):
                with self.lock:
                    if key in self.connections:
                        self.connections[key][2] = True
                continue
            try:
                target.sendall(data)
            except OSError:
                break
        # One side ended or failed: end the other side the same way.
        self.reset(key)

    def close(self):
        self.closed = True
        self.mode = "reset"
        try:
            self.listener.close()
        except OSError:
            pass
