"""What the client raises: the server's problem+json refusals, an unreachable server, a bad config or spec file."""

from typing import Any

import httpx


class ClientError(Exception):
    """Base of every error the gradyard client raises on purpose."""


class ConfigError(ClientError):
    """The client config file cannot be read."""


class SpecFileError(ClientError):
    """A job spec file cannot be read or parsed."""


class Unreachable(ClientError):
    """The server did not answer (refused, timed out, wrong address)."""


class ApiError(ClientError):
    """The server answered with an error: its RFC 9457 problem+json, kept whole."""

    def __init__(self, status: int, title: str, detail: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or []

    @classmethod
    def of(cls, response: httpx.Response) -> "ApiError":
        """The error a non-2xx response carries (problem+json, or its bare text when it is not one)."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(response.status_code, response.reason_phrase, response.text[:500])
        return cls(
            int(body.get("status", response.status_code)),
            str(body.get("title", response.reason_phrase)),
            str(body.get("detail", "")),
            [e for e in body.get("errors", []) if isinstance(e, dict)],
        )

    def field_messages(self) -> list[str]:
        """One line per field error: 'optimizer.lr: Input should be less than or equal to 10'."""
        lines = []
        for error in self.errors:
            loc = [str(part) for part in error.get("loc", []) if part not in ("body", "query")]
            lines.append(f"{'.'.join(loc) or '(request)'}: {error.get('msg', '')}")
        return lines
