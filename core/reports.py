"""Render report tables to bytes: a PNG bar chart (matplotlib, Agg) and an XLSX workbook.

No file output: callers store or send the bytes. A CJK font is used when one is
installed (Noto Sans CJK, WenQuanYi, Source Han…); without one the chart still renders,
Chinese glyphs then show as boxes.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

#: font families tried in order for Chinese labels
CJK_FAMILIES = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei", "Microsoft YaHei", "PingFang SC",
    "Heiti SC", "AR PL UMing CN",
)
#: where Debian puts the usual CJK fonts (fonts-noto-cjk, fonts-wqy-zenhei, -microhei)
_FONT_FILES = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


@cache
def cjk_font() -> str | None:
    """The family name of an installed CJK font, or None."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    # installed after matplotlib built its font cache: register the file directly
    for path in _FONT_FILES:
        if Path(path).is_file():
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
            added = {f.name for f in font_manager.fontManager.ttflist} - names
            for family in CJK_FAMILIES:
                if family in added:
                    return family
    return None


@contextmanager
def _quiet_fonts() -> Iterator[None]:
    """findfont logs a warning per text when a font lacks the "normal" weight (WenQuanYi
    is "medium"); the nearest weight is what we want, so hush it while rendering."""
    logger = logging.getLogger("matplotlib.font_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def bar_chart_png(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    ylabel: str = "件数",
) -> bytes:
    """A grouped bar chart as PNG bytes: one group per category, one bar per series."""
    from matplotlib import rc_context
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    family = cjk_font()
    fonts = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    n = max(len(series), 1)
    width = 0.8 / n
    with rc_context({"font.family": "sans-serif", "font.sans-serif": fonts,
                     "axes.unicode_minus": False}), warnings.catch_warnings(), _quiet_fonts():
        # without a CJK font matplotlib warns once per missing glyph; boxes are acceptable
        warnings.simplefilter("ignore", UserWarning)
        fig = Figure(figsize=(max(6.0, 1.2 * len(categories) + 2), 4.5), dpi=100)
        ax = fig.subplots()
        xs = list(range(len(categories)))
        for i, (name, values) in enumerate(series):
            offset = (i - (n - 1) / 2) * width
            bars = ax.bar([x + offset for x in xs], list(values), width, label=name)
            ax.bar_label(bars, fontsize=8)
        ax.set_xticks(xs, list(categories))
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        if series:
            ax.legend(fontsize=8)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    return buf.getvalue()


def table_xlsx(
    sheet: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    title: str | None = None,
) -> bytes:
    """One sheet with an optional title line, bold headers and the rows, as XLSX bytes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet[:31]
    if title:
        ws.append([title])
        ws["A1"].font = Font(bold=True, size=13)
    ws.append(list(headers))
    header_row = ws.max_row
    for cell in ws[header_row]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(list(row))
    ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    for i, h in enumerate(headers, start=1):
        ws.column_dimensions[ws.cell(row=header_row, column=i).column_letter].width = max(
            10, 2 * len(str(h)) + 4
        )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
