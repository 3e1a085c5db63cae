"""Pieces of the OpenAPI document that several routes' descriptions share: headers, problem+json answers, and the
links from an answer that names a job to that job's routes."""

from typing import Any

SCHEMAS = "#/components/schemas/"
PROBLEM_MEDIA_TYPE = "application/problem+json"


def header(description: str, *, required: bool = True, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """A response header's description."""
    return {"description": description, "required": required, "schema": schema or {"type": "string"}}


RETRY_AFTER = header("Seconds to wait before retrying.", schema={"type": "integer", "minimum": 1})


def problem_answer(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    """A problem+json answer with this description (and headers)."""
    answer: dict[str, Any] = {
        "description": description,
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": SCHEMAS + "Problem"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


def job_links(pointer: str) -> dict[str, Any]:
    """Links from an answer that names a job (at this JSON pointer) to the routes of that job."""
    return {
        name: {"operationId": target, "parameters": {"job_id": f"$response.body#{pointer}"}, "description": what}
        for name, target, what in [
            ("ReadJob", "read_job", "The job, its state and its state log."),
            ("ReadMetrics", "read_metrics", "The job's metric history."),
            ("StreamEvents", "stream_events", "The job's live stream."),
            ("CancelJob", "cancel_job", "Stop the job."),
            ("PlotJob", "plot_job", "The job's curves as a picture."),
        ]
    }
