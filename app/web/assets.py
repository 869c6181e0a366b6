"""Static assets for a class on one Wi-Fi: content-hashed URLs cached for a year, gzip made once per file.

Every page links its assets under one *build prefix*, ``/static/<build>/…``, where ``<build>`` hashes the
content of every file served under /static (static/ plus Plotly from the plotly package). ES modules
import each other by relative path (``import … from "../plot.js"``), so a module loaded from
``/static/<build>/js/views/surface.js`` imports ``/static/<build>/js/plot.js``: the whole module graph
inherits the version, with no bundler and no edit to the scripts. Such URLs are served with
``Cache-Control: public, max-age=31536000, immutable``; any change to any file gives a new build and
new URLs. Unversioned URLs (``/static/js/plot.js``) and URLs of another build (a page from a replica
not yet upgraded) still work, with a short cache, so a rolling deploy never breaks a page.

Compressible files (JS, CSS, JSON, SVG, …) are gzipped once (level 9, on first request, off the event
loop) and kept in memory; the client gets them with ``Content-Encoding: gzip`` when its Accept-Encoding
allows it, ``Vary: Accept-Encoding`` always. Dynamic responses (pages, JSON) go through Starlette's
GZipMiddleware, wrapped by ``DynamicGZip`` so that it skips /static (already compressed), /healthz and
WebSockets.

Templates get root-relative URLs (never the Host header): ``url_for('static', path=…)`` and
``static_url(path)`` both give ``/static/<build>/<path>``, and a literal ``src="/static/…"`` or
``href="/static/…"`` written in a template is rewritten to the same when the template is loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
import plotly
from jinja2 import BaseLoader, Environment, pass_context
from starlette._utils import get_route_path
from starlette.datastructures import Headers
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

PLOTLY_JS = Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
EXTRA_FILES = {"vendor/plotly.min.js": PLOTLY_JS}
"""Files served under /static from outside static/: Plotly.js from the plotly package (no CDN, offline)."""

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
"""Unversioned URLs, and versioned ones whose build is not this process's: revalidated after 5 minutes."""
COMPRESSIBLE = {".js", ".mjs", ".css", ".json", ".map", ".svg", ".html", ".txt", ".csv", ".xml"}
BUILD = re.compile(r"[0-9a-f]{12}")
VERSION_KEY = "gdp.static_build"
GZIP_LEVEL = 9


class AssetIndex:
    """The files under /static with their content digests, and the build hash of them all.

    The digests follow the files: at most every ``rescan_s`` seconds the tree is re-stat'ed and a file
    whose mtime or size changed is hashed again, so editing a script during development gives new URLs
    at the next page load (and never serves new content as immutable under the old build).
    """

    def __init__(self, directory: Path, extra: dict[str, Path] | None = None, rescan_s: float = 1.0) -> None:
        self.directory = Path(directory)
        self.extra = dict(extra or {})
        self.rescan_s = rescan_s
        self._lock = threading.Lock()
        self._scanned_at = -float("inf")
        self._stats: dict[str, tuple[int, int]] = {}
        self._digests: dict[str, tuple[tuple[int, int], str]] = {}
        self._build = ""

    def _files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for root, dirs, names in os.walk(self.directory):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in names:
                if not name.startswith("."):
                    path = Path(root) / name
                    files[path.relative_to(self.directory).as_posix()] = path
        files.update(self.extra)
        return files

    def _rescan(self) -> None:
        stats: dict[str, tuple[int, int]] = {}
        for rel, path in self._files().items():
            try:
                st = path.stat()
            except FileNotFoundError:
                continue
            key = (st.st_mtime_ns, st.st_size)
            stats[rel] = key
            if rel not in self._digests or self._digests[rel][0] != key:
                self._digests[rel] = (key, hashlib.sha256(path.read_bytes()).hexdigest())
        for gone in self._digests.keys() - stats.keys():
            del self._digests[gone]
        self._stats = stats
        self._build = build_hash({rel: self._digests[rel][1] for rel in stats})

    def _fresh(self) -> None:
        now = time.monotonic()
        if now - self._scanned_at >= self.rescan_s:
            with self._lock:
                if now - self._scanned_at >= self.rescan_s:
                    self._rescan()
                    self._scanned_at = time.monotonic()

    @property
    def build(self) -> str:
        """The build hash of the files as they are now (re-checked at most every ``rescan_s``)."""
        self._fresh()
        return self._build

    def url(self, path: str, root_path: str = "") -> str:
        """The versioned, root-relative URL of a static file: ``/static/<build>/<path>``."""
        return f"{root_path}/static/{self.build}/{path.lstrip('/')}"

    def digest(self, rel: str, st: os.stat_result) -> str | None:
        """The content digest of ``rel`` if the file is still what the build hashed, else None."""
        self._fresh()
        with self._lock:
            known = self._digests.get(rel)
            if known is None or known[0] != (st.st_mtime_ns, st.st_size) or rel not in self._stats:
                return None
            return known[1]


