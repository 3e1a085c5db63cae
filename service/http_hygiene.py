"""ASGI middleware for what every answer owes the web: HEAD answered like GET, redirects that never trust the Host
header, and the security headers a browser needs."""

from urllib.parse import urlsplit

from service.body_limits import App, Message, Receive, Scope, Send

# The dashboard's pages load only their own files and talk only to this API; no one may frame them.
DASHBOARD_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI and ReDoc start from an inline script and ReDoc runs a worker from a blob: still no framing, no other site.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


def security_headers(path: str) -> list[tuple[bytes, bytes]]:
    """The headers every answer carries: a CSP that forbids framing, no MIME sniffing, no referrer."""
    csp = DOCS_CSP if path in DOCS_PATHS or path.startswith("/docs/") else DASHBOARD_CSP
    return [
        (b"content-security-policy", csp.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    ]


def relative_location(location: bytes) -> bytes:
    """A Location made relative (path and query), never trusting the Host header an absolute one was built from."""
    parts = urlsplit(location.decode("latin-1"))
    if not parts.scheme and not parts.netloc:
        return location
    # One leading slash: "//host/path" would be read as another site's address.
    relative = "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    return relative.encode("latin-1")


class HttpHygiene:
    """HEAD runs the GET route and sends its headers only; each answer gets security headers and a relative Location."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, rewriting the answer's start and, for HEAD, dropping its body."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        answered = False

        async def send_hygienic(message: Message) -> None:
            nonlocal answered
            if message["type"] == "http.response.start":
                headers = [
                    (name, relative_location(value) if name.lower() == b"location" else value)
                    for name, value in message.get("headers", [])
                ]
                message = {**message, "headers": headers + security_headers(scope["path"])}
                await send(message)
            elif not head:
                await send(message)
            elif not answered:  # HEAD: one empty body ends the answer; the GET route's own body goes nowhere
                answered = True
                await send({"type": "http.response.body", "body": b"", "more_body": False})

        async def receive_until_answered() -> Message:
            # A HEAD answered already: a streaming GET route (the event stream) sees its client gone and stops.
            if answered:
                return {"type": "http.disconnect"}
            return await receive()

        if head:
            await self.app({**scope, "method": "GET"}, receive_until_answered, send_hygienic)
        else:
            await self.app(scope, receive, send_hygienic)
