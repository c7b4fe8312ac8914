"""Build tests/data/real/*.eml from the published texts in tests/data/real/texts/.

Each texts/<id>.txt is front matter (`key: value` lines), a `---` line, then the
document as published. The front matter says how the office receives it:

- `route`: `relay` (四川省电子公文交换中心, exchange@sc.gov.cn), `direct` (from the
  address in `from`) or `fax` (the fax gateway, remote station id in `remote`);
- `format`: `pdf`, `docx` (attachments), `html`, `html-raw` (markup shown as text
  on the page it was copied from, so sent as plain text), `gbk`, `gb18030`, `utf8`
  (plain bodies in that charset);
- `date`, `subject`, `filename`, `pages` (fax): envelope facts;
- `source`, `layout`: for SOURCES.md, not used here.

Lines of the text that begin with `| ` are one row of a table on the page
(cells separated by ` | `): a DOCX/HTML table, PDF cells side by side, a
tab-separated line in plain bodies.

Only the envelope is added; the text is laid out as published. Output is
deterministic (fixed boundaries, Message-IDs, PDF invariant mode, fixed ZIP
times), so `python -m tests.data.real.build --check` proves the committed
files are what the texts give.

    python -m tests.data.real.build           # write the .eml files
    python -m tests.data.real.build --check   # exit 1 if any differs
"""

from __future__ import annotations

import argparse
import html
import io
import sys
import zipfile
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path

HERE = Path(__file__).parent
TEXTS = HERE / "texts"

OFFICE = ("甘孜藏族自治州人民政府", "shouwen@gzz.gov.cn")
RELAY = ("四川省电子公文交换中心", "exchange@sc.gov.cn")
FAX_GATEWAY = ("Fax Gateway", "fax-gateway@gzz.gov.cn")
COVER = "请查收附件。"

#: characters per line on a GB/T 9704 page (28 at 三号); PDF lines wrap there
PDF_LINE = 28
PDF_LINES_PER_PAGE = 30
ZIP_TIME = (2020, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Source:
    id: str
    meta: dict[str, str]
    body: str

    @property
    def lines(self) -> list[str]:
        return self.body.split("\n")


def read_source(path: Path) -> Source:
    raw = path.read_text(encoding="utf-8")
    head, sep, body = raw.partition("\n---\n")
    if not sep:
        raise ValueError(f"{path.name}: no '---' line after the front matter")
    meta: dict[str, str] = {}
    for line in head.splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"{path.name}: front matter line without ':': {line!r}")
        meta[key.strip()] = value.strip()
    return Source(meta["id"], meta, body.rstrip("\n"))


def cells(line: str) -> list[str] | None:
    """The cells of a table row line, or None for an ordinary line."""
    if not line.startswith("| "):
        return None
    return [c.strip() for c in line[2:].split(" | ")]


# ---------------------------------------------------------------- documents


def make_pdf(lines: list[str]) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, invariant=1)
    c.setFont("STSong-Light", 14)
    y = 780.0
    row = 0

    def next_line() -> None:
        nonlocal y, row
        row += 1
        y -= 24
        if row >= PDF_LINES_PER_PAGE:
            c.showPage()
            c.setFont("STSong-Light", 14)
            y, row = 780.0, 0

    for line in lines:
        row_cells = cells(line)
        if row_cells is not None:
            width = 480 / len(row_cells)
            for k, cell in enumerate(row_cells):
                c.drawString(60 + k * width, y, cell)
            next_line()
            continue
        # a line is laid out in 28-character rows, as on the printed page
        chunks = [line[i : i + PDF_LINE] for i in range(0, len(line), PDF_LINE)] or [""]
        for chunk in chunks:
            c.drawString(60, y, chunk)
            next_line()
    c.showPage()
    c.save()
    return out.getvalue()


def make_docx(lines: list[str]) -> bytes:
    import docx

    document = docx.Document()
    table_rows: list[list[str]] = []

    def flush() -> None:
        if not table_rows:
            return
        width = max(len(r) for r in table_rows)
        table = document.add_table(rows=len(table_rows), cols=width)
        for r, row_cells in enumerate(table_rows):
            for k, text in enumerate(row_cells):
                table.cell(r, k).text = text
        table_rows.clear()

    for line in lines:
        row_cells = cells(line)
        if row_cells is not None:
            table_rows.append(row_cells)
            continue
        flush()
        document.add_paragraph(line)
    flush()
    out = io.BytesIO()
    document.save(out)
    return fixed_zip_times(out.getvalue())


