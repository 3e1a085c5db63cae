"""The OpenAPI description of the model routes as they answer: the files' content types and headers, the three
prediction bodies, the states that refuse them (409), and the rerun's merge patch."""

from typing import Any

from service.openapi_parts import RETRY_AFTER, SCHEMAS, header, job_links, problem_answer
from service.predict import ARROW_STREAM, JSON, NPY

NOT_SUCCEEDED = (
    "The job has not succeeded (`detail` names its status), its model is still being exported (with Retry-After), "
    "or its model is unavailable (`detail` says why)."
)
EXPORTING = header("While the model is being exported: seconds to wait.", required=False, schema=RETRY_AFTER["schema"])
MODEL_CONFLICT = problem_answer(NOT_SUCCEEDED, {"Retry-After": EXPORTING})
NO_SUCH_FILE = problem_answer(
    "No such job for this key (another user's job is not found either); or the model has no such file: no best "
    "weights (the job tracked no metric) or no ONNX file (`detail` says why it could not be exported)."
)
PREDICT_BODY = {
    "required": True,
    "description": (
        "The rows to predict, in one of three forms, by Content-Type. JSON: `inputs` holds rows of raw values "
        "(a feature table's in model.json's feature order, a category as its name, a boolean as true/false, null "
        "where the model fills a missing value; images and token ids as nested arrays of the model's input shape, or "
        "flat rows), or `records` holds feature-table rows keyed by column name. `.npy` (`np.save`; read with no "
        "pickle): a numeric array [rows, *input shape] or [rows, input size], for models without category columns. "
        "Arrow IPC stream (uncompressed): one column per feature, named as in model.json (categories as strings), or "
        "a single column named `input` of fixed-size lists holding each row's values flattened. At most "
        "GRADYARD_MAX_PREDICT_ROWS rows (10,000 by default) and GRADYARD_MAX_PREDICT_BYTES bytes (16 MiB)."
    ),
    "content": {
        JSON: {"schema": {"oneOf": [{"$ref": SCHEMAS + "PredictInputs"}, {"$ref": SCHEMAS + "PredictRecords"}]}},
        NPY: {"schema": {"type": "string", "contentMediaType": NPY}},
        ARROW_STREAM: {"schema": {"type": "string", "contentMediaType": ARROW_STREAM}},
    },
}
MERGE_PATCH = "application/merge-patch+json"
MERGE_PATCH_SCHEMA = {"$ref": SCHEMAS + "SpecPatch"}


def _file(media_type: str, description: str, headers: dict[str, Any]) -> dict[str, Any]:
    return {
        "description": description,
        "content": {media_type: {"schema": {"type": "string", "contentMediaType": media_type}}},
        "headers": headers,
    }


def _document_model(operation: dict[str, Any]) -> None:
    cache = header("no-cache: revalidate with If-None-Match (a 304 costs no transfer).")
    etag = header("The file's sha256, quoted: it never changes for this job, format and which.")
    responses = operation["responses"]
    responses["200"] = _file(
        "application/octet-stream",
        "The file: safetensors weights, or an ONNX graph (always whole: Range is not served).",
        {"ETag": etag, "Cache-Control": cache, "Content-Disposition": header("attachment, with a file name.")},
    )
    responses["304"] = {
        "description": "Not modified: If-None-Match named this file.",
        "headers": {"ETag": etag, "Cache-Control": cache},
    }
    responses["404"] = NO_SUCH_FILE
    responses["409"] = MODEL_CONFLICT


def _document_bundle(operation: dict[str, Any]) -> None:
    responses = operation["responses"]
    disposition = header("attachment, with a file name ending .tar.gz.")
    responses["200"] = _file("application/gzip", "The .tar.gz, streamed.", {"Content-Disposition": disposition})
    responses["409"] = MODEL_CONFLICT


def _document_predict(operation: dict[str, Any]) -> None:
    operation["requestBody"] = PREDICT_BODY
    responses = operation["responses"]
    responses["400"] = problem_answer("A JSON body that is not valid JSON.")
    responses["404"] = NO_SUCH_FILE
    responses["409"] = MODEL_CONFLICT
    responses["413"] = problem_answer("The body is larger than GRADYARD_MAX_PREDICT_BYTES (`detail` says the cap).")
    responses["415"] = problem_answer("A Content-Type other than the three the body may have.")
    responses["422"] = problem_answer(
        "The rows do not fit the model, or are more than GRADYARD_MAX_PREDICT_ROWS: `detail` says what the model "
        "expects (its features and their order, its input shape, the known categories) or the cap."
    )


def _document_rerun(operation: dict[str, Any]) -> None:
    operation["requestBody"] = {
        "required": False,
        "content": {media_type: {"schema": MERGE_PATCH_SCHEMA} for media_type in (MERGE_PATCH, JSON)},
    }
    responses = operation["responses"]
    for code in ("200", "201"):
        responses[code]["headers"] = {"Location": header("The new job's URL, /jobs/{id}.")}
        responses[code]["links"] = job_links("/id")
    responses["400"] = problem_answer("The body is not valid JSON.")
    responses["409"] = problem_answer(
        "The job is still queued or running, or the Idempotency-Key was first used with a different body."
    )
    responses["413"] = problem_answer("The body is too large or nested too deep.")
    responses["422"] = problem_answer(
        "The patched spec is invalid or cannot train: the same answer POST /jobs gives for that spec."
    )
    responses["429"] = problem_answer(
        "Too many active jobs for this user, or too many requests.", {"Retry-After": RETRY_AFTER}
    )


MODEL_DOCUMENTERS = {
    "download_model": _document_model,
    "download_bundle": _document_bundle,
    "predict_rows": _document_predict,
    "rerun_job": _document_rerun,
}
