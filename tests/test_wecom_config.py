"""`[wecom]` settings: secrets only from the environment or files, parts built from them."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.wecom.assemble import callback_from, client_from, crypt_from
from bot.wecom.callback import Received, Refusal
from core.config import load_settings
from core.errors import ConfigError
from tests.conftest import EXAMPLE

AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
WECOM = """[wecom]
enabled = true
corp_id = "ww0123456789abcdef"
agent_id = 1000002
token = "callbacktoken"
"""


def _config(tmp_path: Path, extra: str = "") -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("[wecom]\n")
    end = text.index("# ------", start)
    path = tmp_path / "c.toml"
    path.write_text(text[:start] + WECOM + extra + "\n" + text[end:], encoding="utf-8")
    return path


class _Quiet:
    async def on_event(self, event: Received) -> None: ...

    async def on_refused(self, refusal: Refusal) -> None: ...


def test_example_has_wecom_off_with_defaults() -> None:
    w = load_settings(EXAMPLE).wecom
    assert not w.enabled
    assert (w.base_url, w.callback_host, w.callback_port, w.callback_path) == (
        "https://qyapi.weixin.qq.com", "127.0.0.1", 8090, "/wecom/callback")


@pytest.mark.parametrize("line", ['secret = "s3cret"', f'encoding_aes_key = "{AES_KEY}"'])
def test_secrets_written_in_the_toml_are_refused(tmp_path: Path, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(_config(tmp_path, line))
    assert "不得写在配置文件中" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert AES_KEY not in str(caught.value)


def test_secrets_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIYAO_WECOM__SECRET", "env-secret")
    monkeypatch.setenv("JIYAO_WECOM__ENCODING_AES_KEY", AES_KEY)
    s = load_settings(_config(tmp_path))
    assert s.wecom_secret() == "env-secret"
    assert s.wecom_aes_key() == AES_KEY
    assert "env-secret" not in repr(s)
    assert AES_KEY not in repr(s)
    assert "callbacktoken" not in repr(s)
    assert crypt_from(s).sign("1", "2", "3")
    server = callback_from(s, _Quiet())
    assert server.url == "http://127.0.0.1:8090/wecom/callback"
    client = client_from(s)
    assert (client.corp_id, client.agent_id) == ("ww0123456789abcdef", 1000002)


def test_secrets_from_files(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("file-secret\n")
    (tmp_path / "aes").write_text(AES_KEY + "\n")
    s = load_settings(_config(tmp_path, f'secret_file = "{tmp_path / "secret"}"\n'
                                        f'aes_key_file = "{tmp_path / "aes"}"'))
    assert s.wecom_secret() == "file-secret"
    assert s.wecom_aes_key() == AES_KEY


def test_missing_or_bad_secrets_are_said_in_chinese(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    s = load_settings(_config(tmp_path))
    with pytest.raises(ConfigError, match="未配置应用 Secret"):
        client_from(s)
    with pytest.raises(ConfigError, match="EncodingAESKey"):
        crypt_from(s)
    monkeypatch.setenv("JIYAO_WECOM__ENCODING_AES_KEY", "too-short")
    with pytest.raises(ConfigError, match="43"):
        crypt_from(load_settings(_config(tmp_path)))


def test_enabled_needs_the_app_ids(tmp_path: Path) -> None:
    path = _config(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("agent_id = 1000002\n", ""),
                    encoding="utf-8")
    with pytest.raises(ConfigError, match="agent_id"):
        load_settings(path)


def _with_users(tmp_path: Path, first: str, second: str) -> Path:
    text = EXAMPLE.read_text(encoding="utf-8")
    text = text.replace('chat_id = 100001\n', f'chat_id = 100001\nwecom_user = "{first}"\n', 1)
    text = text.replace('chat_id = 200001\n', f'chat_id = 200001\nwecom_user = "{second}"\n', 1)
    path = tmp_path / "people.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_people_may_have_a_wecom_user_beside_chat_id(tmp_path: Path) -> None:
    s = load_settings(_with_users(tmp_path, "ZhouZhang", "wenshu.room"))
    leader = next(x for x in s.leader if x.name == "州长")
    staff = next(x for x in s.staff if x.name == "文书处理室")
    assert (leader.chat_id, leader.wecom_user) == (100001, "ZhouZhang")
    assert (staff.chat_id, staff.wecom_user) == (200001, "wenshu.room")
    assert all(x.wecom_user is None for x in s.leader if x.name != "州长")


def test_one_wecom_user_for_two_people_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wecom_user"):
        load_settings(_with_users(tmp_path, "same", "same"))


def test_bad_wecom_user_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="wecom_user"):
        load_settings(_with_users(tmp_path, "州 长", "ok"))