def fixed_zip_times(data: bytes) -> bytes:
    """The same ZIP with every entry dated ZIP_TIME (python-docx stamps the clock)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(
        out, "w", zipfile.ZIP_DEFLATED
    ) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(fixed, src.read(info.filename))
    return out.getvalue()


def make_html(lines: list[str]) -> str:
    parts: list[str] = []
    table: list[str] = []

    def flush() -> None:
        if table:
            parts.append("<table>" + "".join(table) + "</table>")
            table.clear()

    for line in lines:
        row_cells = cells(line)
        if row_cells is not None:
            table.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row_cells)
                         + "</tr>")
            continue
        flush()
        parts.append(f"<p>{html.escape(line)}</p>" if line.strip() else "<p>&nbsp;</p>")
    flush()
    return ('<html><head><meta charset="utf-8"></head><body>\n' + "\n".join(parts)
            + "\n</body></html>\n")


def plain(lines: list[str]) -> str:
    return "\r\n".join("\t".join(c) if (c := cells(line)) is not None else line
                       for line in lines) + "\r\n"


# ---------------------------------------------------------------- envelope


def envelope(src: Source) -> tuple[tuple[str, str], str]:
    route = src.meta["route"]
    if route == "relay":
        return RELAY, src.meta.get("subject", "")
    if route == "fax":
        pages = src.meta.get("pages", "1")
        return FAX_GATEWAY, f"Fax from {src.meta['remote']} ({pages} pages)"
    if route == "direct":
        name, _, addr = src.meta["from"].rpartition("<")
        return (name.strip(), addr.rstrip(">").strip()), src.meta.get("subject", "")
    raise ValueError(f"{src.id}: unknown route {route!r}")


def build(src: Source) -> bytes:
    fmt = src.meta["format"]
    sender, subject = envelope(src)
    lines = src.lines
    if fmt in ("pdf", "docx"):
        msg: MIMEMultipart | MIMENonMultipart = MIMEMultipart(
            "mixed", boundary=f"==real-{src.id}=="
        )
        cover = "Received fax." if src.meta["route"] == "fax" else COVER
        msg.attach(MIMEText(cover, "plain", "utf-8"))
        if fmt == "pdf":
            part = MIMEApplication(make_pdf(lines), "pdf")
            default_name = "fax.pdf" if src.meta["route"] == "fax" else f"{src.id}.pdf"
        else:
            part = MIMEApplication(
                make_docx(lines), "vnd.openxmlformats-officedocument.wordprocessingml.document"
            )
            default_name = f"{src.id}.docx"
        name = src.meta.get("filename") or default_name
        part.add_header("Content-Disposition", "attachment", filename=("utf-8", "", name))
        msg.attach(part)
    elif fmt == "html":
        msg = MIMEText(make_html(lines), "html", "utf-8")
    elif fmt in ("gbk", "gb18030", "utf8", "html-raw"):
        charset = {"utf8": "utf-8", "html-raw": "utf-8"}.get(fmt, fmt)
        msg = MIMEText(plain(lines), "plain", charset)
    else:
        raise ValueError(f"{src.id}: unknown format {fmt!r}")
    msg["From"] = formataddr((str(Header(sender[0], "utf-8")), sender[1]))
    msg["To"] = formataddr((str(Header(OFFICE[0], "utf-8")), OFFICE[1]))
    msg["Date"] = format_datetime(datetime.fromisoformat(src.meta["date"]))
    domain = sender[1].rpartition("@")[2]
    msg["Message-ID"] = f"<real-{src.id}@{domain}>"
    msg["Subject"] = Header(subject, "utf-8").encode() if subject else ""
    if src.meta["route"] == "fax":
        msg["X-Fax-Remote-ID"] = src.meta["remote"]
        msg["X-Fax-Pages"] = src.meta.get("pages", "1")
    return msg.as_bytes()


def sources() -> list[Source]:
    return [read_source(p) for p in sorted(TEXTS.glob("*.txt"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="compare with the committed .eml files instead of writing")
    args = parser.parse_args(argv)
    differ = []
    for src in sources():
        data = build(src)
        path = HERE / f"{src.id}.eml"
        if args.check:
            if not path.exists() or path.read_bytes() != data:
                differ.append(path.name)
        else:
            path.write_bytes(data)
    if differ:
        print("differ from their texts:", " ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
