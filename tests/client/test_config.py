"""Where the client finds the server and key: flags, else environment, else the config file, else loopback."""

from pathlib import Path

import pytest

from client import Client, ConfigError, config_path, resolve_settings


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config file the client reads, with the environment cleared of client settings."""
    path = tmp_path / "config.toml"
    monkeypatch.setenv("GRADYARD_CONFIG", str(path))
    monkeypatch.delenv("GRADYARD_URL", raising=False)
    monkeypatch.delenv("GRADYARD_KEY", raising=False)
    return path


def test_with_nothing_set_the_client_talks_to_loopback_without_a_key(config: Path) -> None:
    settings = resolve_settings()
    assert (settings.url, settings.key) == ("http://127.0.0.1:8000", None)


def test_the_config_file_is_read_when_nothing_else_is_set(config: Path) -> None:
    config.write_text('url = "http://gpu-box:9000/"\nkey = "gy_file"\n')
    settings = resolve_settings()
    assert (settings.url, settings.key) == ("http://gpu-box:9000", "gy_file")


def test_the_environment_beats_the_file_and_flags_beat_both(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config.write_text('url = "http://file:1"\nkey = "gy_file"\n')
    monkeypatch.setenv("GRADYARD_URL", "http://env:2")
    assert resolve_settings() == resolve_settings(url=None, key=None)
    assert (resolve_settings().url, resolve_settings().key) == ("http://env:2", "gy_file")
    monkeypatch.setenv("GRADYARD_KEY", "gy_env")
    assert resolve_settings().key == "gy_env"
    flags = resolve_settings(url="http://flag:3", key="gy_flag")
    assert (flags.url, flags.key) == ("http://flag:3", "gy_flag")


def test_a_wrong_config_file_says_what_is_wrong(config: Path) -> None:
    config.write_text('url = "http://x"\ntoken = "oops"\n')
    with pytest.raises(ConfigError, match=r"unknown setting token; known: url, key"):
        resolve_settings()
    config.write_text("url = http://unquoted\n")
    with pytest.raises(ConfigError, match="is not valid TOML"):
        resolve_settings()
    config.write_text("key = 42\n")
    with pytest.raises(ConfigError, match="key must be a quoted string"):
        resolve_settings()


def test_the_default_config_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("GRADYARD_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path() == tmp_path / "gradyard" / "config.toml"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    assert config_path() == Path.home() / ".config" / "gradyard" / "config.toml"


def test_a_configured_key_is_sent_as_a_bearer_token(config: Path) -> None:
    import httpx

    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"datasets": []})

    config.write_text('key = "gy_secret"\n')
    with Client(transport=httpx.MockTransport(answer)) as client:
        client.catalog()
    with Client(key="gy_flag", transport=httpx.MockTransport(answer)) as client:
        client.catalog()
    config.write_text("")
    with Client(transport=httpx.MockTransport(answer)) as client:
        client.catalog()
    assert seen == ["Bearer gy_secret", "Bearer gy_flag", None]
