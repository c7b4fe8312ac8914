"""Use cases of outgoing documents (发件, DOMAIN §5): take and void numbers, record the
disclosure attributes (seed part 3), list the 发文登记簿, count print copies.

Every use case takes the acting section (`section`) and person (`actor`): the command
line passes 机要室 by default, the bot passes the section of the staff member writing
(`section_for_chat`). Only a code's owner takes its numbers; the owner or the 机要室
(which keeps the 发文登记簿) may void a number or complete its attributes.

A number may be taken before the disclosure attributes are decided (the bot's
`/take CODE 标题` carries none): the record is then 待定 and every listing shows what is
missing until `amend` completes it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from core import localtime
from core.config import REGISTRY_OWNER, DispatchCode, Settings, Staff
from core.config import Disclosure as DisclosureConfig
from core.copies import CopiesRequest, CopyCount, assumption, count_copies, describe
from core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from core.limits import required_text
from core.numbering import format_short, parse_number
from core.registers import check_year, local_year_month, normalize_width
from core.services import handling
from core.services.context import Context
from core.services.registry import year_asked
from core.storage import audit
from core.storage import dispatch as repo
from core.storage.db import Reader, Row, UnitOfWork

ACTIVE = "主动公开"
ON_REQUEST = "依申请公开"
WITHHELD = "不予公开"
DISCLOSURE_CHOICES = (ACTIVE, ON_REQUEST, WITHHELD)
#: shown where the disclosure attributes have not been decided yet
PENDING = "待定"
#: 密级 of an outgoing document (GB/T 9704); `amend --secrecy 非密` clears it (解密)
SECRECY_LEVELS = ("秘密", "机密", "绝密")
UNCLASSIFIED = "非密"
STATUS_ZH = {"active": "有效", "void": "作废"}


# ------------------------------------------------------------------ who may do what
def code_entry(settings: Settings, code: str) -> DispatchCode:
    """The configured code, or a Chinese error listing the codes and their owners."""
    wanted = normalize_width(code).strip()
    for entry in settings.dispatch_code:
        if entry.code == wanted:
            return entry
    valid = "、".join(f"{d.code}（{d.numbered_by}）" for d in settings.dispatch_code)
    raise InvalidInputError(
        f"未知发文代字 {code!r}，可用：{valid or '（未配置 [[dispatch_code]]）'}", field="code"
    )


def section_of(staff: Staff) -> str | None:
    """The section a staff member acts for: its `section`, or 机要室 for the dispatch role."""
    if staff.section:
        return staff.section
    if "dispatch" in staff.roles or staff.name == REGISTRY_OWNER:
        return REGISTRY_OWNER
    return None


def section_for_chat(settings: Settings, chat_id: int) -> str | None:
    """The acting section of the staff member with this chat id (None: not staff)."""
    for staff in settings.staff:
        if staff.chat_id == chat_id:
            return section_of(staff)
    return None


def _require_owner(entry: DispatchCode, section: str) -> None:
    if section != entry.numbered_by:
        raise PermissionDeniedError(
            f"{entry.code} 由{entry.numbered_by}编号，{section or '未指明科室'}不能取此字号",
            actor=section,
        )


def _require_keeper(row: Row, section: str) -> None:
    if section not in (row["owner"], REGISTRY_OWNER):
        raise PermissionDeniedError(
            f"{row['number']} 属{row['owner']}，只有{row['owner']}或{REGISTRY_OWNER}能修改",
            actor=section,
        )


# ------------------------------------------------------------ disclosure attributes
@dataclass(frozen=True)
class DisclosureAttrs:
    disclosure: str
    withhold_reason: str | None = None
    carrier: str | None = None
    catalogue_column: str | None = None

    def as_columns(self) -> dict[str, str | None]:
        return {"disclosure": self.disclosure, "withhold_reason": self.withhold_reason,
                "carrier": self.carrier, "catalogue_column": self.catalogue_column}


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def choices(options: Sequence[str]) -> str:
    """Options for an error message; 、 separates them unless a name contains one."""
    sep = "；" if any("、" in o for o in options) else "、"
    return sep.join(options)


def choose_option(value: str, options: Sequence[str], what: str, field_name: str) -> str:
    """An exact option, or the one option containing what was typed."""
    text = normalize_width(value).strip()
    if text in options:
        return text
    hits = [o for o in options if text and text in o]
    if len(hits) == 1:
        return hits[0]
    shown = choices(options)
    raise InvalidInputError(f"未知{what} {value!r}，可选：{shown}", field=field_name)


def resolve_column(cfg: DisclosureConfig, text: str) -> str:
    """`栏目/子栏目`, or a 子栏目 name that occurs once in the catalogue → `栏目/子栏目`."""
    cleaned = normalize_width(text).strip().replace(" ", "")
    valid = choices(cfg.columns())
    if "/" in cleaned:
        top, sub = cleaned.split("/", 1)
        if sub in cfg.catalogue.get(top, []):
            return f"{top}/{sub}"
    else:
        tops = [top for top, subs in cfg.catalogue.items() if cleaned in subs]
        if len(tops) == 1:
            return f"{tops[0]}/{cleaned}"
        if len(tops) > 1:
            both = choices([f"{t}/{cleaned}" for t in tops])
            raise InvalidInputError(f"公开栏目 {text!r} 不唯一，请写明：{both}", field="column")
    raise InvalidInputError(f"未知公开栏目 {text!r}，可选：{valid}", field="column")


def check_disclosure(
    cfg: DisclosureConfig,
    *,
    disclosure: str | None,
    reason: str | None = None,
    carrier: str | None = None,
    column: str | None = None,
) -> DisclosureAttrs | None:
    """Validate the 可否公开 / 公开载体 / 公开栏目 attributes; None when not decided yet.

    主动公开 needs a carrier and (when a catalogue is configured) a column; 依申请公开 may
    name a carrier; 不予公开 needs a legal reason and has neither carrier nor column.
    """
    if _blank(disclosure):
        if not (_blank(reason) and _blank(carrier) and _blank(column)):
            raise InvalidInputError(
                f"给出公开载体、公开栏目或理由时须同时指定公开属性：{choices(DISCLOSURE_CHOICES)}",
                field="disclosure",
            )
        return None
    assert disclosure is not None
    kind = choose_option(disclosure, DISCLOSURE_CHOICES, "公开属性", "disclosure")
    if kind == WITHHELD:
        if _blank(reason):
            raise InvalidInputError(
                f"不予公开须说明理由，可选：{choices(cfg.withhold_reasons)}", field="reason"
            )
        if not (_blank(carrier) and _blank(column)):
            raise InvalidInputError("不予公开的文件不设公开载体和公开栏目", field="carrier")
        assert reason is not None
        return DisclosureAttrs(kind, choose_option(reason, cfg.withhold_reasons, "不予公开理由",
                                             "reason"))
    if not _blank(reason):
        raise InvalidInputError(f"只有不予公开需要理由（此件为{kind}）", field="reason")
    chosen_carrier = None
    if not _blank(carrier):
        assert carrier is not None
        chosen_carrier = choose_option(carrier, cfg.carriers, "公开载体", "carrier")
    if kind == ON_REQUEST:
        if not _blank(column):
            raise InvalidInputError("公开栏目只用于主动公开", field="column")
        return DisclosureAttrs(kind, None, chosen_carrier, None)
    if chosen_carrier is None:
        raise InvalidInputError(
            f"主动公开须指定公开载体，可选：{choices(cfg.carriers)}", field="carrier"
        )
    chosen_column = None
    if cfg.catalogue:
        if _blank(column):
            raise InvalidInputError(
                f"主动公开须指定公开栏目，可选：{choices(cfg.columns())}", field="column"
            )
        assert column is not None
        chosen_column = resolve_column(cfg, column)
    elif not _blank(column):
        assert column is not None
        chosen_column = column.strip()
    return DisclosureAttrs(kind, None, chosen_carrier, chosen_column)


def parse_secrecy(text: str | None) -> str | None:
    """A typed 密级: one of SECRECY_LEVELS, UNCLASSIFIED to clear it, None when not given."""
    if _blank(text):
        return None
    assert text is not None
    return choose_option(text, (*SECRECY_LEVELS, UNCLASSIFIED), "密级", "secrecy")


def check_classified(secrecy: str | None, disclosure: str | None) -> None:
    """A classified document is 不予公开 (条例 Art. 14) or not decided yet, never public."""
    if secrecy in SECRECY_LEVELS and disclosure not in (None, WITHHELD):
        raise InvalidInputError(
            f"涉密文件（{secrecy}）不能{disclosure}（条例第十四条）；"
            f"请同时改为 --disclosure {WITHHELD} --reason 国家秘密",
            field="secrecy",
        )


def parse_date(text: str) -> date:
    """成文日期 typed as YYYY-MM-DD (full-width digits tolerated)."""
    try:
        return date.fromisoformat(normalize_width(text).strip())
    except ValueError:
        raise InvalidInputError(
            f"成文日期格式不对：{text!r}（应为 YYYY-MM-DD，例如 2026-03-01）", field="date"
        ) from None


def missing_attributes(row: Row | dict[str, Any]) -> list[str]:
    """What an active record still lacks: 公开属性, or 成文日期 (starts the 主动公开 clock)."""
    if row["status"] != "active":
        return []
    missing = []
    if row["disclosure"] is None:
        missing.append("公开属性")
    if row["disclosure"] in (None, ACTIVE) and row["written_on"] is None:
        missing.append("成文日期")
    return missing


# ------------------------------------------------------------------------- take
@dataclass(frozen=True)
class Taken:
    id: int
    code: str
    year: int
    seq: int
    number: str
    missing: list[str] = field(default_factory=list)
    style: str = "year"
    #: the print count kept with the number, when one was asked for
    copies: CopyCount | None = None

    @property
    def short(self) -> str:
        """What the document shows: the number, or 政府会 第3期 for an issue."""
        return format_short(self.code, self.seq) if self.style == "issue" else self.number

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "year": self.year, "seq": self.seq,
                "number": self.number,
                "copies": self.copies.as_json() if self.copies else None}


async def take(
    ctx: Context,
    *,
    code: str,
    title: str,
    section: str = REGISTRY_OWNER,
    actor: str | None = None,
    written_on: date | None = None,
    disclosure: str | None = None,
    reason: str | None = None,
    carrier: str | None = None,
    column: str | None = None,
    drafting_section: str | None = None,
    secrecy: str | None = None,
    reply_to: str | None = None,
    copies: CopiesRequest | None = None,
) -> Taken:
    """Reserve the next number of `code` for a draft; only the code's owner may.
    `reply_to` (收文 number or id) links it as the 批复/复函 a finished item owed;
    `copies`: the print count is calculated and kept with the number, with its 分发.

    The year is that of 成文日期 when known, else the office's local year now.
    `drafting_section` (拟稿科室) defaults to the acting section.
    """
    entry = code_entry(ctx.settings, code)
    acting = section.strip()
    _require_owner(entry, acting)
    title = required_text(title, "标题", field="title")
    attrs = check_disclosure(ctx.settings.disclosure, disclosure=disclosure, reason=reason,
                             carrier=carrier, column=column)
    level = parse_secrecy(secrecy)
    level = None if level == UNCLASSIFIED else level
    check_classified(level, attrs.disclosure if attrs else None)
    count = None if copies is None else request_count(ctx.settings, copies)
    now = ctx.clock()
    # the year goes into the 发文字号
    year = (check_year(written_on.year, "成文日期的年份") if written_on
            else local_year_month(now, ctx.settings.tz)[0])
    by = actor or acting
    new = repo.NewDispatch(
        code=entry.code, year=year, style=entry.style, title=title.strip(),
        owner=entry.numbered_by, section=(drafting_section or acting).strip() or None,
        written_on=written_on, disclosure=attrs.disclosure if attrs else None,
        withhold_reason=attrs.withhold_reason if attrs else None,
        carrier=attrs.carrier if attrs else None,
        catalogue_column=attrs.catalogue_column if attrs else None,
        taken_at=now, taken_by=by, secrecy=level,
    )
    async with ctx.db.unit_of_work() as uow:
        taken = await repo.insert(uow, new)
        if reply_to is not None:
            await handling.link_reply(uow, ctx, ref=reply_to, number=taken.number, actor=by,
                                      at=now)
        if copies is not None and count is not None:
            await repo.record_copies(uow, taken.id, copies, count, at=now, by=by)
        await audit.append(
            uow, at=now, actor=by, action="take", subject=f"dispatch:{taken.id}",
            detail={"number": taken.number, "title": new.title, "section": acting,
                    "written_on": written_on.isoformat() if written_on else None,
                    "secrecy": level,
                    **(attrs.as_columns() if attrs else {"disclosure": None}),
                    **({"copies": count.total, "fax": count.fax,
                        "shares": [x.as_json() for x in count.shares]} if count else {})},
        )
        await uow.commit()
    missing = missing_attributes({"status": "active", "disclosure": new.disclosure,
                                  "written_on": written_on})
    return Taken(taken.id, taken.code, taken.year, taken.seq, taken.number, missing, entry.style,
                 count)


# ------------------------------------------------------------------ find a number
async def resolve(conn: Reader | UnitOfWork, ctx: Context, number: str) -> Row:
    """A dispatch by the number staff typed; a short issue number means its latest year."""
    ref = parse_number(number)
    entry = next((d for d in ctx.settings.dispatch_code if d.code == ref.code), None)
    if entry is not None and entry.style != ref.style:
        raise InvalidInputError(_style_hint(entry, number), field="number")
    if ref.year is None:
        row = await repo.latest_issue(conn, ref.code, ref.seq)
    else:
        row = await repo.by_ref(conn, ref.code, ref.year, ref.seq)
    if row is None:
        raise NotFoundError("发文字号", number)
    return row


def _style_hint(entry: DispatchCode, typed: str) -> str:
    example = (f"{entry.code}〔2026〕12号" if entry.style == "year"
               else f"{format_short(entry.code, 3)}")
    return f"{entry.code} 的编号形式应为 {example}，收到 {typed!r}"


# ------------------------------------------------------------------------- void
@dataclass(frozen=True)
class Voided:
    id: int
    number: str
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "number": self.number, "status": "void", "reason": self.reason}


async def void(
    ctx: Context,
    *,
    number: str,
    reason: str,
    section: str = REGISTRY_OWNER,
    actor: str | None = None,
) -> Voided:
    """Withdraw a taken number: kept with its reason, never reissued."""
    if _blank(reason):
        raise InvalidInputError("作废须说明理由", field="reason")
    now = ctx.clock()
    acting = section.strip()
    by = actor or acting
    async with ctx.db.unit_of_work() as uow:
        row = await resolve(uow, ctx, number)
        _require_keeper(row, acting)
        if row["status"] == "void":
            raise ConflictError(f"{row['number']} 已作废（{row['void_reason']}），不能重复作废")
        await repo.mark_void(uow, row["id"], reason=reason.strip(), at=now, by=by)
        await audit.append(
            uow, at=now, actor=by, action="void", subject=f"dispatch:{row['id']}",
            detail={"number": row["number"], "reason": reason.strip(), "section": acting},
        )
        await uow.commit()
    return Voided(row["id"], row["number"], reason.strip())


# ------------------------------------------------------------------------ amend
async def amend(
    ctx: Context,
    *,
    number: str,
    section: str = REGISTRY_OWNER,
    actor: str | None = None,
    written_on: date | None = None,
    disclosure: str | None = None,
    reason: str | None = None,
    carrier: str | None = None,
    column: str | None = None,
    secrecy: str | None = None,
) -> dict[str, Any]:
    """Complete or change 成文日期, 密级 and the disclosure attributes of an active number."""
    attrs = check_disclosure(ctx.settings.disclosure, disclosure=disclosure, reason=reason,
                             carrier=carrier, column=column)
    level = parse_secrecy(secrecy)
    if attrs is None and written_on is None and level is None:
        raise InvalidInputError("没有要修改的内容（成文日期、密级或公开属性）")
    now = ctx.clock()
    acting = section.strip()
    by = actor or acting
    async with ctx.db.unit_of_work() as uow:
        row = await resolve(uow, ctx, number)
        _require_keeper(row, acting)
        if row["status"] != "active":
            raise ConflictError(f"{row['number']} 已作废，不能修改")
        values: dict[str, Any] = attrs.as_columns() if attrs else {}
        if written_on is not None:
            if written_on.year != row["year"]:
                raise InvalidInputError(
                    f"成文日期 {written_on.isoformat()} 与文号年份 {row['year']} 不符",
                    field="date",
                )
            values["written_on"] = written_on.isoformat()
        if level is not None:
            values["secrecy"] = None if level == UNCLASSIFIED else level
        check_classified(values.get("secrecy", row["secrecy"]),
                         values.get("disclosure", row["disclosure"]))
        before = {k: row[k] for k in values}
        await repo.update_attributes(uow, row["id"], values)
        await audit.append(
            uow, at=now, actor=by, action="amend", subject=f"dispatch:{row['id']}",
            detail={"number": row["number"], "before": before, "after": values,
                    "section": acting},
        )
        updated = await repo.get(uow, row["id"])
        await uow.commit()
    assert updated is not None
    return record(ctx, updated)


# ---------------------------------------------------------------------- listings
def record(ctx: Context, row: Row) -> dict[str, Any]:
    """A dispatch as a plain dict, with `missing`, `short` and the local take time."""
    out = {k: row[k] for k in row.keys()}  # noqa: SIM118 - sqlite3.Row needs keys()
    out["missing"] = missing_attributes(row)
    out["short"] = (format_short(row["code"], row["seq"]) if row["style"] == "issue"
                    else row["number"])
    out["taken_at_local"] = localtime.stored_minute(row["taken_at"], ctx.settings.tz)
    return out


async def dispatches(
    ctx: Context, *, year: int | None = None, code: str | None = None
) -> list[dict[str, Any]]:
    """The year's numbers (default: this local year), optionally of one code."""
    y = year_asked(ctx, year)
    wanted = code_entry(ctx.settings, code).code if code else None
    async with ctx.db.reader() as r:
        rows = await repo.listing(r, year=y, code=wanted)
        return await _records(ctx, r, rows)


