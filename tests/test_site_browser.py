"""The built catalogue in Debian's headless Chromium, served on loopback by http.server.

Chromium runs the site's own search script: `search.html?q=…` makes it search the
prebuilt index on load, and --dump-dom returns the DOM after the script ran. A screenshot
of a document page is written to docs/site-document.png when JIYAO_SITE_SCREENSHOT is
set (how the README's picture was made), else under the test's tmp folder.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.services import site
from core.services.context import Context
from core.site import catalogue as cat
from tests.conftest import ROOT, FrozenClock
from tests.site_helpers import BRIEF, FLOOD, PLAN, SECRET_TITLE, WITHHELD_TITLE, seed

CHROMIUM = shutil.which("chromium")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium 未安装（.ci/run 会安装）"),
]


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib's name
        pass


@pytest.fixture
def serve() -> Iterator[functools.partial[str]]:
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(root: Path) -> str:
        handler = functools.partial(_Quiet, directory=str(root.resolve()))
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        servers.append(srv)
        return f"http://127.0.0.1:{srv.server_address[1]}/"

    yield functools.partial(start)
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def chromium(tmp: Path, *args: str) -> str:
    assert CHROMIUM is not None
    profile = tmp / "profile"
    profile.mkdir(exist_ok=True)
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
           "--no-first-run", "--disable-background-networking", "--disable-component-update",
           "--disable-sync", f"--user-data-dir={profile}", *args]
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=90,
                          env={**os.environ, "HOME": str(tmp)})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def dom(tmp: Path, url: str) -> str:
    return chromium(tmp, "--virtual-time-budget=5000", "--dump-dom", url)


def results(html: str) -> list[str]:
    """Titles in the search result list the script filled in."""
    m = re.search(r'<ol id="search-results"[^>]*>(.*?)</ol>', html, re.S)
    assert m is not None, html[-1500:]
    return re.findall(r"<li><a [^>]*>([^<]+)</a>", m.group(1))


async def test_site_in_chromium(ctx: Context, clock: FrozenClock, tmp_path: Path,
                                serve: functools.partial[str]) -> None:
    s = await seed(ctx, clock)
    out = tmp_path / "www"
    await site.build(ctx, out)
    base = serve(out)

    # the 栏目 tree: each item under its own 栏目
    tree = {c.path: c for top in cat.column_tree(ctx.settings.disclosure.catalogue, [])
            for c in (top, *top.children)}
    for column, title in (("政策法规/规范性文件", FLOOD), ("业务工作/工作简报", BRIEF),
                          ("业务工作/工作计划", PLAN)):
        page = dom(tmp_path, base + tree[column].href)
        assert title in page, column
        others = {FLOOD, BRIEF, PLAN} - {title}
        assert not any(o in page for o in others), column
    home = dom(tmp_path, base + "index.html")
    assert all(t in home for t in (FLOOD, BRIEF, PLAN))

    # search runs in the browser: a two-character word, and a 文号 as typed (variant brackets)
    def search(q: str) -> list[str]:
        return results(dom(tmp_path, base + "search.html?q=" + urllib.parse.quote(q)))

    assert search("防汛") == [FLOOD]
    assert search("简报") == [BRIEF]
    assert search("工作") == [PLAN, BRIEF, FLOOD]  # newest first
    assert search(s.flood) == [FLOOD]
    assert search(s.flood.replace("〔", "[").replace("〕", "]")) == [FLOOD]
    assert search("简报 2026-03-06") == [BRIEF]
    assert search("秘密") == []
    assert search("边境") == []

    # the 不予公开 and 秘密 items appear nowhere: not in any page, the index or a file
    for p in out.resolve().rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for secret in (SECRET_TITLE, WITHHELD_TITLE, s.secret, s.withheld):
                assert secret.encode() not in data, p

    # a document page, as a reader on a desktop sees it
    doc = next(p for p in (out / "doc").glob("*.html") if FLOOD in p.read_text("utf-8"))
    shot_dir = ROOT / "docs" if os.environ.get("JIYAO_SITE_SCREENSHOT") else tmp_path
    shot_dir.mkdir(exist_ok=True)
    shot = shot_dir / "site-document.png"
    chromium(tmp_path, "--window-size=1200,900", "--hide-scrollbars",
             f"--screenshot={shot}", base + doc.relative_to(out).as_posix())
    assert shot.read_bytes().startswith(b"\x89PNG")
