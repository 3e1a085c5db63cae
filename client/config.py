"""Where the client finds the server and its key: flags, else the environment, else a config file, else defaults.

The config file is TOML, `$GRADYARD_CONFIG` if set, else `$XDG_CONFIG_HOME/gradyard/config.toml`, else
`~/.config/gradyard/config.toml`:

    url = "http://gpu-box:8000"
    key = "gy_..."
"""

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from client.errors import ConfigError

DEFAULT_URL = "http://127.0.0.1:8000"
CONFIG_KEYS = ("url", "key")


@dataclass(frozen=True)
class ClientSettings:
    """The server's base URL and the key to send (None: send no Authorization header)."""

    url: str
    key: str | None


def config_path() -> Path:
    """The config file this process reads (it need not exist)."""
    explicit = os.environ.get("GRADYARD_CONFIG", "").strip()
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or str(Path.home() / ".config")
    return Path(base) / "gradyard" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """The settings in a config file; empty when the file does not exist, ConfigError when it is wrong."""
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ConfigError(f"{path}: unknown setting {', '.join(unknown)}; known: {', '.join(CONFIG_KEYS)}")
    wrong = [name for name, value in data.items() if not isinstance(value, str)]
    if wrong:
        raise ConfigError(f"{path}: {', '.join(wrong)} must be a quoted string")
    return {name: str(value) for name, value in data.items()}


def _first(*values: str | None) -> str | None:
    return next((value for value in values if value), None)


def resolve_settings(*, url: str | None = None, key: str | None = None) -> ClientSettings:
    """URL and key, each from the first place that sets it: the arguments, GRADYARD_URL/GRADYARD_KEY, the file."""
    env_url, env_key = os.environ.get("GRADYARD_URL", "").strip(), os.environ.get("GRADYARD_KEY", "").strip()
    needs_file = not _first(url, env_url) or not _first(key, env_key)
    file = read_config(config_path()) if needs_file else {}
    chosen_url = _first(url, env_url, file.get("url")) or DEFAULT_URL
    return ClientSettings(url=chosen_url.rstrip("/"), key=_first(key, env_key, file.get("key")))
