"""份号, 签发人, 主送, 抄送, 成文日期 and 附件说明 of a received item: read from its document,
stored with the item, and shown by `jiyao show`, `jiyao items --json` and the register
export (issue 14 item 4). A message goes through the real SMTP edge and pipeline into a
real database; the commands run as staff run them."""

from __future__ import annotations

import csv
import json
from email.message import EmailMessage
from pathlib import Path

import aiosmtplib

from core.services.context import Context
from tests.conftest import run_cli
from tests.intake_helpers import OFFICE, ServedIntake, wait_decided

QINGSHI = """000042
秘密★1年
康定市人民政府文件
康府〔2026〕15号　　　　签发人：王明
康定市人民政府关于申请城区供水管网改造补助资金的请示
甘孜藏族自治州人民政府：
我市城区供水管网建成于上世纪九十年代，漏损率高。
恳请州人民政府给予补助资金1600万元。
妥否，请批示。
附件：1.城区供水管网改造工程概算表
2.项目可行性研究报告
康定市人民政府
2026年2月27日
（联系人：李华，电话：0836-2822001）
抄送：州发展改革委，州财政局。
康定市人民政府办公室　　2026年2月28日印发
"""

EXPECTED = {
    "copy_no": "000042",
    "signer": "王明",
    "addressees": "甘孜藏族自治州人民政府",
    "cc": "州发展改革委，州财政局",
    "written_on": "2026-02-27",
    "attachment_note": "1.城区供水管网改造工程概算表\n2.项目可行性研究报告",
}


def _message() -> bytes:
    m = EmailMessage()
    m["From"] = "康定市人民政府 <bgs@kangding.gov.cn>"
    m["To"] = OFFICE
    m["Subject"] = "康府〔2026〕15号 康定市人民政府关于申请城区供水管网改造补助资金的请示"
    m["Message-ID"] = "<elements-1@kangding.gov.cn>"
    m.set_content(QINGSHI)
    return bytes(m)


async def test_elements_are_stored_and_shown(ctx: Context, tmp_path: Path) -> None:
    daemon = ServedIntake(ctx)
    await daemon.start()
    try:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=daemon.port, start_tls=False)
        await client.connect()
        await client.sendmail("mta@relay.example", [OFFICE], _message())
        await client.quit()
        await wait_decided(ctx)
    finally:
        await daemon.stop()
    data_dir = ctx.settings.storage.data_dir

    listed = run_cli("items", "--json", data_dir=data_dir, check=True).stdout
    (row,) = [json.loads(line) for line in listed.splitlines() if line.strip()]
    assert (row["outcome"], row["kind"]) == ("register", "办件")
    assert {k: row[k] for k in EXPECTED} == EXPECTED

    shown = json.loads(run_cli("show", str(row["id"]), "--json", data_dir=data_dir,
                               check=True).stdout)
    assert {k: shown[k] for k in EXPECTED} == EXPECTED
    text = run_cli("show", str(row["id"]), data_dir=data_dir, check=True).stdout
    for line in ("份号：000042", "签发人：王明", "主送：甘孜藏族自治州人民政府",
                 "抄送：州发展改革委，州财政局", "成文日期：2026-02-27",
                 "附件说明：1.城区供水管网改造工程概算表"):
        assert line in text, text

    out = tmp_path / "register.csv"
    run_cli("export", "--year", "2026", "--out", str(out), data_dir=data_dir, check=True)
    with out.open(encoding="utf-8-sig", newline="") as fh:
        (entry,) = list(csv.DictReader(fh))
    assert {k: entry[label] for k, label in (
        ("copy_no", "份号"), ("signer", "签发人"), ("addressees", "主送"), ("cc", "抄送"),
        ("written_on", "成文日期"), ("attachment_note", "附件说明"),
    )} == EXPECTED
