"""Documents as other producers lay them out decide as DOMAIN.md says (core.reading.decide)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from core.config import load_settings
from core.directory import Directory
from core.reading.decide import Decision, decide
from tests.conftest import EXAMPLE
from tests.data.reading.builders import envelope, make_laid_out_pdf

PROVINCE = "四川省人民政府办公厅 <wenshu@sc.gov.cn>"


@pytest.fixture(scope="module")
def directory() -> Directory:
    return Directory.from_settings(load_settings(EXAMPLE))


def _with_pdf(msg: EmailMessage, pdf: bytes, name: str = "公文.pdf") -> bytes:
    msg.set_content("请查收附件。")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return msg.as_bytes()


def _decide(directory: Directory, pdf: bytes, subject: str = "公文") -> Decision:
    return decide(_with_pdf(envelope(subject, sender=PROVINCE), pdf), directory)


def test_letter_spaced_masthead_and_title(directory: Directory) -> None:
    """A 版头 and a two-line title drawn glyph by glyph with wide spacing read as printed."""
    title = ("四川省人民政府办公厅关于做好", "森林草原防灭火工作的通知")
    pdf = make_laid_out_pdf(
        [[
            "四川省人民政府办公厅文件",
            "川办发〔2024〕21号",
            *title,
            "各市（州）人民政府：",
            "请于2024年6月30日前报送工作开展情况。",
            "四川省人民政府办公厅",
            "2024年5月20日",
        ]],
        spaced=("四川省人民政府办公厅文件", *title),
    )
    d = _decide(directory, pdf)
    assert d.title == "".join(title)
    assert (d.doc_number, d.doc_type) == ("川办发〔2024〕21号", "通知")
    assert d.sender == "四川省人民政府办公厅"
    assert (d.outcome.value, d.kind.value if d.kind else None) == ("register", "办件")


def test_page_number_inside_a_sentence(directory: Directory) -> None:
    """A request running over a page break is read whole: the `— 1 —` page number between
    its halves is page furniture, not text."""
    pdf = make_laid_out_pdf(
        [
            [
                "四川省人民政府办公厅",
                "川办函〔2024〕55号",
                "四川省人民政府办公厅关于做好防汛工作的通知",
                "各市（州）人民政府：",
                "近期我省降雨偏多。为做好防汛工作，请于2024年",
            ],
            [
                "7月15日前将隐患排查情况报送省政府办公厅。",
                "四川省人民政府办公厅",
                "2024年6月20日",
            ],
        ],
        page_numbers=True,
    )
    d = _decide(directory, pdf)
    assert "— 1 —" not in d.text
    assert d.fields is not None
    assert d.fields.deadline is not None
    assert str(d.fields.deadline.value) == "2024-07-15"
    assert (d.kind.value if d.kind else None, d.rule) == ("办件", "deadline")
