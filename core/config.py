"""Configuration: the office's directory and the service settings, validated by pydantic.

The TOML file is the base; `JIYAO_…` environment variables (nested with `__`) override it.
Secrets (the bot token, WeCom's secret and EncodingAESKey) come only from the environment
(`JIYAO_BOT__TOKEN`, `JIYAO_WECOM__SECRET`, `JIYAO_WECOM__ENCODING_AES_KEY`) or a secrets
file named in the TOML, never from the TOML file itself.
"""

from __future__ import annotations

import contextvars
import ipaddress
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from core.errors import ConfigError
from core.working_hours import Period, parse_periods

Level = Literal["central", "province", "prefecture", "county"]
Branch = Literal[
    "party", "government", "office", "department", "congress", "cppcc", "military", "enterprise"
]
Role = Literal["registrar", "dispatch", "section", "disclosure", "admin"]

#: the section name that owns the registry-numbered codes
REGISTRY_OWNER = "机要室"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Office(_Strict):
    name: str
    short: str = ""
    timezone: str = "Asia/Shanghai"
    addresses: list[str] = Field(min_length=1)
    domains: list[str] = []
    fax_gateway: list[str] = []
    aliases: list[str] = []
    groups: list[str] = []
    #: 科室 names: mail addressed to one of them goes to it unopened (sealed, reason section)
    sections: list[str] = []

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"未知时区 {value!r}") from exc
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class _Verified(_Strict):
    """How mail claiming this entry proves it (core/verification.py); "none" by default.

    dkim: a valid DKIM signature of one of its domains; auth: a session authenticated
    (SMTP AUTH, offered only after STARTTLS) as one of `auth_users`; peer: sent from one
    of `peers` (IP addresses or networks)."""

    verify: Literal["none", "dkim", "auth", "peer"] = "none"
    auth_users: list[str] = []
    peers: list[str] = []

    @model_validator(mode="after")
    def _verification_complete(self) -> _Verified:
        for p in self.peers:
            try:
                ipaddress.ip_network(p, strict=False)
            except ValueError:
                raise ValueError(f"peers：{p!r} 不是 IP 地址或网段") from None
        if self.verify == "auth" and not self.auth_users:
            raise ValueError("verify = \"auth\" 须列出 auth_users（可代表它的 SMTP 登录名）")
        if self.verify == "peer" and not self.peers:
            raise ValueError("verify = \"peer\" 须列出 peers（它的发信地址）")
        if self.verify == "dkim" and not self.dkim_domains():
            raise ValueError("verify = \"dkim\" 须有 domains 或 addresses（签名的域名）")
        return self

    def dkim_domains(self) -> list[str]:
        """The domains whose DKIM signature stands for this entry."""
        own = [d.lower() for d in getattr(self, "domains", [])]
        return own + [a.rpartition("@")[2].lower() for a in getattr(self, "addresses", [])
                      if "@" in a]


class Relay(_Verified):
    name: str
    addresses: list[str] = []


class Org(_Verified):
    name: str
    level: Level
    branch: Branch
    codes: list[str] = []
    domains: list[str] = []
    addresses: list[str] = []
    #: fax station ids (TSI/CSID): numbers, or the names some machines send instead
    faxes: list[str] = []


#: a WeCom member userid: 1–64 letters, digits, `_ - . @`
WECOM_USER_PATTERN = r"^[A-Za-z0-9_.@-]{1,64}$"


class Leader(_Strict):
    name: str
    title: str
    chat_id: int
    #: 企业微信 / 政务微信 member userid (通讯录账号), when this person is reached there too
    wecom_user: str | None = Field(default=None, pattern=WECOM_USER_PATTERN)
    rank: int
    areas: list[str] = []
    orgs: list[str] = []
    #: extra title keywords this leader reads (阅件 reading scope)
    reading_scope: list[str] = []
    #: mail addressed to this leader by name stays sealed (seed: 领导同志有特别交待的)
    keep_sealed: bool = False


