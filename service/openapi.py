"""The OpenAPI document as the API really answers: typed bodies per content type, problem+json per status with its
headers, the stream's events, and links from a submitted job to its routes.

FastAPI derives most of the document from the routes; what it cannot see (errors raised by handlers and middleware,
headers set on responses, a stream's events) is added here, in one place, after it has generated the rest.
"""

from collections import Counter
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service.model_schemas import PredictInputs, PredictRecords, SpecPatch
from service.openapi_models import MODEL_DOCUMENTERS
from service.openapi_parts import PROBLEM_MEDIA_TYPE, RETRY_AFTER, SCHEMAS, header, job_links, problem_answer
from service.problems import Problem
from service.routes.events import LAST_EVENT_ID
from service.schemas import STREAM_EVENTS

# Each event's id is the cursor a client resumes from, sent back as Last-Event-ID.
EVENT_ID = {"type": "string", "pattern": LAST_EVENT_ID}


def unique_id(route: APIRoute) -> str:
    """The operation id of a route: its function's name (`submit_job`), which generated clients name methods after."""
    return route.name


UNAUTHORIZED = problem_answer(
    "No key, or a key that is unknown or revoked.",
    {"WWW-Authenticate": header("The scheme to authenticate with: Bearer.")},
)
RATE_LIMITED = problem_answer(
    "Too many requests from this key; or, where the route says, another per-user limit.", {"Retry-After": RETRY_AFTER}
)
NOT_FOUND = problem_answer("No such job for this key (another user's job is not found either).")
SWEEP_NOT_FOUND = problem_answer("No such sweep for this key (another user's sweep is not found either).")
INVALID = problem_answer("A parameter or the body is invalid; `errors` says where and why.")
UNAVAILABLE = problem_answer(
    "The database (or, on submit, the queue) cannot be reached; nothing was changed.", {"Retry-After": RETRY_AFTER}
)
ANY_CLIENT_ERROR = problem_answer("The request cannot be served as sent.")
ANY_SERVER_ERROR = problem_answer("The server failed; the error is logged.")
# What only POST /jobs answers (the body is read and parsed, the quota checked, the queue reached).
SUBMIT_ERRORS = {
    "400": problem_answer("The body is not valid JSON."),
    "409": problem_answer("The Idempotency-Key was first used with a different body."),
    "413": problem_answer("The body is too large or nested too deep."),
    "429": problem_answer("Too many active jobs for this user, or too many requests.", {"Retry-After": RETRY_AFTER}),
}


def _event_schema(kind: str, model: str) -> dict[str, Any]:
    """One Server-Sent Event: its name, its id (a resume cursor) and one data line of JSON in the model's shape."""
    data = {"type": "string", "contentMediaType": "application/json", "contentSchema": {"$ref": SCHEMAS + model}}
    return {
        "type": "object",
        "title": f"{kind} event",
        "required": ["event", "id", "data"],
        "properties": {"event": {"const": kind}, "id": EVENT_ID, "data": data, "retry": {"type": "integer"}},
    }


def _document_stream(operation: dict[str, Any]) -> None:
    # Open API 3.1 has no stream keyword: as tools read it (Schemathesis among them), the schema of a
    # text/event-stream describes each event, here one per kind with its JSON data.
    events = [_event_schema(kind, model.__name__) for kind, model in STREAM_EVENTS.items()]
    ok = operation["responses"]["200"]
    ok["description"] = (
        "Server-Sent Events: a `status` event per state-log row (a JobEventOut), `metrics` with the new points of "
        "each series (StreamMetrics), `rewind` when a later attempt resumed from an earlier step (StreamRewind), "
        "and `end` (StreamEnd) when the job is over, after which the stream closes. Each event's id resumes the "
        "stream as Last-Event-ID. Comment lines keep a quiet connection open."
    )
    ok["content"] = {"text/event-stream": {"schema": {"oneOf": events}}}
    ok["headers"] = {
        "Cache-Control": header("no-cache: the stream is never cached."),
        "X-Accel-Buffering": header("no: proxies must not buffer the stream."),
    }
    operation["responses"]["429"] = problem_answer(
        "Too many requests, or too many live streams open for this user.", {"Retry-After": RETRY_AFTER}
    )


