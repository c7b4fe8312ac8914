"""Input limits hold in the services, whichever door (CLI, chat) the input came through."""

from __future__ import annotations

import pytest

from core.copies import count_copies
from core.errors import InvalidInputError
from core.limits import MAX_COUNT, MAX_FIELD, MAX_INSTRUCTION, MAX_KEYWORD
from core.model import Kind
from core.services import dispatch, instructions, registry, subscriptions
from core.services.context import Context

LONG = "长" * (MAX_FIELD + 1)


@pytest.mark.parametrize("field", ["title", "sender", "doc_number"])
async def test_paper_item_with_an_overlong_field_is_refused(ctx: Context, field: str) -> None:
    kw = {"title": "关于某事的通知", "sender": "丹巴县人民政府", "doc_number": "丹府发〔2026〕1号"}
    kw[field] = LONG
    with pytest.raises(InvalidInputError) as err:
        await registry.register_paper(ctx, kind=Kind.YUE, **kw)
    assert err.value.field == field
    assert f"最多 {MAX_FIELD} 字" in str(err.value)


async def test_paper_item_at_the_limit_is_kept_whole(ctx: Context) -> None:
    r = await registry.register_paper(ctx, kind=Kind.YUE, sender=" 丹巴县人民政府 ",
                                      title="长" * MAX_FIELD)
    assert r.number


async def test_take_with_an_overlong_title_is_refused(ctx: Context) -> None:
    code = ctx.settings.dispatch_code[0]
    with pytest.raises(InvalidInputError) as err:
        await dispatch.take(ctx, code=code.code, title=LONG, section=code.numbered_by)
    assert err.value.field == "title"


def test_copies_beyond_the_count_limit_are_refused(ctx: Context) -> None:
    lists = ctx.settings.distribution
    with pytest.raises(InvalidInputError) as err:
        count_copies(lists, [lists[0].name], extra=MAX_COUNT + 1)
    assert err.value.field == "extra"


async def test_overlong_instruction_and_keyword_are_refused(ctx: Context) -> None:
    leader = ctx.settings.leader[0]
    with pytest.raises(InvalidInputError):
        await instructions.instruct(ctx, item_id=1, chat_id=leader.chat_id,
                                    text="批" * (MAX_INSTRUCTION + 1))
    with pytest.raises(InvalidInputError):
        await subscriptions.subscribe(ctx, chat_id=leader.chat_id,
                                      keyword="词" * (MAX_KEYWORD + 1))
