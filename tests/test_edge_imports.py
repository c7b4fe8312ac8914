"""The edge's process (`jiyao intake`) carries no more than it accepts with: reading,
deciding and verifying a document happen in the pipeline's workers, so a 30 MiB message
fits the edge's memory target (bench/intake.py `rss`) and start-up stays light."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from core.storage.db import DB_FILE
from tests.conftest import EXAMPLE, ROOT
from tests.intake_helpers import OFFICE, daemon_env, free_port, realistic

#: what only a worker (or a command) needs: the steps, the reading stack, DKIM, the
#: reminders and the maintenance commands
WORKER_ONLY = (
    "core.services.pipeline", "core.services.decide", "core.reading", "core.ocr", "dkim",
    "dns", "core.services.admin", "core.services.reminders", "core.directory", "pypdf",
)

# run as a file, not with -c: the pipeline's workers are spawned and import __main__
SCRIPT = r"""
import json, os, signal, smtplib, socket, sqlite3, sys, threading, time

def accept_one_then_stop():
    for _ in range(400):  # until the edge listens
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[2])), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        with smtplib.SMTP("127.0.0.1", int(sys.argv[2]), timeout=10) as client:
            raw = open(sys.argv[4], "rb").read().replace(b"\r\n", b"\n")
            client.sendmail("sender@example.gov.cn", [sys.argv[3]], raw.replace(b"\n", b"\r\n"))
        db = "file:" + sys.argv[6] + "?mode=ro"
        for _ in range(600):  # until a worker has decided it
            with sqlite3.connect(db, uri=True) as conn:
                if conn.execute("SELECT count(*) FROM items WHERE outcome != 'received'"
                                ).fetchone()[0]:
                    break
            time.sleep(0.1)
        with open(sys.argv[1], "w") as out:
            json.dump(sorted(sys.modules), out)
    finally:
        os.kill(os.getpid(), signal.SIGTERM)

if __name__ == "__main__":
    from jiyao.cli import main
    threading.Thread(target=accept_one_then_stop, daemon=True).start()
    sys.exit(main(["intake", "--config", sys.argv[5], "--workers", "1"]))
"""


def test_the_edge_process_imports_no_reading_stack(tmp_path: Path) -> None:
    script = tmp_path / "edge.py"
    script.write_text(textwrap.dedent(SCRIPT), encoding="utf-8")
    message = tmp_path / "one.eml"
    message.write_bytes(realistic(1, "edge-imports")[0])
    out, port = tmp_path / "modules.json", free_port()
    env = daemon_env(tmp_path / "data", port)
    proc = subprocess.run(
        [sys.executable, str(script), str(out), str(port), OFFICE, str(message), str(EXAMPLE),
         str(tmp_path / "data" / DB_FILE)],
        check=False, env=env, cwd=ROOT, capture_output=True, timeout=120,
    )
    assert out.exists(), proc.stderr.decode(errors="replace")[-3000:]
    assert proc.returncode == 0
    modules = json.loads(out.read_text(encoding="utf-8"))
    for part in ("intake_daemon.smtp", "core.services.receive", "jiyao.pipeline"):
        assert part in modules
    loaded = [m for m in modules if m.split(".")[0] in {"dkim", "dns", "pypdf"}
              or any(m == w or m.startswith(w + ".") for w in WORKER_ONLY)]
    assert loaded == []
