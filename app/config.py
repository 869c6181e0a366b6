"""Settings: every limit and knob of the app in one place, overridable by GDP_* environment variables."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _resource_dir(name: str) -> Path:
    """Find static/ or templates/: inside app/ when installed from a wheel, else at the repository root."""
    packaged = Path(__file__).resolve().parent / name
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / name


STATIC_DIR = _resource_dir("static")
TEMPLATES_DIR = _resource_dir("templates")


class Settings(BaseSettings):
    """Limits that keep one request from monopolising a worker; defaults suit a classroom server."""

    model_config = SettingsConfigDict(env_prefix="GDP_", frozen=True)

    max_steps: int = Field(100_000, ge=1, description="Steps per run in one trace.")
    max_runs: int = Field(32, ge=1, description="Runs per request (a race or a learning-rate sweep).")
    max_step_records: int = Field(
        400_000, ge=1, description="Steps × runs in one REST trace, so a response stays a few tens of MB."
    )
    max_grid: int = Field(
        400, ge=2, description="Grid resolution (points per axis) for contour and 3-D plots."
    )
    max_expression_length: int = Field(300, ge=1, description="Characters in a custom surface expression.")
    trace_cache_entries: int = Field(256, ge=0, description="Rendered traces kept in the in-process LRU.")
    trace_cache_bytes: int = Field(128 * 2**20, ge=0, description="Total bytes the trace LRU may hold.")
    trace_max_age_s: int = Field(86_400, ge=0, description="Cache-Control max-age of trace permalinks.")
    embed_frame_ancestors: list[str] = Field(["*"], description="Origins that may frame /embed/ pages.")
    cors_origins: list[str] = Field(["*"], description="Origins allowed to GET the API from a browser.")
    stream_origins: list[str] | None = Field(
        None,
        description="Origins whose pages may open the live stream socket, as CSP sources ('*', "
        "'https://course.example', 'https://*.example.org', \"'none'\"); same-origin pages and clients "
        "without an Origin header (scripts) always may. Default: the embed_frame_ancestors list.",
    )

    @property
    def allowed_stream_origins(self) -> list[str]:
        return self.embed_frame_ancestors if self.stream_origins is None else self.stream_origins

    max_epochs: int = Field(10_000, ge=1, description="Epochs of one network run.")
    max_network_iterations: int = Field(
        200_000, ge=1, description="Iterations one network REST request trains."
    )
    max_dataset_rows: int = Field(5_000, ge=10, description="Rows of an uploaded CSV.")
    max_upload_bytes: int = Field(256 * 1024, ge=1_024, description="Size of an uploaded CSV.")
    max_expression_depth: int = Field(32, ge=4, description="Nesting depth of a custom surface expression.")
    max_streams: int = Field(1_000, ge=1, description="Live sockets one worker process serves at once.")
    max_message_bytes: int = Field(
        512 * 1024, ge=1_024, description="Size of one WebSocket command (fits a CSV)."
    )
    max_commands_per_second: float = Field(50.0, gt=0, description="Sustained WebSocket commands per second.")
    max_speed: float = Field(
        100_000.0, gt=0, description="Fastest paced speed (steps/s per run) besides 'max'."
    )
    idle_timeout_s: float = Field(
        600.0, gt=0, description="Close a socket idle this long while nothing runs."
    )
    send_timeout_s: float = Field(
        15.0, gt=0, description="Close a socket whose client stops reading this long."
    )
    stream_frame_s: float = Field(
        1 / 60, gt=0, description="Coalescing interval of fast streams (≈ 60 msg/s)."
    )
    stream_chunk_s: float = Field(0.001, gt=0, description="Compute slice before yielding to other sockets.")
    stream_thread_s: float = Field(
        0.004, gt=0, description="A stream update estimated to take longer than this runs in a thread."
    )
    max_body_bytes: int = Field(
        1_000_000, ge=1_024, description="Size of a request body; larger bodies get 413 before parsing."
    )
    compute_mode: Literal["process", "thread"] = Field(
        "process", description="Where REST computations run: worker processes (own GIL) or threads."
    )
    compute_workers: int = Field(2, ge=1, le=64, description="REST computations running at once per worker.")
    compute_queue: int = Field(
        32, ge=0, description="REST computations waiting for a slot; beyond that 503 with Retry-After."
    )
    max_trace_work: float = Field(
        400_000, gt=0, description="Work of one surface trace, in run-steps of a built-in surface."
    )
    max_response_bytes: int = Field(
        48_000_000, ge=10_000, description="Estimated size of one REST response (traces, networks)."
    )
    max_network_work: float = Field(
        2e10, gt=0, description="Multiply-adds of one REST network training or landscape."
    )
    max_stream_step_work: float = Field(
        3e8, gt=0, description="Multiply-adds of one live network update (a batch, plus an epoch's end)."
    )
    max_frame_bytes: int = Field(
        2_000_000, ge=10_000, description="Size of one WebSocket message the server sends."
    )

    # Convergence maps (POST /api/v1/maps, stream kind "map"): a run from every cell of an n × n grid.
    max_map_n: int = Field(200, ge=2, description="Points per axis of a convergence map.")
    max_map_runs: int = Field(3, ge=1, description="Optimizers side by side in one convergence map.")
    max_map_work: float = Field(
        4.1e7,
        gt=0,
        description="Lane-steps of one convergence map (cells × (steps + 1) × runs × surface cost): two "
        "200 × 200 maps of 500 steps.",
    )


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings; FastAPI routes take them by dependency so tests can override them."""
    return Settings()
