"""Security headers on every response: a CSP without inline script, nosniff, a referrer policy, framing.

Pages of ours carry no inline script or handler (data sits in `<script type="application/json">`), so
`script-src 'self'` holds; Plotly writes inline styles, hence `style-src 'unsafe-inline'`, and its WebGL
3-D code builds functions at run time, hence `'unsafe-eval'` for scripts. Embed pages (/embed/…) may be
framed by the origins in Settings.embed_frame_ancestors; every other page only by the app itself. The
interactive API docs (/docs, /redoc) start Swagger UI and ReDoc (served from local files, no CDN) with an
inline script that FastAPI writes, so they are left without a CSP.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

UNGUARDED = ("/docs", "/redoc")


def content_security_policy(frame_ancestors: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-eval'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob:",
            "font-src 'self'",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            f"frame-ancestors {frame_ancestors}",
        ]
    )


def _source_matches(source: str, scheme: str, host: str, port: str) -> bool:
    """One CSP source expression ('*', 'https:', 'https://*.example.org', 'course.example:8080')."""
    source = source.strip().lower()
    if source == "*":
        return True
    if source.endswith(":") and "/" not in source:  # a scheme source: "https:"
        return scheme == source[:-1]
    want_scheme, _, rest = source.rpartition("://")
    if want_scheme and want_scheme != scheme:
        return False
    if not want_scheme and scheme not in ("http", "https"):
        return False
    rest = rest.split("/", 1)[0]
    want_host, _, want_port = rest.partition(":")
    if want_port not in ("", "*", port):
        return False
    if want_host.startswith("*."):
        return host.endswith(want_host[1:])
    return want_host == host


def origin_allowed(origin: str | None, host: str | None, allowed: list[str]) -> bool:
    """May a page of ``origin`` open a socket to this app (reached as ``host``)?

    No Origin header (a script, not a browser page) and the app's own pages always may; other pages when
    one of the CSP source expressions in ``allowed`` matches ('self' means the app itself, 'none' nothing).
    """
    if origin is None:
        return True
    parts = urlsplit(origin.strip().lower())
    if not parts.scheme or not parts.hostname:  # "null" (a sandboxed frame or a file): no origin to trust
        return "*" in allowed
    if host is not None and parts.netloc == host.strip().lower():
        return True
    default = {"http": "80", "https": "443"}.get(parts.scheme, "")
    port = str(parts.port) if parts.port is not None else default
    return any(
        _source_matches(source, parts.scheme, parts.hostname, port)
        for source in allowed
        if source.strip() not in ("'self'", "'none'")
    )


class SecurityHeaders:
    """Pure ASGI middleware (no per-request task, unlike BaseHTTPMiddleware), so streams stay cheap."""

    def __init__(self, app: ASGIApp, embed_frame_ancestors: list[str]) -> None:
        self.app = app
        self.page_policy = content_security_policy("'self'").encode()
        self.embed_policy = content_security_policy(" ".join(embed_frame_ancestors) or "'none'").encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        policy = (
            None
            if path.startswith(UNGUARDED)
            else self.embed_policy
            if path.startswith("/embed/")
            else self.page_policy
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"strict-origin-when-cross-origin"))
                if policy is not None:
                    headers.append((b"content-security-policy", policy))
                    if not path.startswith("/embed/"):
                        headers.append((b"x-frame-options", b"SAMEORIGIN"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
