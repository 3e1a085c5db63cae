"""A TCP forwarder in front of the API whose connections a test can cut: a real dropped connection, mid-stream."""

import contextlib
import socket
import threading
from collections.abc import Iterator


class CuttableProxy:
    """Listens on a free loopback port and forwards each connection to `target`; cut() closes every open one."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self.requests: list[bytes] = []  # every chunk the browser sent, to see the headers of each request
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._open += [client, upstream]
            for source, sink, seen in ((client, upstream, self.requests), (upstream, client, None)):
                threading.Thread(target=self._pump, args=(source, sink, seen), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, seen: list[bytes] | None) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                if seen is not None:
                    seen.append(data)
                sink.sendall(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)

    def stream_requests(self) -> list[dict[str, str]]:
        """The headers (lower-cased names) of each GET .../events the browser sent through the proxy, in order."""
        found = []
        for chunk in list(self.requests):
            head = chunk.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            if head[0].startswith("GET ") and head[0].split(" ")[1].endswith("/events"):
                found.append({k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])})
        return found

    def cut(self) -> None:
        """Drop every connection open now (new ones still go through)."""
        with self._lock:
            cutting, self._open = self._open, []
        for end in cutting:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self.listener.close()
        self.cut()


@contextlib.contextmanager
def cuttable_proxy(url: str) -> Iterator[CuttableProxy]:
    """A proxy in front of http://host:port; closed on exit."""
    host, port = url.removeprefix("http://").split(":")
    proxy = CuttableProxy((host, int(port)))
    try:
        yield proxy
    finally:
        proxy.close()