class Staff(_Strict):
    name: str
    chat_id: int
    #: 企业微信 / 政务微信 member userid (通讯录账号), when this person is reached there too
    wecom_user: str | None = Field(default=None, pattern=WECOM_USER_PATTERN)
    roles: list[Role] = Field(min_length=1)
    section: str | None = None
    #: the OS logins of the people at this desk: a CLI change made by one is recorded as
    #: this staff member (core/operator.py)
    os_users: list[str] = []


class DispatchCode(_Strict):
    code: str
    numbered_by: str
    style: Literal["year", "issue"] = "year"


class Distribution(_Strict):
    name: str
    copies: int = Field(ge=0)
    units: int = Field(ge=1)
    per_unit: bool = False
    #: what the seed gives this count for (川府发, 甘府发, 四大件, 政府令…)
    documents: list[str] = []
    #: the assumption behind `units` (or the per-department count), which the seed does
    #: not state; shown in every calculation
    basis: str = ""


class Duty(_Strict):
    name: str
    chat_id: int
    #: 企业微信 / 政务微信 member userid (通讯录账号), when this person is reached there too
    wecom_user: str | None = Field(default=None, pattern=WECOM_USER_PATTERN)


class Disclosure(_Strict):
    carriers: list[str] = Field(min_length=1)
    withhold_reasons: list[str] = Field(min_length=1)
    catalogue: dict[str, list[str]] = {}

    def columns(self) -> list[str]:
        """Every 公开栏目 as `栏目/子栏目`."""
        return [f"{top}/{sub}" for top, subs in self.catalogue.items() for sub in subs]


#: 主题分类 of the national 政府信息公开 catalogues (gov.cn 政策文件 主题分类), less 国务院组织机构
DEFAULT_TOPICS = (
    "综合政务", "国民经济管理、国有资产监管", "财政、金融、审计", "国土资源、能源",
    "农业、林业、水利", "工业、交通", "商贸、海关、旅游", "市场监管、安全生产监管",
    "城乡建设、环境保护", "科技、教育", "文化、广电、新闻出版", "卫生、体育",
    "人口与计划生育、妇女儿童工作", "劳动、人事、监察", "公安、安全、司法", "民政、扶贫、救灾",
    "民族、宗教", "对外事务", "港澳台侨工作", "国防", "其他",
)


class SiteContact(_Strict):
    """Where and how to apply for 依申请公开, as the guide shows it (条例 Art. 29–31)."""

    organ: str = Field(min_length=1)
    address: str = ""
    postcode: str = ""
    phone: str = ""
    fax: str = ""
    email: str = ""
    online: str = ""
    hours: str = ""


class Site(_Strict):
    """The static 政府信息公开 catalogue written by `jiyao site build`."""

    title: str = "政府信息公开"
    #: the organ code (统一社会信用代码) that starts every 索引号
    organ_code: str = Field(min_length=1)
    #: 索引号 format: {organ}, {year} (of 发布日期) and {seq} (per year, from 1)
    index_format: str = "{organ}/{year}-{seq:05d}"
    #: 发布机构 by default (empty: the office's name) and per 发文代字
    publisher: str = ""
    publishers: dict[str, str] = {}
    topics: list[str] = Field(default=list(DEFAULT_TOPICS), min_length=1)
    default_topic: str = "综合政务"
    page_size: int = Field(default=20, ge=5, le=200)
    #: the 提供和录用情况 tables: one per month or per quarter
    stats_period: Literal["month", "quarter"] = "quarter"
    #: annual reports (年度报告) found here are linked; empty: <data_dir>/annual-reports
    annual_reports_dir: Path | None = None
    contact: SiteContact

    @field_validator("index_format")
    @classmethod
    def _formats(cls, value: str) -> str:
        try:
            value.format(organ="X", year=2026, seq=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"索引号格式只能用 {{organ}}、{{year}}、{{seq}}：{exc}") from None
        return value

    @model_validator(mode="after")
    def _topic_known(self) -> Site:
        if self.default_topic not in self.topics:
            raise ValueError(f"default_topic {self.default_topic!r} 不在 topics 中")
        return self


