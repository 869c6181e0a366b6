"""Security headers on every response: a CSP without inline script, nosniff, a referrer policy, framing.

Pages of ours carry no inline script or handler (data sits in `<script type="application/json">`), so
`script-src 'self'` holds; Plotly writes inline styles, hence `style-src 'unsafe-inline'`, and its WebGL
3-D code builds functions at run time, hence `'unsafe-eval'` for scripts. Embed pages (/embed/…) may be
framed by the origins in Settings.embed_frame_ancestors; every other page only by the app itself. The
interactive API docs (/docs, /redoc) start Swagger UI and ReDoc (served from local files, no CDN) with an
inline script that FastAPI writes, so they are left without a CSP.
"""

from __future__ import annotations

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