def _document_metrics(operation: dict[str, Any]) -> None:
    ok = operation["responses"]["200"]
    cache = header("no-cache: revalidate with If-None-Match before using a stored copy.")
    ok["headers"] = {
        "Cache-Control": cache,
        "ETag": header("Only once the job has ended: its history no longer changes.", required=False),
        "Content-Disposition": header("Only for CSV: a download named after the job.", required=False),
    }
    operation["responses"]["304"]["headers"] = {"Cache-Control": cache, "ETag": header("The validator that matched.")}


def _document_submit(operation: dict[str, Any]) -> None:
    location = {"Location": header("The job's URL, /jobs/{id}.")}
    for code in ("200", "201"):
        operation["responses"][code]["headers"] = location
        operation["responses"][code]["links"] = job_links("/id")
    operation["responses"].update(SUBMIT_ERRORS)


def _document_job(operation: dict[str, Any]) -> None:
    for code in ("200", "202"):
        if code in operation["responses"]:
            operation["responses"][code]["links"] = job_links("/id")


def _document_list(operation: dict[str, Any]) -> None:
    # The newest job of the page; an empty page has none, and the link does not apply.
    operation["responses"]["200"]["links"] = job_links("/items/0/id")


def _document_plot(operation: dict[str, Any]) -> None:
    ok = operation["responses"]["200"]
    ok["content"] = {
        media_type: {"schema": {"type": "string", "contentMediaType": media_type}}
        for media_type in ("image/png", "image/svg+xml")
    }
    ok["headers"] = {"Cache-Control": header("no-store: a live job's picture changes.")}
    operation["responses"]["404"] = NOT_FOUND  # the compare chart's job ids are in its query


def _document_create_sweep(operation: dict[str, Any]) -> None:
    operation["responses"]["201"]["headers"] = {"Location": header("The sweep's URL, /sweeps/{id}.")}
    operation["responses"].update({code: SUBMIT_ERRORS[code] for code in ("400", "413")})


def _document_sweep_plot(operation: dict[str, Any]) -> None:
    _document_plot(operation)
    operation["responses"]["404"] = SWEEP_NOT_FOUND


def _document_errors(path: str, operation: dict[str, Any]) -> None:
    """Problem+json for each error status this operation answers, and for any other 4xx or 5xx."""
    responses = operation["responses"]
    if PROBLEM_MEDIA_TYPE not in responses.get("422", {}).get("content", {}):
        responses.pop("422", None)  # FastAPI's HTTPValidationError: the API answers problem+json instead
    if operation.get("security"):
        responses.setdefault("401", UNAUTHORIZED)
        responses.setdefault("429", RATE_LIMITED)
        responses.setdefault("503", UNAVAILABLE)
    if "{job_id}" in path:
        responses.setdefault("404", NOT_FOUND)
    if "{sweep_id}" in path:
        responses.setdefault("404", SWEEP_NOT_FOUND)
    if operation.get("parameters") or "requestBody" in operation:
        responses.setdefault("422", INVALID)
    responses["4XX"] = ANY_CLIENT_ERROR
    responses["5XX"] = ANY_SERVER_ERROR


ROUTE_DOCUMENTERS = {
    "submit_job": _document_submit,
    "list_jobs": _document_list,
    "read_job": _document_job,
    "cancel_job": _document_job,
    "read_metrics": _document_metrics,
    "stream_events": _document_stream,
    "plot_job": _document_plot,
    "plot_comparison": _document_plot,
    **MODEL_DOCUMENTERS,
    "create_sweep": _document_create_sweep,
    "plot_sweep": _document_sweep_plot,
}


def _complete(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    models: list[type[BaseModel]] = [Problem, *STREAM_EVENTS.values(), PredictInputs, PredictRecords, SpecPatch]
    for model in models:
        model_schema = model.model_json_schema(ref_template=SCHEMAS + "{model}")
        components.update(model_schema.pop("$defs", {}))
        components[model.__name__] = model_schema
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, item in schema["paths"].items():
        ids = Counter(operation["operationId"] for operation in item.values())
        for method, operation in item.items():
            # A route serving two methods (GET and HEAD) has one id for both: the GET keeps it, the other is suffixed.
            if ids[operation["operationId"]] > 1 and method != "get":
                operation["operationId"] += f"_{method}"
            elif document := ROUTE_DOCUMENTERS.get(operation["operationId"]):
                document(operation)
            _document_errors(path, operation)


def document_api(app: FastAPI) -> None:
    """Make the app's OpenAPI document describe every answer as it is sent, errors, headers and events included."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            _complete(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