#: the audit anchor file's name beside the configuration file, unless configured
ANCHOR_FILE = "jiyao-audit-anchor.txt"


class Storage(_Strict):
    data_dir: Path = Path("var")
    #: where `jiyao audit anchor` appends N:HASH; outside data_dir (empty: beside the config)
    audit_anchor: Path | None = None

    @model_validator(mode="after")
    def _anchor_outside(self) -> Storage:
        if self.audit_anchor is not None and _inside(self.audit_anchor, self.data_dir):
            raise ValueError("审计锚点文件 audit_anchor 不得位于数据目录 data_dir 之内"
                             "（锚点与它所证明的数据库放在一起就失去了作用）")
        return self


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def anchor_path(settings: Settings) -> Path:
    """The audit anchor file: `[storage] audit_anchor`, else ANCHOR_FILE beside the
    configuration file (refused inside the data directory)."""
    path = settings.storage.audit_anchor
    if path is None:
        source: Path | None = getattr(settings, "_source", None)
        path = (source.resolve().parent if source else Path.cwd()) / ANCHOR_FILE
        if _inside(path, settings.storage.data_dir):
            raise ConfigError(str(source or "-"), "storage.audit_anchor",
                              "配置文件在数据目录之内，审计锚点文件不能默认放在它旁边：请另设到数据目录以外")
    return path


class Smtp(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=2525, ge=0, le=65535)
    data_size_limit: int = Field(default=50 * 1024 * 1024, ge=1024)
    timeout: float = Field(default=300.0, gt=0)
    hostname: str = "jiyao.local"
    #: STARTTLS for the fax gateway: both files or neither
    tls_cert: Path | None = None
    tls_key: Path | None = None
    require_tls: bool = False
    #: CA of TLS client certificates: a sender presenting one it signed is known by the
    #: certificate's CN, which counts like an AUTH login for verify = "auth"
    tls_client_ca: Path | None = None
    #: AUTH LOGIN/PLAIN users (name → password); empty means no AUTH offered
    auth_users: dict[str, SecretStr] = {}
    #: sessions open at once, in all and from one peer address (421 beyond)
    max_connections: int = Field(default=200, ge=1)
    max_connections_per_peer: int = Field(default=20, ge=1)
    #: recipients in one transaction (452 beyond)
    max_recipients: int = Field(default=50, ge=1)
    #: failed AUTH attempts in a session before it is closed; each failure waits first
    auth_attempts: int = Field(default=3, ge=1)
    auth_fail_delay: float = Field(default=1.0, ge=0)
    #: seconds DATA waits for its message to be stored and committed (another process
    #: may hold the database lock) before answering 451; the sender retries
    lock_wait: float = Field(default=15.0, gt=0)
    #: run `jiyao serve` / `jiyao intake` on uvloop's event loop (the `uvloop` extra);
    #: not with STARTTLS (aiosmtpd wraps asyncio's own transport for it)
    uvloop: bool = False

    @model_validator(mode="after")
    def _tls_pair(self) -> Smtp:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert 与 tls_key 须同时配置")
        return self


#: pipeline worker processes at most (`[pipeline] workers`, `--workers`)
MAX_WORKERS = 64


