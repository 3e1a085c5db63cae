"""POST /jobs/{id}/predict: a succeeded job's model run on the rows of the request, in the API (ONNX Runtime)."""

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from core.keys import Principal
from core.model_card import Which
from service.auth import PrincipalDep
from service.body_limits import media_type
from service.deps import SessionDep
from service.model_files import card_for
from service.model_schemas import PredictionOut
from service.predict import predict

router = APIRouter(prefix="/jobs", tags=["models"])


@router.post("/{job_id}/predict", response_model=PredictionOut)
async def predict_rows(
    job_id: str,
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    which: Annotated[Which, Query(description="final, or best by the job's tracked metric.")] = "final",
) -> Response:
    """Predict with a succeeded job's model: JSON rows (`inputs`, in feature order, or images as nested arrays) or
    `records` keyed by column name, an .npy array, or an Arrow IPC stream. Answers each row's prediction (class
    names for classifiers), the class probabilities and the class names."""
    body = await request.body()
    answer = await run_in_threadpool(_answer, session, principal, job_id, which, body, media_type(request.scope))
    return Response(answer, media_type="application/json")


def _answer(session: Session, principal: Principal, job_id: str, which: Which, body: bytes, sent: str | None) -> bytes:
    card = card_for(session, job_id=job_id, principal=principal)
    return predict(card, which=which, body=body, media_type=sent)
