"""The `gd-playground` console script: start the web app under Uvicorn."""

from __future__ import annotations

import argparse

import uvicorn


def main(argv: list[str] | None = None) -> None:
    """Parse the few options a teacher needs and hand over to Uvicorn."""
    parser = argparse.ArgumentParser(prog="gd-playground", description="Run the gradient-descent playground.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument("--workers", type=int, default=1, help="Uvicorn worker processes (default 1)")
    parser.add_argument("--reload", action="store_true", help="reload on code changes (development)")
    args = parser.parse_args(argv)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        reload=args.reload,
        # Step records are small and sent dozens of times a second per socket: compressing each frame
        # costs more CPU than it saves bandwidth on a classroom network.
        ws_per_message_deflate=False,
    )


if __name__ == "__main__":
    main()