class Pipeline(_Strict):
    """The steps that decide an item behind the edge (core.services.pipeline)."""

    #: worker processes started by `jiyao serve` / `jiyao intake` (0: none, run
    #: `jiyao pipeline` beside them)
    workers: int = Field(default=1, ge=0, le=MAX_WORKERS)
    #: seconds each step may take for one item (steps not named: `step_default`)
    step_seconds: dict[str, float] = {}
    step_default: float = Field(default=300.0, gt=0)
    #: seconds beyond a step's time limit before the supervisor kills the worker still
    #: in it (stuck where the step's own timeout cannot reach: C code holding the GIL, a
    #: stopped process); the item's lease is its steps' limits plus this margin
    lease_margin: float = Field(default=30.0, gt=0)
    #: tries of an item before it is shunted (kept for staff, `jiyao reprocess`)
    max_attempts: int = Field(default=3, ge=1)
    #: seconds before a failed item is tried again (doubling with each try)
    retry_seconds: float = Field(default=5.0, ge=0)
    #: a later item waits at most this long for an earlier one's number (receipt order)
    number_hold_seconds: float = Field(default=120.0, ge=0)
    #: a log line when this many items wait
    backlog_warn: int = Field(default=500, ge=1)
    #: seconds an idle worker waits before looking again
    poll_seconds: float = Field(default=0.2, gt=0)
    #: how much lower each worker process's CPU priority is than the process that
    #: started it (nice(2) increment; 0: the same): during a burst the edge answers its
    #: senders first and the workers catch up behind
    nice: int = Field(default=10, ge=0, le=19)
    #: seconds a worker process started beside the edge waits at most, before its next
    #: item, for a pause in the edge's accepting (a burst): its transactions would take
    #: the database's write lock from the edge's group commit, and a sender waits for its
    #: 250 while a decision can wait (0: no wait)
    edge_first_seconds: float = Field(default=1.0, ge=0, le=60)

    def limit_of(self, step: str) -> float:
        return self.step_seconds.get(step, self.step_default)


class Smarthost(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=0, le=65535)
    from_address: str = ""
    timeout: float = Field(default=30.0, gt=0)
    enabled: bool = True


class Bot(_Strict):
    token: SecretStr | None = None
    token_file: Path | None = None
    base_url: str = "https://api.telegram.org/bot"
    base_file_url: str = "https://api.telegram.org/file/bot"
    admin_chat_id: int | None = None
    #: show titles of 秘密/机密 items in chat notices (§7: off unless policy allows)
    classified_titles: bool = False
    #: attach the document file to pushes of unclassified items
    send_documents: bool = True
    #: 简报 go to matching leaders (true) or to registry staff only (false)
    briefings_to_leaders: bool = True
    #: minutes to wait for 已阅 on 特急/特提 before resending and escalating
    urgent_ack_minutes: int = Field(default=15, ge=1)
    poll_timeout: float = Field(default=10.0, gt=0)


class WeCom(_Strict):
    """企业微信 / 政务微信 self-built app (自建应用)."""

    enabled: bool = False
    #: 政务微信 runs the same API on the office's own host
    base_url: str = "https://qyapi.weixin.qq.com"
    corp_id: str = ""
    agent_id: int | None = None
    #: the callback Token (signs callbacks; 接收消息 settings)
    token: SecretStr | None = None
    secret: SecretStr | None = None
    secret_file: Path | None = None
    encoding_aes_key: SecretStr | None = None
    aes_key_file: Path | None = None
    callback_host: str = "127.0.0.1"
    callback_port: int = Field(default=8090, ge=0, le=65535)
    callback_path: str = Field(default="/wecom/callback", pattern=r"^/")

    @model_validator(mode="after")
    def _complete(self) -> WeCom:
        if self.enabled and not (self.corp_id and self.agent_id is not None and self.token):
            raise ValueError("启用企业微信须配置 corp_id、agent_id 与 token")
        return self


class Registers(_Strict):
    #: register number formats; `{year}` and `{seq:04d}` (widens past 9999)
    format: dict[Literal["办件", "阅件"], str] = {
        "办件": "办{year}-{seq:04d}",
        "阅件": "阅{year}-{seq:04d}",
    }


#: 保管期限 of an archived kind (GB/T 18894 / DA/T 22): 永久, 定期 30 年, 定期 10 年, or not
#: handed over at all
Retention = Literal["永久", "30年", "10年", "不归档"]


class Archive(_Strict):
    """The archive hand-over (归档, DA/T 22-2015): the codes that make a 档号."""

    #: 全宗号, given by the archive (档案馆) that receives the hand-over
    fonds: str = ""
    #: 档案门类代码: WS (文书) for the registry's documents
    category: str = "WS"
    #: 机构（问题）代码 of the registry
    organ_code: str = ""
    #: 保管期限 per kind (办件, 阅件, 抄件, 内刊, 简报, and 封存件 for sealed items)
    retention: dict[str, Retention] = {}


