"""Write SOURCES.md from the texts' front matter and the labels.

    python -m tests.data.real.sources
"""

from __future__ import annotations

import json

from tests.data.real.build import HERE, sources

FORMATS = {
    "pdf": "PDF attachment (reportlab, STSong-Light, text layer; lines wrapped at 28 characters)",
    "docx": "DOCX attachment (python-docx; table rows as a Word table)",
    "html": "HTML body (UTF-8; table rows as an HTML table)",
    "html-raw": "plain UTF-8 body holding the page's HTML markup as text",
    "gbk": "plain body in GBK",
    "gb18030": "plain body in GB18030",
    "utf8": "plain body in UTF-8",
}
#: issuers outside the directory (their labels' sender is null)
OUTSIDE = {
    "u01": "甘南藏族自治州人民政府", "u02": "九寨沟县人民政府办公室",
    "u03": "石柱土家族自治县人民政府办公室", "u04": "阿里地区行政公署",
    "u05": "牟定县人民政府办公室", "u06": "广元市发展和改革委员会", "u07": "福建省人民政府",
    "u08": "贵州省人民政府", "u09": "遂宁市人民政府防汛抗旱指挥部办公室",
    "u10": "太湖县人民政府", "u11": "清远市人民政府", "u12": "兖州市人民政府办公室",
    "u13": "东阳市人民政府办公室", "u14": "山西省人民政府", "u15": "最高人民法院司法行政厅",
    "u16": "福建省人民政府", "u17": "广东省人民政府办公厅", "u18": "中国地震局",
}
HEAD = """\
# Sources of the real corpus

Every text in `texts/` is a published document copied as found (line breaks, spacing,
typos and garbles of the copy kept; what follows the notice — the 预案, 规则, 办法 it
prints — and the web page's banners are left out, as each line says). `build.py` adds
only the envelope: the route, the format and the headers below. Where the copy shows
the web page's metadata block (索引号, 发文字号…) above the document, it is kept as a
table, the way a copy saved from that page arrives. `g*` texts come from gov.cn pages
whose content a public crawl committed to GitHub (ZhouYNF/platform-1); the gov.cn
address is given.

Envelopes: **relay** = From 四川省电子公文交换中心 <exchange@sc.gov.cn>, Subject as
given (usually 字号 + title); **direct** = From the address shown; **fax** = From
fax-gateway@gzz.gov.cn, Subject `Fax from <id> (N pages)`, `X-Fax-Remote-ID`, the
document as a PDF with a text layer. All are To 甘孜藏族自治州人民政府
<shouwen@gzz.gov.cn>, dated as the front matter says. This file is written by
`python -m tests.data.real.sources`.

| file | document | issuing organ | source | envelope |
| --- | --- | --- | --- | --- |
"""


def main() -> int:
    lines = (HERE / "labels.jsonl").read_text(encoding="utf-8").splitlines()
    labels = {row["file"]: row for row in map(json.loads, filter(str.strip, lines))}
    rows = []
    for src in sources():
        meta, label = src.meta, labels[f"{src.id}.eml"]
        title = label["title"] or meta.get("subject") or "(no title in the copy)"
        number = label["doc_number"] or "no 字号 in the copy"
        organ = label["sender"] or f"{OUTSIDE.get(src.id, '?')} (not in the directory)"
        route = meta["route"]
        envelope = {"relay": "relay", "fax": f"fax, remote id {meta.get('remote')}"}.get(
            route, f"direct from {meta.get('from')}")
        envelope += f"; {FORMATS[meta['format']]}"
        if meta.get("filename"):
            envelope += f", named `{meta['filename']}`"
        envelope += f"; Date {meta['date']}"
        if meta.get("subject") and route != "fax":
            envelope += f"; Subject `{meta['subject']}`"
        if meta.get("layout"):
            envelope += f"; layout: {meta['layout']}"
        rows.append(f"| {src.id}.eml | {title} ({number}) | {organ} | {meta['source']} "
                    f"| {envelope} |")
    (HERE / "SOURCES.md").write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
