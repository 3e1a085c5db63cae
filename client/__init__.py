"""The Python client of a gradyard server: `Client(url, key).submit(spec)`, `.wait(id)`, `.metrics(id)`."""

from client.api import TERMINAL, Client, Job
from client.config import ClientSettings, config_path, resolve_settings
from client.errors import ApiError, ClientError, ConfigError, SpecFileError, Unreachable
from client.models import set_patch
from client.specs import load_spec
from client.table import wide_table

__all__ = [
    "TERMINAL",
    "ApiError",
    "Client",
    "ClientError",
    "ClientSettings",
    "ConfigError",
    "Job",
    "SpecFileError",
    "Unreachable",
    "config_path",
    "load_spec",
    "resolve_settings",
    "set_patch",
    "wide_table",
]