class CalendarYear(_Strict):
    holidays: list[str] = []
    workdays: list[str] = []


class Deadlines(_Strict):
    #: default handling period for 办件 in working days, by urgency (""=ordinary)
    default_workdays: dict[str, int] = {"": 15, "加急": 5, "特急": 2, "特提": 1}
    #: remind this many working days before a due day
    remind_before: list[int] = [5, 1]
    #: 催办 of a 办件 past its due day goes to the registry after this many working days
    #: overdue, and to the leader after that many (DOMAIN §6; 0 turns a step off)
    escalate_registry_days: int = Field(default=2, ge=0)
    escalate_leader_days: int = Field(default=5, ge=0)
    #: the leader a 督办 item's reminders go to as well
    supervisor: str = "秘书长"
    #: a 传阅 copy (内刊) held by one leader longer than this many hours is reminded
    circulation_hold_hours: int = Field(default=48, ge=1)


class Schedule(_Strict):
    digest_time: str = "09:00"
    #: 办公时间 on working days: reminders other than 特急 go out only in these periods
    #: (core/working_hours.py); one due outside them waits for the next to open
    working_hours: list[str] = ["08:30-12:00", "14:30-18:00"]
    sweep_seconds: int = Field(default=60, ge=1)
    #: local time of the nightly `jiyao check --full` that `jiyao serve` and `jiyao intake`
    #: run (problems go to registry staff); "" turns it off
    check_time: str = "02:30"

    @field_validator("check_time")
    @classmethod
    def _check_time_parses(cls, v: str) -> str:
        if v and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", v):
            raise ValueError(f"应为 HH:MM（如 02:30）或空字符串（不做夜间检查），收到 {v!r}")
        return v

    @field_validator("working_hours")
    @classmethod
    def _periods_parse(cls, v: list[str]) -> list[str]:
        parse_periods(v)
        return v

    @property
    def periods(self) -> tuple[Period, ...]:
        return parse_periods(self.working_hours)


class Ocr(_Strict):
    """OCR of image faxes and scans (issue 13): bounds per item and per page, and the
    confidence below which read text is doubtful."""

    enabled: bool = True
    #: OCR worker processes; each holds the models, ~0.9 GB of memory
    workers: int = Field(default=1, ge=1, le=32)
    #: onnxruntime threads per worker; 0: the machine's cores shared among the workers
    threads: int = Field(default=0, ge=0, le=64)
    #: pages read per item (a longer fax is read this far, with a finding)
    max_pages: int = Field(default=20, ge=1, le=1000)
    #: pixels a page may have decoded (A4 at 600 dpi is 35 million); larger pages are not read
    max_pixels: int = Field(default=40_000_000, ge=1_000_000)
    #: seconds one item may take; reading stops after the page that passes it
    seconds_per_item: float = Field(default=120.0, gt=0)
    #: dots per inch PDF pages without a usable text layer are rendered at
    render_dpi: int = Field(default=200, ge=72, le=600)
    #: a piece read with less confidence (0–1) than this is doubtful (flagged for review)
    doubtful_below: float = Field(default=0.9, ge=0, le=1)
    #: boxes the engine scores below this are noise (specks, fold lines) and dropped
    drop_below: float = Field(default=0.5, ge=0, le=1)
    #: a page with more than this share (0–1) of its text-tall ink outside any box read is
    #: illegible in part (blurred, faint, a seal or handwriting): staff read the image
    unread_above: float = Field(default=0.05, gt=0, le=1)
    #: keep each page image that was read (PNG) for staff to see beside the text
    keep_page_images: bool = True

    @model_validator(mode="after")
    def _thresholds(self) -> Ocr:
        if self.drop_below > self.doubtful_below:
            raise ValueError("drop_below 不得大于 doubtful_below")
        return self


