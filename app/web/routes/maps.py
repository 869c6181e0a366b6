"""REST for convergence maps: POST /api/v1/maps (a run from every cell of a grid; docs/api.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.web import examples, jobs, replies
from app.web.bodies import json_body
from app.web.deps import ComputeDep, SettingsDep
from app.web.openapi import ERROR_422, ok
from app.web.responses import FastJSONResponse
from app.web.schemas import MapRequest

router = APIRouter(tags=["maps"], default_response_class=FastJSONResponse)


@router.post(
    "/maps",
    summary="A convergence map: how a run from every cell of an n × n grid ends",
    responses={
        **ok(
            "Per panel and cell: the basin reached, the end reason, the steps taken and the final loss.",
            replies.ConvergenceMap,
            examples.CONVERGENCE_MAP,
        ),
        **ERROR_422,
    },
    openapi_extra=json_body(MapRequest),
)
async def post_map(request: Request, settings: SettingsDep, pool: ComputeDep) -> Response:
    """Basins of attraction over the view box, or a trainability map over two hyperparameters; computed in
    the compute pool, priced first (`max_map_work`), so the event loop only moves the bytes."""
    outcome = await pool.run(jobs.map_job, await request.body(), settings)
    return Response(outcome.content, status_code=outcome.status, media_type=outcome.media_type)
