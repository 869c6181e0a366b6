"""What every playground widget shares: the bundled front end, Plotly, and a stepping thread with controls.

The kernel stays responsive because the work runs in a daemon thread in small slices: each tick advances
at most ``speed / TICKS`` steps (never more than ``MAX_SLICE``), sends them to the front end as one custom
message, and waits for the next tick; a control (play, pause, step, learning rate) takes the same lock, so it
lands between two slices. Custom messages (not synced traitlets) carry the steps: the history lives in the
kernel, and a front end that renders later asks for all of it (``sync``).
"""

from __future__ import annotations

import threading
from functools import cache
from pathlib import Path
from typing import Any, ClassVar

import anywidget
import plotly
import traitlets

from app.i18n import catalog, resolve_language
from app.ml.errors import ConfigError
from app.widget.bundle import bundle

STATIC = Path(__file__).resolve().parents[2] / "static"
if not (STATIC / "js").is_dir():  # installed from a wheel: static/ is packaged inside app/
    STATIC = Path(__file__).resolve().parents[1] / "static"
ENTRY = STATIC / "js" / "widget.js"
TICKS = 30
"""Slices per second while playing: each sends one message, so the front end redraws at most this often."""
MAX_SLICE = 2000
"""Most steps one slice advances, whatever the speed: bounds how long the lock is held, and the message."""
PREAMBLE = (
    "/** The Plotly the figures draw with: the plotly package's own file, sent by the kernel. */\nlet Plotly;"
)


@cache
def esm() -> str:
    """The widget's front end: static/js/widget.js with plot.js, netplot.js, theme.js, i18n.js inlined."""
    return bundle(ENTRY, PREAMBLE)


@cache
def css() -> str:
    """static/css/widget.css, and the network diagram's own rules from app.css (lines starting ``.net-svg``),
    scoped under ``.gdp-widget`` so the notebook's page keeps its styles."""
    app = (STATIC / "css" / "app.css").read_text(encoding="utf-8").splitlines()
    diagram = [f".gdp-widget {line}" for line in app if line.startswith(".net-svg")]
    return "\n".join([(STATIC / "css" / "widget.css").read_text(encoding="utf-8"), *diagram])


@cache
def plotly_source() -> str:
    """plotly.min.js as the ``plotly`` Python package bundles it (the same file the app serves; no CDN)."""
    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_text(encoding="utf-8")


def positive(value: Any, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (value > 0 and value < float("inf"))
    ):
        raise ConfigError(f"{name} must be a finite number > 0, got {value!r}", name)
    return float(value)


class LiveWidget(anywidget.AnyWidget):
    """A stepping engine in the kernel and its view in the cell; subclasses say what a step is."""

    _esm = traitlets.Unicode(esm()).tag(sync=True)
    _css = traitlets.Unicode(css()).tag(sync=True)
    kind: ClassVar[str] = ""
    view = traitlets.Unicode("").tag(sync=True)
    lang = traitlets.Unicode("en").tag(sync=True)
    messages = traitlets.Dict().tag(sync=True)
    playing = traitlets.Bool(False).tag(sync=True)
    speed = traitlets.Float(60.0).tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)
    setup = traitlets.Dict().tag(sync=True)

    def __init__(self, *, speed: float = 60.0, lang: str = "en", **kwargs: Any) -> None:
        language = resolve_language(lang)
        if language != lang:
            raise ConfigError(f"lang must be 'en' or 'tr', got {lang!r}", "lang")
        super().__init__(
            view=self.kind,
            lang=language,
            messages=catalog(language),
            speed=positive(speed, "speed"),
            **kwargs,
        )
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_msg(self._on_front_end)

    # ------------------------------------------------------------------ subclasses
    def _advance(self, n: int) -> dict[str, Any] | None:
        """Advance up to ``n`` steps; the message for the front end, or None when nothing happened."""
        raise NotImplementedError

    def _history(self) -> dict[str, Any]:
        """Everything so far as one message (a front end that renders late replays it)."""
        raise NotImplementedError

    @property
    def finished(self) -> bool:
        raise NotImplementedError

    def _set_lr(self, run: str, value: float) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ controls (kernel side)
    def play(self) -> None:
        """Step at ``speed`` steps per second in the background until paused or finished."""
        with self._lock:
            if self.finished:
                return
            self.playing = True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=f"gdp-{self.kind}", daemon=True)
                self._thread.start()
            self._wake.set()

    def pause(self) -> None:
        with self._lock:
            self.playing = False

    def step(self, n: int = 1) -> None:
        """Advance ``n`` steps now (in slices of at most MAX_SLICE) and send them; pauses a playing widget."""
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise ConfigError(f"n must be an integer ≥ 1, got {n!r}", "n")
        self.pause()
        while n > 0 and not self.finished:
            with self._lock:
                self._send_slice(min(n, MAX_SLICE))
            n -= MAX_SLICE

    def run(self) -> None:
        """Advance to the end now, in the calling thread (a script's or a test's way to get whole traces)."""
        self.pause()
        while not self.finished:
            with self._lock:
                self._send_slice(MAX_SLICE)

    def set_lr(self, run: str, value: float) -> None:
        """Change one run's learning rate from its next step on (as the web app's live control does)."""
        with self._lock:
            self._set_lr(run, positive(value, "lr"))
            self._tell({"type": "lr", "run": run, "value": float(value)})

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the background stepping stops (paused or finished); True when it did in time."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    # ------------------------------------------------------------------ machinery
    def _tell(self, content: dict[str, Any]) -> None:
        """A custom message to every view of this widget (none yet: ipywidgets drops it)."""
        self.send(content)

    def _send_slice(self, n: int) -> None:
        message = self._advance(n)
        if message is not None:
            self._tell(message)
        if self.finished:
            self.playing = False
            self.status = "done"

    def _loop(self) -> None:
        period = 1.0 / TICKS
        carry = 0.0
        while True:
            with self._lock:
                if not self.playing or self.finished:
                    return
                carry += self.speed * period
                n = min(int(carry), MAX_SLICE)
                carry -= n
                if n:
                    self._send_slice(n)
            self._wake.clear()
            self._wake.wait(period)  # pacing, not synchronisation: the next slice is due in one tick

    def _on_front_end(self, _widget: Any, content: Any, _buffers: Any) -> None:
        """Commands from the widget's buttons; a bad one answers with an ``error`` message, never raises."""
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        try:
            if kind == "plotly":
                self._tell({"type": "plotly", "source": plotly_source()})
            elif kind == "sync":
                with self._lock:
                    self._tell(self._history())
            elif kind == "play":
                self.play()
            elif kind == "pause":
                self.pause()
            elif kind == "step":
                self.step(1)
            elif kind == "lr":
                self.set_lr(str(content.get("run")), content.get("value"))
            elif kind == "speed":
                self.speed = positive(content.get("value"), "speed")
        except ConfigError as error:
            self._tell({"type": "error", "field": error.field, "message": error.message})