async def _records(ctx: Context, r: Reader, rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Records with the print count kept with each number (`copies`, None when none was)."""
    kept = await repo.copies_of(r, [row["id"] for row in rows])
    out = []
    for row in rows:
        rec = record(ctx, row)
        count = kept.get(row["id"])
        rec["copies"] = count.count.as_json() if count else None
        out.append(rec)
    return out


async def show(ctx: Context, number: str) -> dict[str, Any]:
    async with ctx.db.reader() as r:
        row = await resolve(r, ctx, number)
        return (await _records(ctx, r, [row]))[0]


async def register_rows(ctx: Context, *, year: int) -> list[dict[str, Any]]:
    """The 发文登记簿 of a year: every number taken, voided ones included."""
    async with ctx.db.reader() as r:
        rows = await repo.listing(r, year=year)
        return await _records(ctx, r, rows)


# -------------------------------------------------------------------- print count
def print_count(
    settings: Settings,
    lists: Sequence[str],
    *,
    departments: int | None = None,
    add_units: int = 0,
    remove_units: int = 0,
    extra: int = 0,
    fax: bool = False,
) -> CopyCount:
    """印数 for the configured distribution lists (see core.copies)."""
    return count_copies(settings.distribution, lists, departments=departments,
                        add_units=add_units, remove_units=remove_units, extra=extra, fax=fax)


def request_count(settings: Settings, req: CopiesRequest) -> CopyCount:
    """印数 for a parsed request (`/take … 印数 …`, `take --copies …`)."""
    return print_count(settings, req.lists, departments=req.departments,
                       add_units=req.add_units, remove_units=req.remove_units, extra=req.extra,
                       fax=req.fax)


def distribution_lists(settings: Settings) -> list[str]:
    """The configured lists as `jiyao copies` names them, each with its assumption."""
    out: list[str] = []
    for d in settings.distribution:
        out += [describe(d), f"  {assumption(d)}"]
    return out
