"""Configuration: the example loads, environment overrides, bad files give one clear error."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import ConfigError
from tests.conftest import EXAMPLE, ROOT


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "c.toml"
    p.write_text(text, encoding="utf-8")
    return p


def _example_with(old: str, new: str, tmp_path: Path) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert old in text
    return _write(tmp_path, text.replace(old, new, 1))


def test_example_loads() -> None:
    """The example office loads with its organs, leaders, codes and lists."""
    s = load_settings(EXAMPLE)
    assert s.office.name == "甘孜藏族自治州人民政府"
    assert s.smtp.port == 2525
    assert {d.code for d in s.dispatch_code} >= {"甘府发", "政府会"}
    assert s.bot.token is None


def test_environment_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """JIYAO_… variables nested with __ override the file; the token is a secret."""
    monkeypatch.setenv("JIYAO_STORAGE__DATA_DIR", str(tmp_path))
    monkeypatch.setenv("JIYAO_SMTP__PORT", "2626")
    monkeypatch.setenv("JIYAO_BOT__TOKEN", "123:SECRET")
    monkeypatch.setenv("JIYAO_BOT__BASE_URL", "http://127.0.0.1:9/bot")
    s = load_settings(EXAMPLE)
    assert s.storage.data_dir == tmp_path
    assert s.smtp.port == 2626
    assert s.bot.base_url == "http://127.0.0.1:9/bot"
    assert s.bot_token() == "123:SECRET"
    assert "SECRET" not in repr(s)


def test_token_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A secrets file supplies the token when the environment does not."""
    secret = tmp_path / "token"
    secret.write_text("42:FROMFILE\n")
    monkeypatch.setenv("JIYAO_BOT__TOKEN_FILE", str(secret))
    assert load_settings(EXAMPLE).bot_token() == "42:FROMFILE"


def test_config_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--config wins, then JIYAO_CONFIG, then ./config.toml, then the example."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIYAO_CONFIG", raising=False)
    assert load_settings(None).office.name == "甘孜藏族自治州人民政府"
    other = _example_with('name = "甘孜藏族自治州人民政府"', 'name = "测试政府"', tmp_path)
    (tmp_path / "config.toml").write_text(other.read_text(encoding="utf-8"), encoding="utf-8")
    assert load_settings(None).office.name == "测试政府"
    monkeypatch.setenv("JIYAO_CONFIG", str(EXAMPLE))
    assert load_settings(None).office.name == "甘孜藏族自治州人民政府"
    assert load_settings(other).office.name == "测试政府"


def test_wrong_type(tmp_path: Path) -> None:
    """A wrong type names the key and the bad value."""
    path = _example_with("port = 2525", 'port = "abc"', tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "smtp.port"
    assert str(path) in str(err.value)
    assert "应为整数（收到 'abc'）" in str(err.value)


@pytest.mark.parametrize("value", ["-1", "20", '"low"'])
def test_pipeline_nice_is_validated(tmp_path: Path, value: str) -> None:
    """`[pipeline] nice` is a nice(2) increment, 0-19: anything else is refused by name."""
    assert load_settings(EXAMPLE).pipeline.nice == 10
    path = _example_with("nice = 10", f"nice = {value}", tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "pipeline.nice"


@pytest.mark.parametrize(("old", "new", "key", "said"), [
    ("port = 2525", "prot = 2525", "smtp.prot", "未知的配置项"),
    ("port = 2525", "port = [", "-", "TOML 语法错误：第 "),
])
def test_problems_are_said_in_chinese(
    tmp_path: Path, old: str, new: str, key: str, said: str
) -> None:
    """A misspelt key and a TOML syntax error are explained in Chinese, with the place."""
    with pytest.raises(ConfigError) as err:
        load_settings(_example_with(old, new, tmp_path))
    assert err.value.key == key
    assert said in str(err.value)


def test_unknown_organ_in_leader(tmp_path: Path) -> None:
    """A leader's list naming an organ missing from [[org]] is refused."""
    path = _example_with('orgs = ["财政部"', 'orgs = ["不存在的厅"', tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "不存在的厅" in str(err.value)


def test_duplicate_code(tmp_path: Path) -> None:
    """Two dispatch codes with the same name are refused."""
    path = _example_with('code = "甘府函"', 'code = "甘府发"', tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert "甘府发" in str(err.value)
    assert "重复" in str(err.value)


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is an error naming the file, never silently skipped."""
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path / "nope.toml")
    assert "nope.toml" in str(err.value)


def test_token_in_file_refused(tmp_path: Path) -> None:
    """The bot token may not be written into the TOML file."""
    path = _example_with("[bot]\n", '[bot]\ntoken = "1:X"\n', tmp_path)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "bot.token"


def test_cli_reports_one_paragraph(tmp_path: Path) -> None:
    """The command line prints one Chinese paragraph and exits non-zero, no traceback."""
    path = _example_with("port = 2525", "port = 99999", tmp_path)
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(tmp_path)}
    r = subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "counts", "--config", str(path)],
        capture_output=True, text=True, cwd=ROOT, env=env, check=False,
    )
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "smtp.port" in r.stderr
    assert str(path) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
