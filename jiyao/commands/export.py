"""`jiyao export`: the 收文登记簿 (and, with --register dispatch, the 发文登记簿) as printed
books (xlsx, pdf: core.books) or a flat csv list."""

from __future__ import annotations

import argparse
import asyncio
import csv
from collections.abc import Awaitable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import InvalidInputError
from core.files import atomic_file

if TYPE_CHECKING:
    from core.books import Book


def write_table(
    rows: list[dict[str, Any]],
    headers: Sequence[tuple[str, str]],
    fmt: str,
    out: Path,
    *,
    sheet: str,
) -> None:
    """Write rows with Chinese headers as CSV (UTF-8 with BOM, opens in Excel) or XLSX (one
    sheet laid out for print as core.books.xlsx lays out a register), whole or not at all
    (`atomic_file`)."""
    if fmt == "csv":
        with atomic_file(out, "w", encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow([h for _, h in headers])
            for row in rows:
                w.writerow(["" if row.get(k) is None else row.get(k) for k, _ in headers])
        return
    if fmt != "xlsx":
        raise InvalidInputError(f"未知格式 {fmt!r}，应为 xlsx 或 csv")
    from core.books import Book, Column, Sheet, xlsx

    columns = [Column(h, 40) for _, h in headers]
    cells = [["" if row.get(k) is None else str(row.get(k)) for k, _ in headers] for row in rows]
    data = xlsx.render(Book(sheet, [Sheet(sheet, sheet, columns, cells)]))
    with atomic_file(out) as fh:
        fh.write(data)


FORMATS = ("xlsx", "pdf", "csv")
#: formats written from the printed book (core.books) rather than flat rows
BOOK_FORMATS = ("xlsx", "pdf")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from jiyao.commands.common import add_common, year_arg

    p = sub.add_parser(
        "export", help="导出登记簿（默认收文；--register dispatch 为发文，archive 为归档移交包；"
                       "xlsx、pdf 或 csv）")
    add_common(p, json_flag=False)
    p.add_argument("--register", default="incoming",
                   help="incoming（收文）、dispatch（发文）或 archive（归档移交，--out 为目录）")
    p.add_argument("--year", type=year_arg, required=True)
    p.add_argument("--format", choices=FORMATS,
                   help="xlsx、pdf（打印用）或 csv（默认按 --out 的扩展名，否则 xlsx）")
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
    if fmt in BOOK_FORMATS and args.register in BOOKS:
        return _export_book(args, fmt, out)
    if fmt not in ("xlsx", "csv"):
        raise InvalidInputError(f"登记簿 {args.register} 不能导出为 {fmt}")
    rows_fn, write = exporters[args.register]
    rows = with_context(args, lambda ctx: rows_fn(ctx, args.year))
    try:
        write(rows, fmt, out)
    except OSError as exc:
        raise write_failed(out, exc) from exc
    print(f"已导出 {len(rows)} 条到 {out}")
    return 0


#: registers printed as books (one sheet per register, title line, print layout)
BOOKS = ("incoming", "dispatch")


def _export_book(args: argparse.Namespace, fmt: str, out: Path) -> int:
    from core.books import pdf
    from core.services import books
    from jiyao.commands.common import write_failed
    from jiyao.commands.runner import with_context

    try:
        if fmt == "xlsx":  # written as the rows are read (the 收文登记簿 streamed)
            stream = books.incoming_streamed if args.register == "incoming" else books.outgoing
            book = with_context(args, lambda ctx: _write_xlsx(stream(ctx, args.year), out))
        else:  # the pdf lays each table out whole: its rows are read whole
            build = books.incoming if args.register == "incoming" else books.outgoing
            book = with_context(args, lambda ctx: build(ctx, args.year))
            data = pdf.render(book)
            with atomic_file(out) as fh:
                fh.write(data)
    except OSError as exc:
        raise write_failed(out, exc) from exc
    sheets = "、".join(f"{s.name} {len(s.rows)}" for s in book.sheets)
    print(f"已导出 {book.row_count} 条到 {out}（{sheets}）")
    return 0


async def _write_xlsx(building: Awaitable[Book], out: Path) -> Book:
    """The book written as xlsx to `out` off the event loop: its streamed sheets read their
    pages on the loop while the writer runs (core.services.books.Streamed)."""
    from core.books import xlsx

    book = await building

    def write() -> None:
        with atomic_file(out) as fh:
            xlsx.write(book, fh)

    await asyncio.to_thread(write)
    return book