class Settings(BaseSettings):
    """The whole configuration: directory of the office plus service settings."""

    model_config = SettingsConfigDict(
        env_prefix="JIYAO_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
    )

    office: Office
    relay: list[Relay] = []
    org: list[Org] = []
    leader: list[Leader] = []
    staff: list[Staff] = []
    dispatch_code: list[DispatchCode] = []
    distribution: list[Distribution] = []
    duty: list[Duty] = []
    disclosure: Disclosure
    storage: Storage = Storage()
    smtp: Smtp = Smtp()
    smarthost: Smarthost = Smarthost()
    pipeline: Pipeline = Pipeline()
    bot: Bot = Bot()
    wecom: WeCom = WeCom()
    registers: Registers = Registers()
    calendar: dict[str, CalendarYear] = {}
    deadlines: Deadlines = Deadlines()
    schedule: Schedule = Schedule()
    ocr: Ocr = Ocr()
    site: Site | None = None
    archive: Archive = Archive()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        path = _TOML_PATH.get()
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    @model_validator(mode="after")
    def _cross_references(self) -> Settings:
        _check_unique("org", [o.name for o in self.org])
        _check_unique("leader", [x.name for x in self.leader])
        _check_unique("dispatch_code", [d.code for d in self.dispatch_code])
        _check_unique("staff.os_users", [u for x in self.staff for u in x.os_users])
        _check_unique("distribution", [d.name for d in self.distribution])
        org_codes = [c for o in self.org for c in o.codes]
        _check_unique("org.codes", org_codes)
        _check_wecom_users(self)
        names = {o.name for o in self.org}
        for i, leader in enumerate(self.leader):
            for org in leader.orgs:
                if org not in names:
                    raise ValueError(f"leader[{i}].orgs：未知机关 {org!r}（不在 [[org]] 中）")
        for year in self.calendar:
            if not (year.isdecimal() and len(year) == 4):
                raise ValueError(f"calendar.{year}：年份须为四位数字")
        return self

    # ------------------------------------------------------------ helpers
    @property
    def tz(self) -> ZoneInfo:
        return self.office.tz

    def bot_token(self) -> str | None:
        """The bot token from the environment or the secrets file, else None."""
        return _secret(self.bot.token, self.bot.token_file, "bot.token_file")

    def wecom_secret(self) -> str | None:
        """The WeCom app's Secret from the environment or `secret_file`, else None."""
        return _secret(self.wecom.secret, self.wecom.secret_file, "wecom.secret_file")

    def wecom_aes_key(self) -> str | None:
        """The callback EncodingAESKey from the environment or `aes_key_file`, else None."""
        return _secret(self.wecom.encoding_aes_key, self.wecom.aes_key_file,
                       "wecom.aes_key_file")

    def org_named(self, name: str) -> Org | None:
        return next((o for o in self.org if o.name == name), None)


def _secret(value: SecretStr | None, file: Path | None, key: str) -> str | None:
    """A secret given in the environment, else read from its file, else None."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    if file is None:
        return None
    try:
        text = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(str(file), key, f"无法读取密钥文件：{exc}") from exc
    return text or None


#: secrets refused in the TOML file: (table, key, what it is, where it may come from)
_ENV_ONLY = (
    ("bot", "token", "机器人令牌", "JIYAO_BOT__TOKEN 或 token_file"),
    ("wecom", "secret", "企业微信应用 Secret", "JIYAO_WECOM__SECRET 或 secret_file"),
    ("wecom", "encoding_aes_key", "企业微信 EncodingAESKey",
     "JIYAO_WECOM__ENCODING_AES_KEY 或 aes_key_file"),
)


def _check_wecom_users(settings: Settings) -> None:
    """One WeCom userid reaches one person: two names on one account would leak items."""
    owner: dict[str, str] = {}
    people: list[tuple[str, str, str | None]] = [
        *(("leader", x.name, x.wecom_user) for x in settings.leader),
        *(("staff", x.name, x.wecom_user) for x in settings.staff),
        *(("duty", x.name, x.wecom_user) for x in settings.duty),
    ]
    for table, name, user in people:
        if user is None:
            continue
        if owner.setdefault(user, name) != name:
            raise ValueError(f"{table}.wecom_user：{user!r} 已属于 {owner[user]}，不能再给 {name}")


def _check_unique(key: str, values: list[str]) -> None:
    seen: set[str] = set()
    for v in values:
        if v in seen:
            raise ValueError(f"{key}：重复的值 {v!r}")
        seen.add(v)


_TOML_PATH: contextvars.ContextVar[Path | None] = contextvars.ContextVar("toml", default=None)

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "config.example.toml"


def resolve_config_path(explicit: str | os.PathLike[str] | None) -> Path:
    """`--config FILE`, else `$JIYAO_CONFIG`, else `./config.toml`, else the example."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("JIYAO_CONFIG")
    if env:
        return Path(env)
    local = Path("config.toml")
    if local.exists():
        return local
    return EXAMPLE_CONFIG


