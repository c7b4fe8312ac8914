"""Helpers for the intake tests: corpus access, a loopback smarthost, daemon subprocesses."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from core.reading.decide import ELEMENT_KEYS
from tests.conftest import CORPUS, EXAMPLE, NO_OCR_ENV, ROOT

OFFICE = "shouwen@gzz.gov.cn"


def labels() -> list[dict[str, Any]]:
    """Every labelled corpus file, in file order."""
    lines = (CORPUS / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted((json.loads(x) for x in lines if x.strip()), key=lambda d: d["file"])


def corpus(file: str) -> bytes:
    return (CORPUS / file).read_bytes()


def first(pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The first labelled file satisfying `pred` (chosen by label, never by name)."""
    return next(d for d in labels() if pred(d))


_MID = re.compile(rb"(?im)^message-id:[^\n]*\n(?:[ \t][^\n]*\n)*")


def with_message_id(raw: bytes, message_id: str) -> bytes:
    """The same message under another Message-ID (a new delivery of the same content)."""
    raw = raw.replace(b"\r\n", b"\n")
    header = f"Message-ID: <{message_id}>\n".encode()
    if _MID.search(raw):
        return _MID.sub(lambda _m: header, raw, count=1)
    return header + raw


def realistic(n: int, tag: str) -> list[bytes]:
    """n corpus messages, cycled, each under its own Message-ID."""
    files = [d["file"] for d in labels()]
    return [
        with_message_id(corpus(files[i % len(files)]), f"{tag}.{i}@bench.example")
        for i in range(n)
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ loopback smarthost


@dataclass
class Captured:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage


@dataclass
class SmarthostHandler:
    """Records what it accepts; `reply` lets a test make it refuse."""

    messages: list[Captured] = field(default_factory=list)
    reply: str = "250 OK"
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        raw = envelope.original_content or b""
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(msg, EmailMessage)
        self.messages.append(Captured(envelope.mail_from or "", list(envelope.rcpt_tos), msg))
        self.arrived.set()
        return self.reply

    async def wait_for(self, n: int, timeout: float = 10.0) -> list[Captured]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"smarthost got {len(self.messages)} of {n} messages")
            self.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.arrived.wait(), timeout=left)
        return self.messages


@contextlib.asynccontextmanager
async def smarthost(port: int = 0) -> Any:
    """A second aiosmtpd server on the test's loop: (handler, port)."""
    handler = SmarthostHandler()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, loop=loop), "127.0.0.1", port
    )
    try:
        yield handler, server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


# ------------------------------------------------------------------ daemon subprocess


