"""Who is who in the office's chats: leaders, staff and duty by chat id (config)."""

from __future__ import annotations

from core.config import Leader, Settings


def leader_by_chat(settings: Settings, chat_id: int) -> Leader | None:
    return next((x for x in settings.leader if x.chat_id == chat_id), None)


def chat_name(settings: Settings, chat_id: int) -> str:
    """A person's name for records and notices: leader, staff, duty, else the chat id."""
    for leader in settings.leader:
        if leader.chat_id == chat_id:
            return leader.name
    for staff in settings.staff:
        if staff.chat_id == chat_id:
            return staff.name
    for duty in settings.duty:
        if duty.chat_id == chat_id:
            return duty.name
    return f"chat:{chat_id}"