#: pydantic's error types an operator meets in a hand-edited file, said in Chinese
_PROBLEMS_ZH = {
    "missing": "缺少必填项",
    "extra_forbidden": "未知的配置项（拼写错误，或放错了表）",
    "int_parsing": "应为整数", "int_type": "应为整数", "int_from_float": "应为整数",
    "float_parsing": "应为数字", "float_type": "应为数字",
    "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
    "string_type": "应为字符串（加引号）",
    "list_type": "应为列表（[…]）",
    "dict_type": "应为表（[名称] 或 {…}）", "model_type": "应为表（[名称] 或 {…}）",
    "url_parsing": "不是有效的网址", "url_scheme": "网址协议不对",
    "greater_than": "应大于 {gt}", "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}", "less_than_equal": "应不大于 {le}",
    "string_too_short": "太短（至少 {min_length} 个字符）",
    "string_too_long": "太长（至多 {max_length} 个字符）",
    "literal_error": "应为以下之一：{expected}", "enum": "应为以下之一：{expected}",
}


def _problem_zh(kind: str, ctx: dict[str, Any]) -> str | None:
    template = _PROBLEMS_ZH.get(kind)
    if template is None:
        return None
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return template.split("{", 1)[0].rstrip("（ ")


def _toml_problem_zh(text: str) -> str:
    """tomllib's message ('Invalid value (at line 3, column 7)') with its place in Chinese;
    tomllib's own wording stays, in parentheses."""
    m = re.search(r"\(at (?:line (\d+), column (\d+)|(end of document))\)", text)
    if m is None:
        return text
    where = "文件末尾" if m[3] else f"第 {m[1]} 行第 {m[2]} 列"
    return f"{where}（{text[: m.start()].strip()}）"


def load_settings(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load and validate the configuration; raise `ConfigError` naming file, key and problem."""
    file = resolve_config_path(path)
    shown = str(file)
    if not file.is_file():
        raise ConfigError(shown, "-", "配置文件不存在（用 --config 指定，或设置 JIYAO_CONFIG）")
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        reason = "不是 UTF-8 编码的文本" if isinstance(exc, UnicodeDecodeError) else (
            exc.strerror or type(exc).__name__)
        raise ConfigError(shown, "-", f"无法读取：{reason}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(shown, "-", f"TOML 语法错误：{_toml_problem_zh(str(exc))}") from exc
    for table, key, what, where in _ENV_ONLY:
        if isinstance(raw.get(table), dict) and key in raw[table]:
            raise ConfigError(shown, f"{table}.{key}",
                              f"{what}不得写在配置文件中，请用环境变量 {where}")
    token = _TOML_PATH.set(file)
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "-"
        msg = _problem_zh(err["type"], err.get("ctx") or {}) or err["msg"].removeprefix(
            "Value error, ")
        if "input" in err and err["type"] not in {"value_error", "missing"}:
            msg = f"{msg}（收到 {err['input']!r}）"
        extra = f"；另有 {len(exc.errors()) - 1} 处错误" if len(exc.errors()) > 1 else ""
        raise ConfigError(shown, key, msg + extra) from exc
    finally:
        _TOML_PATH.reset(token)
    object.__setattr__(settings, "_source", file)
    return settings