def daemon_env(data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "JIYAO_STORAGE__DATA_DIR": str(data_dir),
        "JIYAO_SMTP__PORT": str(port),
        "JIYAO_SMARTHOST__ENABLED": "false",
        **NO_OCR_ENV,
        **extra,
    }
    env.pop("JIYAO_CONFIG", None)
    return env


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited with {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise AssertionError(f"daemon not listening on {port}")


@contextlib.contextmanager
def intake_process(data_dir: Path, port: int, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`jiyao intake` as a subprocess on the example config; stopped with SIGTERM."""
    proc = start_intake(data_dir, port, log)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def start_intake(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jiyao.cli", "intake", "--config", str(EXAMPLE)],
            env=daemon_env(data_dir, port), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    wait_listening(port, proc)
    return proc


def items_json(data_dir: Path, *args: str) -> list[dict[str, Any]]:
    """`jiyao items --json` as a subprocess: one object per line."""
    env = {**os.environ, "JIYAO_STORAGE__DATA_DIR": str(data_dir)}
    env.pop("JIYAO_CONFIG", None)
    r = subprocess.run(
        [sys.executable, "-m", "jiyao.cli", "items", "--json", "--config", str(EXAMPLE), *args],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False,
    )
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


# ------------------------------------------------------------------ edge and pipeline in-process


class ServedIntake:
    """The SMTP edge and one pipeline worker on the test's loop, wired as `jiyao intake`
    wires them: the edge answers 250 once an item is received, the worker decides it."""

    def __init__(self, ctx: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        from intake_daemon.app import IntakeDaemon
        from jiyao.pipeline import InlinePipeline

        self.ctx = ctx
        self.edge = IntakeDaemon(ctx, host=host, port=port)
        self.pipeline = InlinePipeline(ctx)
        self.edge.handler.on_accepted = self.pipeline.wake

    @property
    def port(self) -> int:
        return self.edge.port

    @property
    def handler(self) -> Any:
        return self.edge.handler

    async def start(self) -> None:
        await self.pipeline.start()
        await self.edge.start()

    async def stop(self) -> None:
        try:
            await self.edge.stop()
        finally:
            await self.pipeline.stop()


async def wait_decided(ctx: Any, timeout: float = 60.0) -> None:
    """Until no item is left `received` (the pipeline decided or shunted every one)."""
    deadline = time.monotonic() + timeout
    while True:
        async with ctx.db.reader() as r:
            row = await r.fetchone("SELECT COUNT(*) AS n FROM items WHERE outcome = 'received'")
        if row is not None and row["n"] == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{row['n'] if row else '?'} items still received")
        await asyncio.sleep(0.05)


def wait_decided_dir(data_dir: Path, timeout: float = 60.0) -> list[dict[str, Any]]:
    """`jiyao items --json` once no item is left `received` (a daemon subprocess decides)."""
    deadline = time.monotonic() + timeout
    while True:
        rows = items_json(data_dir)
        if all(r["outcome"] != "received" for r in rows):
            return rows
        if time.monotonic() > deadline:
            raise AssertionError("items still received: "
                                 f"{[r['id'] for r in rows if r['outcome'] == 'received']}")
        time.sleep(0.2)


# ------------------------------------------------------------------ sealed items


def envelope_text(raw: bytes) -> str:
    """What a message's envelope shows (DOMAIN §2): decoded headers and the 签收单."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    shown = [f"{k}: {v}" for k, v in msg.items()]
    shown += [
        part.get_payload(decode=True).decode("utf-8", "replace")
        for part in msg.walk() if part.get_filename() == "签收单.json"
    ]
    return "\n".join(shown)


def sealed_secrets(label: dict[str, Any], raw: bytes) -> dict[str, str]:
    """The labelled values of a sealed item that may appear in no output
    (../shared/corpus/README.md): its title always; its 字号 and issuer unless the
    envelope shows them or the first page's head carried the 绝密 marking."""
    assert label["outcome"] == "sealed"
    envelope = envelope_text(raw)
    head_read = label.get("secrecy") == "绝密" and "绝密" not in envelope
    secrets = {"title": label["title"]}
    for key in ("doc_number", "sender"):
        value = label.get(key)
        if value and value not in envelope and not head_read:
            secrets[key] = value
    return secrets


def sealed_elements(raw: bytes) -> dict[str, str]:
    """The 份号, 签发人, 主送, 抄送, 成文日期 and 附件说明 printed inside a sealed item's
    document (read here as an unsealed one would be), each as printed, unless the
    envelope shows it: none of them may appear in any output."""
    from core.reading.decide import extract_parts
    from core.reading.fields import extract_fields
    from core.reading.mail import parse_message

    parsed = parse_message(raw)
    texts = [x.text for x in extract_parts(parsed).values() if x.status == "ok"]
    fields = extract_fields(next((t for t in texts if t.strip()), parsed.body_text or ""))
    found = {
        key: f.source_text if key == "date" else str(f.value)
        for key in ("copy_no", "signer", "addressees", "cc", "date", "attachment_note")
        if (f := getattr(fields, key)) is not None
    }
    envelope = envelope_text(raw)
    return {k: v for k, v in found.items() if v not in envelope}


def allowed_sealed_fields(label: dict[str, Any], raw: bytes) -> dict[str, Any]:
    """What a sealed item's record holds: envelope facts, and 字号/密级 of a 绝密 head;
    `title`, `doc_type`, every forbidden value and every other element (ELEMENT_KEYS)
    are null."""
    secrets = sealed_secrets(label, raw)
    expected: dict[str, Any] = {
        "outcome": "sealed", "kind": None, "reason": label["reason"], "title": None,
        "doc_type": None,
    }
    for key in ("doc_number", "sender"):
        expected[key] = None if key in secrets else label.get(key)
    expected["secrecy"] = "绝密" if label["reason"] == "top_secret" else None
    expected.update(dict.fromkeys(ELEMENT_KEYS))  # 份号, 签发人, 主送, 抄送, 成文日期, 附件说明
    if label.get("envelope_no"):
        expected["envelope_no"] = label["envelope_no"]
    return expected
