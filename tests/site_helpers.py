"""A seeded registry for the catalogue's tests and benchmark, through the real services."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from core.services import disclosure, dispatch, site
from core.services.context import Context
from tests.conftest import FrozenClock
from tests.data.reading.builders import make_pdf

FLOOD = "关于做好2026年防汛抗旱工作的通知"
BRIEF = "全州政务公开工作简报第3期"
PLAN = "州政府办公室2026年工作计划"
SECRET_TITLE = "关于边境维稳部署的通知"
WITHHELD_TITLE = "关于某企业商业秘密事项的函"
VOID_TITLE = "关于召开作废会议的通知"


@dataclass
class Seeded:
    flood: str  # 文号 of the published items
    brief: str
    plan: str
    withheld: str
    secret: str
    void: str


async def take(ctx: Context, title: str, column: str | None, *, code: str = "甘府发",
               written: date = date(2026, 3, 2), **kw: str) -> str:
    attrs: dict[str, str] = ({"disclosure": "主动公开", "carrier": "政府网站",
                              "column": column} if column else {})
    attrs.update(kw)
    t = await dispatch.take(ctx, code=code, title=title, section="机要室", written_on=written,
                            drafting_section="综合科", **attrs)
    return t.number


async def publish(ctx: Context, number: str, on: date, *, file: bool = False,
                  topic: str | None = None) -> None:
    await disclosure.review_secrecy(ctx, number=number, reviewer="李审", result="通过", on=on)
    pdf = None
    if file:
        pdf = ("防汛通知.pdf", make_pdf(["甘孜藏族自治州人民政府文件", FLOOD,
                                         "各县（市）人民政府，州级各部门：",
                                         "为切实做好今年防汛抗旱工作，现将有关事项通知如下。"]))
    await site.publish(ctx, number=number, url=f"https://www.gzz.gov.cn/{number}.html", on=on,
                       file=pdf, topic=topic)


async def seed(ctx: Context, clock: FrozenClock) -> Seeded:
    """Three published items under three 栏目, and one each 不予公开, 秘密 and voided."""
    clock.now = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    flood = await take(ctx, FLOOD, "政策法规/规范性文件")
    brief = await take(ctx, BRIEF, "业务工作/工作简报", code="甘办函")
    plan = await take(ctx, PLAN, "业务工作/工作计划", code="甘办函")
    withheld = await take(ctx, WITHHELD_TITLE, None, disclosure="不予公开",
                          reason="国家秘密")
    secret = await take(ctx, SECRET_TITLE, None, disclosure="不予公开", reason="国家秘密",
                        secrecy="秘密")
    void = await take(ctx, VOID_TITLE, "业务工作/工作计划", code="甘办函")
    clock.now = datetime(2026, 3, 10, 2, 0, tzinfo=UTC)
    await publish(ctx, flood, date(2026, 3, 5), file=True, topic="农业、林业、水利")
    await publish(ctx, brief, date(2026, 3, 6))
    await publish(ctx, plan, date(2026, 3, 9))
    await publish(ctx, void, date(2026, 3, 9))
    await dispatch.void(ctx, number=void, section="机要室", reason="重复发文")
    return Seeded(flood, brief, plan, withheld, secret, void)
