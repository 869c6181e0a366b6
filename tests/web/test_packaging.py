"""A non-editable install carries static/ and templates/ inside the package, and the console script starts."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from app.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_wheel_packages_static_files_and_templates(tmp_path: Path) -> None:
    pytest.importorskip("hatchling")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"app/static/css/app.css", "app/templates/index.html", "app/templates/base.html"} <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "gd-playground = app.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_console_script_passes_options_to_uvicorn(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict = {}
    monkeypatch.setattr("app.cli.uvicorn.run", lambda app, **kw: seen.update(app=app, **kw))
    main(["--host", "127.0.0.1", "--port", "8123", "--workers", "2"])
    assert seen["app"] == "app.main:create_app" and seen["factory"] is True
    assert (seen["host"], seen["port"], seen["workers"]) == ("127.0.0.1", 8123, 2)
    assert seen["ws_per_message_deflate"] is False
