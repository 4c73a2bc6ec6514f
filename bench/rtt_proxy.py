""" A TCP proxy on 127.0.0.1 that adds a round-trip time: every byte waits RTT/2 in each direction

    with DelayProxy(target_port=14000, rtt=0.1) as proxy:
        ... connect to 127.0.0.1:proxy.port ...

What it models: a path with that round-trip time and no loss or bandwidth limit. A request and its
answer cost one RTT more than on loopback; a new connection costs its handshakes: TCP's one RTT (a
client's first bytes leave no earlier than one RTT after it connected, as after SYN, SYN-ACK) and
then TLS's own round trips, which are data and are delayed like any other. A half-close (FIN) is
passed on after the same delay, and a reset or error on either side closes both.

What it does not model: Nagle's algorithm against delayed ACKs, slow start, loss. Each connection
uses four threads (a reader and a delayed writer per direction), which is plenty for a benchmark
that opens at most a few dozen connections at a time.
"""

import queue
import socket
import threading
import time

HOST = "127.0.0.1"
RESET = object()        # what a reader queues when its side failed (a reset, not a FIN)


class DelayProxy:
    """ Listens on 127.0.0.1 (a free port, .port) and relays to target_port on 127.0.0.1 """

    def __init__(self, target_port, rtt, host=HOST):
        self.target = (host, target_port)
        self.rtt = rtt
        self.listener = socket.create_server((host, 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0            # accepted so far: how many TCP connections the clients opened
        self.live = set()
        self.lock = threading.Lock()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, name="rtt-proxy", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        self.stopping = True
        try:
            self.listener.shutdown(socket.SHUT_RDWR)    # wakes accept() on Linux
        except OSError:
            pass
        self.listener.close()
        self.thread.join(timeout=5)
        with self.lock:
            live = list(self.live)
        for connection in live:
            connection.abort()
        deadline = time.monotonic() + 5
        while self.live and time.monotonic() < deadline:     # their writers close them
            time.sleep(0.01)

    def _accept_loop(self):
        while not self.stopping:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            accepted = time.monotonic()
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += 1
            Connection(self, client, upstream, accepted).start()


class Connection:
    """ One client connection and its upstream: two delayed one-way pipes """

    def __init__(self, proxy, client, upstream, accepted):
        self.proxy = proxy
        self.sockets = (client, upstream)
        for s in self.sockets:
            s.settimeout(None)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)   # the delay is ours, not Nagle's
        half = proxy.rtt / 2
        # The client may send only after the TCP handshake (one RTT); the server answers only what it got
        self.pipes = [(client, upstream, accepted + proxy.rtt, half), (upstream, client, accepted, half)]
        self.finished = 0
        self.closed = False
        self.lock = threading.Lock()

    def start(self):
        with self.proxy.lock:
            self.proxy.live.add(self)
        for source, target, not_before, delay in self.pipes:
            chunks = queue.Queue()
            threading.Thread(target=self._read, args=(source, chunks, not_before, delay), daemon=True).start()
            threading.Thread(target=self._write, args=(target, chunks), daemon=True).start()

    def _read(self, source, chunks, not_before, delay):
        """ Timestamp what arrives: it may leave at max(now, not_before) + delay; None stands for EOF """
        while True:
            try:
                data = source.recv(65536) or None
            except OSError:
                data = RESET
            chunks.put((max(time.monotonic(), not_before) + delay, data))
            if data is None or data is RESET:
                return

    def _write(self, target, chunks):
        try:
            while True:
                due, data = chunks.get()
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if data is None:                # the other side closed its half: pass the FIN on
                    target.shutdown(socket.SHUT_WR)
                    break
                if data is RESET:
                    raise OSError("the other side failed")
                target.sendall(data)
        except OSError:
            self.abort()                        # a reset or error: both sides go
        with self.lock:
            self.finished += 1
            done = self.finished == 2
        if done:
            self.close()

    def abort(self):
        for s in self.sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)    # wakes both readers; their writers then finish
            except OSError:
                pass

    def close(self):
        with self.lock:
            if self.closed:
                return
            self.closed = True
        for s in self.sockets:
            s.close()
        with self.proxy.lock:
            self.proxy.live.discard(self)
