"""`jiyao export`: the 收文登记簿 (and, with --register dispatch, the 发文登记簿)."""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import InvalidInputError
from core.files import open_private, private_dir


def write_table(
    rows: list[dict[str, Any]],
    headers: Sequence[tuple[str, str]],
    fmt: str,
    out: Path,
    *,
    sheet: str,
) -> None:
    """Write rows with Chinese headers as CSV (UTF-8 with BOM, opens in Excel) or XLSX."""
    private_dir(out.parent)
    if fmt == "csv":
        with open_private(out, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([h for _, h in headers])
            for row in rows:
                w.writerow(["" if row.get(k) is None else row.get(k) for k, _ in headers])
        return
    if fmt != "xlsx":
        raise InvalidInputError(f"未知格式 {fmt!r}，应为 xlsx 或 csv")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append([h for _, h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(["" if row.get(k) is None else row.get(k) for k, _ in headers])
    ws.freeze_panes = "A2"
    set_print_layout(ws, header_row=1)
    with open_private(out) as fh:
        wb.save(fh)


def _display_width(value: Any) -> int:
    """Columns a value takes in Excel: CJK characters count double."""
    text = "" if value is None else str(value)
    return sum(2 if ord(ch) > 0x2E7F else 1 for ch in text)


def set_print_layout(ws: Any, *, header_row: int) -> None:
    """Print as an office prints a register: landscape A4, fit to one page wide,
    the header row repeated on every page, columns as wide as their contents."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_row}:{header_row}"
    for column in ws.iter_cols(min_row=header_row):
        widest = max((_display_width(c.value) for c in column), default=0)
        ws.column_dimensions[column[0].column_letter].width = min(60, max(6, widest + 2))


FORMATS = ("xlsx", "csv")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from jiyao.commands.common import add_common, year_arg

    p = sub.add_parser(
        "export", help="导出登记簿（默认收文；--register dispatch 为发文，archive 为归档移交包）")
    add_common(p, json_flag=False)
    p.add_argument("--register", default="incoming",
                   help="incoming（收文）、dispatch（发文）或 archive（归档移交，--out 为目录）")
    p.add_argument("--year", type=year_arg, required=True)
    p.add_argument("--format", choices=FORMATS,
                   help="xlsx 或 csv（默认按 --out 的扩展名，否则 xlsx）")
    p.add_argument("--out", help="输出文件或目录（默认 <登记簿>-<年>.<格式>）")
    p.add_argument("--replace", action="store_true",
                   help="归档：替换该年度已导出的归档包（默认拒绝覆盖）")
    p.set_defaults(func=cmd_export)


def export_format(given: str | None, out: str | None) -> str:
    """--format, else the extension of --out, else xlsx; a contradiction is an error."""
    suffix = Path(out).suffix.lower().lstrip(".") if out else ""
    if given and suffix in FORMATS and suffix != given:
        raise InvalidInputError(f"--out 的扩展名 .{suffix} 与 --format {given} 不符")
    return given or (suffix if suffix in FORMATS else "xlsx")


def cmd_export(args: argparse.Namespace) -> int:
    from jiyao.commands import dispatch, registers
    from jiyao.commands.common import output_path, write_failed
    from jiyao.commands.runner import with_context

    if args.register == "archive":  # a folder per 件, not a table: its own module
        from jiyao.commands.archive import cmd_archive

        return cmd_archive(args)
    # register name → (rows(ctx, year), write(rows, fmt, out))
    exporters: dict[str, Any] = {
        "incoming": (registers.export_incoming, registers.write_incoming),
        "dispatch": (dispatch.export_dispatch, dispatch.write_dispatch),
    }
    if args.register not in exporters:
        raise InvalidInputError(
            f"未知登记簿 {args.register!r}，可选：{'、'.join([*exporters, 'archive'])}")
    fmt = export_format(args.format, args.out)
    out = output_path(args.out, f"{args.register}-{args.year}.{fmt}")
    rows_fn, write = exporters[args.register]
    rows = with_context(args, lambda ctx: rows_fn(ctx, args.year))
    try:
        write(rows, fmt, out)
    except OSError as exc:
        raise write_failed(out, exc) from exc
    print(f"已导出 {len(rows)} 条到 {out}")
    return 0
