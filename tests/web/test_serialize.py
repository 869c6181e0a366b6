"""Step records become the same wire columns row by row (small batches) as through collect (big ones)."""

from __future__ import annotations

from app.ml.run import Descent, RunSpec, StepRecord, collect
from app.ml.surfaces import get_surface
from app.web.serialize import records_columns, trace_columns


def test_records_columns_equals_collect_then_trace_columns() -> None:
    descent = Descent(
        get_surface("parabola"),
        [RunSpec("fast", "sgd", {"lr": 0.45}), RunSpec("slow", "adam", {"lr": 0.1})],
        40,
    )
    events = descent.advance(5)
    descent.add_runs([RunSpec("late", "sgd", {"lr": 0.2})])
    events += descent.advance(30)  # "fast" converges in between, "late" joins at its own step 0
    records = [e for e in events if isinstance(e, StepRecord)]
    expected = {rid: trace_columns(trace) for rid, trace in collect(records).items()}
    assert records_columns(records, 1) == expected
    assert expected["late"]["update_x"][0] is None and expected["late"]["step"][0] == 0
