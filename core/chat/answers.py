"""What the bot answers after a button or a 批示, worded once for every platform."""

from __future__ import annotations

from core.services.circulation import ReadResult
from core.services.instructions import Instructed


def read_answer(result: ReadResult) -> str:
    """After 已阅."""
    if result.already:
        return "此前已记录“已阅”。"
    text = "已记录“已阅”。"
    if result.passed_to:
        text += f"已传给{result.passed_to}。"
    elif result.passed_to == "":
        text += "传阅已完毕。"
    if result.acknowledged:
        text += "已通知值班和机要室。"
    return text


def passed_answer(result: ReadResult) -> str:
    """After 传下一位."""
    return f"已传给{result.passed_to}。" if result.passed_to else "传阅已完毕。"


def prompt_text(label: str, item_id: int, *, by_reply: bool) -> str:
    """Asking for the 批示 after 批示 was pressed."""
    how = "请回复本消息，输入" if by_reply else "请直接发送"
    return f"{how}对 {label} 的批示（原文照录）：\n收件序号 {item_id}"


def instructed_answer(done: Instructed) -> str:
    """After a 批示 was recorded."""
    lines = [f"批示已记录（{done.label}，第{done.seq}条批示）。"]
    if done.converted_from:
        lines.append(f"本件已由阅件 {done.converted_from} 转为办件，办件编号 {done.number}。")
    elif done.number:
        lines.append(f"登记号：{done.number}。")
    lines.append("已转文书处理室按批示办理。")
    return "\n".join(lines)


def accepted_answer(done: Instructed) -> str:
    """After 同意拟办."""
    return f"已同意拟办（第{done.seq}条批示），已通知机要室。"