def build_hash(digests: dict[str, str]) -> str:
    """12 hex digits over every (path, content digest): any change to any file changes the build."""
    h = hashlib.sha256()
    for rel in sorted(digests):
        h.update(f"{rel}\0{digests[rel]}\n".encode())
    return h.hexdigest()[:12]


class _GzipCache:
    """Each compressible file gzipped once per content, in memory; concurrent first requests wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, bytes | None]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def get(self, path: str, digest: str) -> bytes | None:
        """The gzip body of ``path`` (content ``digest``), or None when gzip would not be smaller."""
        with self._lock:
            lock = self._locks.setdefault(path, threading.Lock())
        with lock:
            entry = self._entries.get(path)
            if entry is None or entry[0] != digest:
                raw = Path(path).read_bytes()
                packed = gzip.compress(raw, compresslevel=GZIP_LEVEL, mtime=0)
                if hashlib.sha256(raw).hexdigest() != digest:  # changed since it was hashed: do not keep
                    return None
                entry = (digest, packed if len(packed) < len(raw) else None)
                self._entries[path] = entry
            return entry[1]


GZIP_CACHE = _GzipCache()  # process-wide: every app built in this process shares the compressed bodies


def accepts_gzip(header: str) -> bool:
    """Whether an Accept-Encoding value allows gzip: ``gzip``/``x-gzip`` with q > 0, else ``*`` with q > 0."""
    quality: dict[str, float] = {}
    for part in header.lower().split(","):
        coding, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        quality[coding.strip()] = q
    for coding in ("gzip", "x-gzip", "*"):
        if coding in quality:
            return quality[coding] > 0
    return False


class GzipBody(Response):
    """A precompressed file body, fetched from the cache (compressing it if needed) in a worker thread."""

    def __init__(self, full_path: str, digest: str, headers: dict[str, str], media_type: str | None):
        super().__init__(b"", headers=headers, media_type=media_type)
        self.full_path, self.digest = full_path, digest
        del self.headers["content-length"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = await anyio.to_thread.run_sync(GZIP_CACHE.get, self.full_path, self.digest)
        if body is None:  # not smaller, or changed under us: the file as it is
            keep = {k: v for k, v in self.headers.items() if k in ("cache-control", "vary")}
            plain = FileResponse(self.full_path, headers={**keep, "etag": f'"{self.digest[:20]}"'})
            await plain(scope, receive, send)
            return
        self.body = body
        self.headers["content-length"] = str(len(body))
        if scope["method"] == "HEAD":
            self.body = b""
        await super().__call__(scope, receive, send)


class Assets(StaticFiles):
    """StaticFiles serving ``/static/<build>/<path>`` and ``/static/<path>``, gzipped and cached."""

    def __init__(self, index: AssetIndex) -> None:
        super().__init__(directory=index.directory)
        self.index = index
        self.extra = {rel: str(path) for rel, path in index.extra.items()}
        self.root = Path(index.directory).resolve()

    def get_path(self, scope: Scope) -> str:
        route = get_route_path(scope).lstrip("/")
        head, _, rest = route.partition("/")
        build = head if BUILD.fullmatch(head) and rest else None
        scope[VERSION_KEY] = build
        return os.path.normpath(os.path.join(*(rest if build else route).split("/")))

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        extra = self.extra.get(Path(path).as_posix())
        if extra is not None:
            return extra, os.stat(extra)
        return super().lookup_path(path)

    def file_response(
        self, full_path: Any, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        request = Headers(scope=scope)
        full_path = str(full_path)
        rel = self._relative(full_path)
        digest = self.index.digest(rel, stat_result) if rel else None
        current = digest is not None and scope.get(VERSION_KEY) == self.index.build
        headers = {"cache-control": IMMUTABLE if current else SHORT}
        compressible = Path(full_path).suffix.lower() in COMPRESSIBLE
        if compressible:
            headers["vary"] = "Accept-Encoding"
        if digest is None:  # changed since the last scan: plain, revalidated soon
            response: Response = FileResponse(full_path, stat_result=stat_result, headers=headers)
        elif compressible and accepts_gzip(request.get("accept-encoding", "")):
            headers.update(etag=f'"{digest[:20]}-gzip"', **{"content-encoding": "gzip"})
            media_type = mimetypes.guess_type(full_path)[0] or "application/octet-stream"
            response = GzipBody(full_path, digest, headers, media_type)
        else:
            headers["etag"] = f'"{digest[:20]}"'
            response = FileResponse(full_path, stat_result=stat_result, headers=headers)
        if self.is_not_modified(response.headers, request):
            return NotModifiedResponse(response.headers)
        return response

    def _relative(self, full_path: str) -> str | None:
        for rel, path in self.extra.items():
            if path == full_path:
                return rel
        try:
            return Path(full_path).relative_to(self.root).as_posix()
        except ValueError:
            return None


class DynamicGZip:
    """Starlette's GZipMiddleware for pages and API responses, bypassed for /static (precompressed, with
    its own ETags), /healthz (tiny, and load balancers poll it) and WebSockets. A compressed response keeps
    its ETag (trace permalinks promise a stable one); ``Vary: Accept-Encoding`` keeps shared caches from
    mixing the gzip and identity bodies. Level 4 is within a few % of level 9's size on pages and JSON at
    about half the CPU of level 6 (docs/deploy.md)."""

    def __init__(
        self, app: ASGIApp, minimum_size: int = 1024, compresslevel: int = 4, skip: tuple[str, ...] = ()
    ) -> None:
        self.app = app
        self.skip = ("/static/", "/healthz", *skip)
        self.gzip = GZipMiddleware(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.skip):
            await self.app(scope, receive, send)
            return
        encodings = Headers(scope=scope).get("accept-encoding", "")
        if "gzip" in encodings and not accepts_gzip(encodings):  # "gzip;q=0": GZipMiddleware sees "gzip"
            headers = [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]
            scope = {**scope, "headers": [*headers, (b"accept-encoding", b"identity")]}
        await self.gzip(scope, receive, send)


TEMPLATE_STATIC = re.compile(r"""\b(src|href)=(["'])/static/([^"'{}\s]+)\2""")


class VersionedLoader(BaseLoader):
    """Wraps a template loader: ``src="/static/x"``/``href="/static/x"`` become ``{{ static_url('x') }}``."""

    def __init__(self, inner: BaseLoader) -> None:
        self.inner = inner

    def get_source(self, environment: Environment, template: str):
        source, filename, uptodate = self.inner.get_source(environment, template)
        return TEMPLATE_STATIC.sub(r"""\1=\2{{ static_url('\3') }}\2""", source), filename, uptodate

    def list_templates(self) -> list[str]:
        return self.inner.list_templates()


def install(templates: Any, index: AssetIndex) -> None:
    """Give a Jinja2Templates environment root-relative, versioned static URLs (see the module doc)."""
    env: Environment = templates.env

    def root_path(context: Any) -> str:
        request = context.get("request")
        return request.scope.get("root_path", "") if request is not None else ""

    @pass_context
    def static_url(context: Any, path: str) -> str:
        return index.url(path, root_path(context))

    @pass_context
    def url_for(context: Any, name: str, /, **path_params: Any) -> str:
        if name == "static":
            return index.url(path_params["path"], root_path(context))
        return context["request"].url_for(name, **path_params).path  # root-relative: no Host in pages

    env.globals["static_url"] = static_url
    env.globals["url_for"] = url_for
    env.loader = VersionedLoader(env.loader)
    if env.cache is not None:
        env.cache.clear()
