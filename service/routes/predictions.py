"""POST /jobs/{id}/predict: a succeeded job's model run on the rows of the request, in the API (ONNX Runtime).

The hot path costs no query and no thread hop: the key is trusted for a moment once found valid (service.auth), a
ready model's card and owner are kept in memory (service.model_files), and a request its model's past requests say
is quick runs on the event loop. Anything else (a first request, a long one) goes to a thread.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from core.keys import Principal
from core.model_card import Which
from service.auth import authenticate_cached
from service.body_limits import media_type
from service.model_files import cached_card_for, card_for
from service.model_schemas import PredictionOut
from service.predict import predict, quick

router = APIRouter(prefix="/jobs", tags=["models"])


@router.post("/{job_id}/predict", response_model=PredictionOut)
async def predict_rows(
    job_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(authenticate_cached)],
    which: Annotated[Which, Query(description="final, or best by the job's tracked metric.")] = "final",
) -> Response:
    """Predict with a succeeded job's model: JSON rows (`inputs`, in feature order, or images as nested arrays) or
    `records` keyed by column name, an .npy array, or an Arrow IPC stream. Answers each row's prediction (class
    names for classifiers), the class probabilities and the class names."""
    body = await request.body()
    card = cached_card_for(job_id=job_id, principal=principal)
    if card is None:
        card = await run_in_threadpool(card_for, job_id=job_id, principal=principal)
    sent = media_type(request.scope)
    if quick(card, which=which, body=body, media_type=sent):
        answer = predict(card, which=which, body=body, media_type=sent)
    else:
        answer = await run_in_threadpool(predict, card, which=which, body=body, media_type=sent)
    return Response(answer, media_type="application/json")
