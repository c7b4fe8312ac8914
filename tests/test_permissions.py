"""Who may do what is decided in core: the bot only translates the refusals."""

from __future__ import annotations

import pytest

from core.errors import PermissionDeniedError
from core.model import Kind
from core.permissions import Can, principal_for
from core.services import access, instructions, registry
from core.services.context import Context
from core.visibility import Viewer


async def _item(ctx: Context) -> int:
    r = await registry.register_paper(ctx, kind=Kind.BAN, sender="丹巴县人民政府", title="请示")
    return r.id


async def _unrouted_leader(ctx: Context, item_id: int) -> int:
    """A leader the item was not pushed to (分工 sends it to some leaders only)."""
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT target FROM outbox WHERE event = 'push' AND item_id = ?",
                                (item_id,))
    pushed = {int(row["target"]) for row in rows}
    assert pushed
    return next(x.chat_id for x in ctx.settings.leader if x.chat_id not in pushed)


async def test_only_a_leader_may_instruct(ctx: Context) -> None:
    item_id = await _item(ctx)
    clerk = next(s for s in ctx.settings.staff
                 if not any(x.chat_id == s.chat_id for x in ctx.settings.leader))
    with pytest.raises(PermissionDeniedError, match="只有领导可以批示"):
        await instructions.require_instructor(ctx, item_id, clerk.chat_id)
    with pytest.raises(PermissionDeniedError, match="只有领导可以批示"):
        await instructions.instruct(ctx, item_id=item_id, chat_id=clerk.chat_id, text="同意")


async def test_a_leader_may_not_instruct_an_item_not_routed_to_them(ctx: Context) -> None:
    item_id = await _item(ctx)
    with pytest.raises(PermissionDeniedError, match="未送您阅批"):
        await instructions.require_instructor(ctx, item_id, await _unrouted_leader(ctx, item_id))


async def test_registry_staff_see_every_item_and_leaders_only_theirs(ctx: Context) -> None:
    item_id = await _item(ctx)
    registrar = next(s for s in ctx.settings.staff if "registrar" in s.roles)
    staff = principal_for(ctx.settings, registrar.chat_id)
    assert staff is not None
    assert staff.can(Can.REVIEW)
    assert await access.viewer_of(ctx, item_id, staff) is Viewer.STAFF
    leader = principal_for(ctx.settings, await _unrouted_leader(ctx, item_id))
    assert leader is not None
    with pytest.raises(PermissionDeniedError):
        await access.viewer_of(ctx, item_id, leader)


async def test_a_leader_the_item_was_pushed_to_may_instruct_it(ctx: Context) -> None:
    item_id = await _item(ctx)
    async with ctx.db.reader() as r:
        rows = await r.fetchall("SELECT target FROM outbox WHERE event = 'push' AND item_id = ?",
                                (item_id,))
    pushed = {int(row["target"]) for row in rows}
    leader = next(x for x in ctx.settings.leader if x.chat_id in pushed)
    await instructions.require_instructor(ctx, item_id, leader.chat_id)
    done = await instructions.instruct(ctx, item_id=item_id, chat_id=leader.chat_id, text="同意")
    assert done.leader == leader.name
