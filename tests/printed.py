"""What every printed register (登记簿, 归档文件目录) must hold in its xlsx: core.books.xlsx's
page set-up, checked once."""

from __future__ import annotations

from typing import Any


def assert_printed_as_book(ws: Any) -> None:
    """Landscape A4 fitted one page wide, the title and header rows on every page, the
    header frozen, page numbers in the footer."""
    assert ws.freeze_panes == "A3"
    assert ws.print_title_rows.replace("$", "") == "1:2"
    assert ws.page_setup.orientation == "landscape"
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4)  # A4 is paper size 9
    assert ws.sheet_properties.pageSetUpPr.fitToPage is True
    assert (ws.page_setup.fitToWidth, ws.page_setup.fitToHeight) == (1, 0)
    assert "&P" in ws.oddFooter.center.text
