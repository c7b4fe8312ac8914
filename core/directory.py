"""The office's directory: who sent an item, and whether a 主送/抄送 line means us.

Pure: built once from `Settings`, then only looked up. Organ names are compared
after folding full-/half-width forms and dropping spaces, so `各市(州)人民政府`
and `各市（州） 人民政府` are the same name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from core.config import Settings
from core.reading.fields import split_doc_number

_CJK = "\u4e00-\u9fff"
_SEPARATORS = "、，,；;"
#: what may follow a group name and still mean the same recipients (their offices)
_OFFICE_SUFFIXES = ("办公室", "办公厅")
#: a province or region written in front of a group (四川省各市（州）人民政府)
_REGION_PREFIX_RE = re.compile(rf"[{_CJK}]{{1,8}}(?:省|自治区)$")
#: a government of our level: a prefecture (州/市/地区/盟) government or its office
_PEER_GOV_RE = re.compile(
    rf"^[{_CJK}]{{1,14}}(?:自治州|州|市|地区|盟)(?:人民政府|政府|行政公署)"
    r"(?:办公室|办公厅)?$"
)
#: characters that may stand right before our name in a sentence (请州人民政府…)
_LEAD_INS = "请由报送和及与对向经并将把给为、，"
#: the kind of organ a recipient name ends with, longest first (shared by an enumeration:
#: 甘孜州、阿坝州人民政府 = 甘孜州人民政府 and 阿坝州人民政府)
_ORGAN_TYPES = ("人民政府办公室", "人民政府办公厅", "人民政府", "政府办公室", "政府")
#: what joins the members of an enumeration inside one recipient name
_CONNECTORS = "和及与、"
#: separators between recipients that do not share a name's tail (、 may: 党委、人民政府)
_LIST_SEPARATORS = "，,；;"
#: words that make a name generic (a group), not one specific organ
_GENERIC_MARKS = ("各", "有关", "全省", "全州", "全国", "所属", "相关")


#: how alike (difflib's ratio, 0–1) a directory name must be to be offered for an
#: unknown one: 康定市政府 / 康定市人民政府 0.83, 康定人民政府 / 泸定县人民政府 0.77
_CLOSE_CUTOFF = 0.6


class Relation(StrEnum):
    """How an organ stands to us (seed 签收 scope and DOMAIN §3)."""

    SUPERIOR = "superior"  # central and provincial organs
    PEER = "peer"  # leading organs of our level: 州委, 州人大, 州政协, 军分区
    SUBORDINATE = "subordinate"  # 州级部门, 州属企事业单位, county governments


@dataclass(frozen=True)
class Organ:
    """An organ of the directory."""

    name: str
    level: str
    branch: str
    codes: tuple[str, ...] = ()

    @property
    def relation(self) -> Relation:
        if self.level in ("central", "province"):
            return Relation.SUPERIOR
        if self.level == "county" or self.branch in ("department", "enterprise"):
            return Relation.SUBORDINATE
        return Relation.PEER

    @property
    def is_party_centre(self) -> bool:
        """中共中央 and its offices: their documents are 阅件 for the government."""
        return self.level == "central" and self.branch == "party"


@dataclass(frozen=True)
class SenderMatch:
    """Who sent an item and how we know: `via` is address/domain/relay/fax/document."""

    organ: Organ | None
    via: str
    evidence: str
    relayed: bool = False
    fax: bool = False
    #: the organ the address itself belongs to, when the document names another issuer
    channel_organ: Organ | None = None


def fold_name(text: str) -> str:
    """Compare form of a name: NFKC (full-width → half-width), no spaces, no trailing colon."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).strip(":。.")


def split_recipients(line: str) -> list[str]:
    """Split a 主送/抄送 line on 、，,；; outside parentheses: `县（市、区）` stays whole."""
    return [part for part, _ in _split_with_separators(line)]


def _split_with_separators(line: str, separators: str = _SEPARATORS) -> list[tuple[str, str]]:
    """(recipient, separator before it) pairs of a recipient line."""
    parts: list[tuple[str, str]] = []
    depth = 0
    current: list[str] = []
    before = ""
    for ch in fold_name(line):
        if ch in "(（[〔【":
            depth += 1
        elif ch in ")）]〕】":
            depth = max(0, depth - 1)
        if ch in separators and depth == 0:
            if current:
                parts.append(("".join(current), before))
            current = []
            before = ch
            continue
        current.append(ch)
    if current:
        parts.append(("".join(current), before))
    return parts


def _specific_recipients(line: str) -> list[tuple[str, bool]]:
    """(recipient, generic?) pairs; an enumeration after a generic one (`各省、自治区、
    直辖市人民政府`) is generic too."""
    out: list[tuple[str, bool]] = []
    previous_generic = False
    for part, sep in _split_with_separators(line):
        generic = _is_generic(part) or (sep == "、" and previous_generic)
        out.append((part, generic))
        previous_generic = generic
    return out


def _digits(text: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", text))


def _station(text: str) -> str | None:
    """A station id that is a name (`KANGDING GOV`, `康定市政府办`), folded; None for a
    number, which is matched by its digits."""
    folded = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().upper()
    return folded if any(ch.isalpha() for ch in folded) else None


def _address(text: str) -> str:
    return text.strip().strip("<>").lower()


class Directory:
    """Look-ups over the configured organs, relays, fax numbers and our own names."""

    def __init__(
        self,
        *,
        office_name: str,
        aliases: Iterable[str],
        groups: Iterable[str],
        sections: Iterable[str],
        office_addresses: Iterable[str],
        fax_gateways: Iterable[str],
        relays: Iterable[tuple[str, Sequence[str]]],
        organs: Iterable[tuple[Organ, Sequence[str], Sequence[str], Sequence[str]]],
        leaders: Iterable[tuple[str, str, bool]] = (),
        office_domains: Iterable[str] = (),
    ) -> None:
        self.office_name = office_name
        self._aliases = {fold_name(a) for a in (office_name, *aliases) if a}
        self._groups = sorted({fold_name(g) for g in groups if g}, key=len, reverse=True)
        #: (distributive prefix, organ type) of each group (各市(州), 人民政府)
        self._group_forms = tuple(
            (g.removesuffix(t), t)
            for g in self._groups
            if (t := next((t for t in _ORGAN_TYPES if g.endswith(t)), "")) and len(g) > len(t)
        )
        self.sections = tuple(s for s in sections if s)
        self._office_addresses = {_address(a) for a in office_addresses}
        self._office_domains = {d.strip().lower().lstrip("@.") for d in office_domains if d}
        self._fax_gateways = {_address(a) for a in fax_gateways}
        self._relays: dict[str, str] = {}
        for name, addresses in relays:
            for a in addresses:
                self._relays[_address(a)] = name
        self._organs: dict[str, Organ] = {}
        self._by_address: dict[str, Organ] = {}
        self._by_domain: dict[str, Organ] = {}
        self._by_fax: dict[str, Organ] = {}
        self._by_station: dict[str, Organ] = {}  # station ids that are names, not numbers
        self._codes: list[tuple[str, Organ]] = []
        for organ, addresses, domains, faxes in organs:
            self._organs[organ.name] = organ
            for a in addresses:
                self._by_address[_address(a)] = organ
            for d in domains:
                self._by_domain[d.strip().lower().lstrip("@.")] = organ
            for f in faxes:
                station = _station(f)
                if station is not None:
                    self._by_station[station] = organ
                else:
                    self._by_fax[_digits(f)] = organ
            self._codes.extend((fold_name(c), organ) for c in organ.codes)
        self._codes.sort(key=lambda p: len(p[0]), reverse=True)
        self._names = sorted(self._organs, key=len, reverse=True)
        #: (name, title, keep_sealed) of leaders, for mail addressed to one by name
        self.leaders = tuple(leaders)

    # ------------------------------------------------------------ building

    @classmethod
    def from_settings(cls, settings: Settings) -> Directory:
        office = settings.office
        return cls(
            office_name=office.name,
            aliases=[office.short, *office.aliases],
            groups=office.groups,
            # the registry's own rooms (文书处理室, 机要室) open mail: not sections to seal for
            sections=[
                s
                for s in office.sections
                if not any(x.name == s and "registrar" in x.roles for x in settings.staff)
            ],
            office_addresses=office.addresses,
            fax_gateways=office.fax_gateway,
            relays=[(r.name, r.addresses) for r in settings.relay],
            organs=[
                (
                    Organ(o.name, o.level, o.branch, tuple(o.codes)),
                    o.addresses,
                    o.domains,
                    o.faxes,
                )
                for o in settings.org
            ],
            leaders=[(x.name, x.title, x.keep_sealed) for x in settings.leader],
            office_domains=office.domains,
        )

    # ------------------------------------------------------------ organs

    def organ(self, name: str) -> Organ | None:
        return self._organs.get(name)

    def by_address(self, address: str) -> Organ | None:
        return self._by_address.get(_address(address))

    def by_domain(self, address: str) -> Organ | None:
        """Longest configured domain the address's domain equals or is a subdomain of."""
        found = self._domain_match(address)
        return found[0] if found else None

    def _domain_match(self, address: str) -> tuple[Organ, bool] | None:
        """The organ of the longest matching domain, and whether the host is that domain
        itself (not one of its subdomains)."""
        host = _address(address).rpartition("@")[2]
        best: tuple[str, Organ] | None = None
        for domain, organ in self._by_domain.items():
            if (host == domain or host.endswith("." + domain)) and (
                best is None or len(domain) > len(best[0])
            ):
                best = (domain, organ)
        return (best[1], best[0] == host) if best else None

    def relay_name(self, address: str) -> str | None:
        return self._relays.get(_address(address))

    def relay_name_matches(self, name: str) -> bool:
        """The name is one of the configured relays (a manifest may name the relay)."""
        return fold_name(name) in {fold_name(n) for n in self._relays.values()}

    def is_own(self, address: str) -> bool:
        """A mailbox of our own office (a colleague, a leader's secretary), not an organ's."""
        a = _address(address)
        if a in self._office_addresses:
            return True
        return self.by_address(a) is None and a.rpartition("@")[2] in self._office_domains

    def is_fax_gateway(self, address: str) -> bool:
        return _address(address) in self._fax_gateways

    def by_fax(self, remote_id: str) -> Organ | None:
        """The organ of a fax station id (TSI/CSID): a number (`+86 836-2822001` matches
        `08362822001`) or a name a machine was set up with (`KANGDING GOV`), as listed."""
        station = _station(remote_id)
        if station is not None and station in self._by_station:
            return self._by_station[station]
        digits = _digits(remote_id)
        if not digits:
            return None
        if digits in self._by_fax:
            return self._by_fax[digits]
        for known, organ in self._by_fax.items():
            if digits.endswith(known.lstrip("0")) and len(known.lstrip("0")) >= 7:
                return organ
        return None

    def by_code(self, doc_number: str) -> Organ | None:
        """The issuer of a 发文字号: the longest configured code its prefix starts with."""
        parts = split_doc_number(doc_number)
        code = parts[0] if parts else fold_name(doc_number)
        for known, organ in self._codes:
            if code.startswith(known):
                return organ
        return None

    def by_name(self, text: str) -> Organ | None:
        """The organ a name designates: exact, else the longest organ name it starts with
        (`国务院办公厅秘书局` → 国务院办公厅, `雅江县人民政府办公室` → 雅江县人民政府);
        a national organ's formal prefix is dropped (中华人民共和国国务院令 → 国务院)."""
        name = fold_name(text).removeprefix("中华人民共和国")
        if not name:
            return None
        if name in self._organs:
            return self._organs[name]
        for known in self._names:
            if name.startswith(fold_name(known)):
                return self._organs[known]
        return None

    def closest_names(self, text: str, n: int = 3) -> list[str]:
        """The organ names nearest to a name the directory does not know (康定市政府 →
        康定市人民政府), closest first; none when nothing is near."""
        folded = {fold_name(name): name for name in self._organs}
        near = difflib.get_close_matches(fold_name(text), folded, n=n, cutoff=_CLOSE_CUTOFF)
        return [folded[name] for name in near]

    @staticmethod
    def same_family(a: Organ, b: Organ) -> bool:
        """An organ and its own office (四川省人民政府 / 四川省人民政府办公厅) share a mailroom."""
        if a == b:
            return True
        return a.level == b.level and (a.name.startswith(b.name) or b.name.startswith(a.name))

    def resolve_sender(
        self,
        from_address: str,
        *,
        doc_number: str | None = None,
        organ_names: Sequence[str] = (),
        fax_remote_id: str | None = None,
        forwarded_from: Sequence[str] = (),
    ) -> SenderMatch:
        """Who sent the item: exact address, relay, fax gateway, then domain.

        Relayed items are attributed to the issuer (字号 prefix, then the names the
        document shows); a fax to its station id; mail from an organ's own address
        to the issuer its 字号 names when that issuer shares the organ's mailroom.
        A forward (`forwarded_from`: the From of each message/rfc822 inside) is the
        issuer's when an organ forwards another organ's document, and is resolved by
        the original sender when one of our own mailboxes hands it over.
        """
        relay = self.relay_name(from_address)
        if relay is not None:
            return self._via_relay(relay, doc_number, organ_names)
        if self.is_fax_gateway(from_address):
            return self._via_fax((fax_remote_id or "").strip())
        if forwarded_from and self.is_own(from_address):
            return self._via_colleague(from_address, forwarded_from, doc_number, organ_names)
        return self._via_mail(from_address, doc_number, organ_names, forwarded=bool(forwarded_from))

    def _via_colleague(
        self,
        from_address: str,
        forwarded_from: Sequence[str],
        doc_number: str | None,
        organ_names: Sequence[str],
    ) -> SenderMatch:
        for original in forwarded_from:
            if self.is_own(original):
                continue
            m = self.resolve_sender(original, doc_number=doc_number, organ_names=organ_names)
            if m.organ is not None:
                return replace(m, evidence=f"本机关 {from_address} 转来；原发件：{m.evidence}")
        return SenderMatch(None, "forward", f"本机关 {from_address} 转来，原发件单位不在机关名录中")

    def _via_relay(
        self, relay: str, doc_number: str | None, organ_names: Sequence[str]
    ) -> SenderMatch:
        issuer = self.issuer(doc_number, organ_names)
        if issuer is None:
            return SenderMatch(None, "relay", f"经{relay}转来，未能识别发文机关", relayed=True)
        organ, evidence = issuer
        return SenderMatch(organ, "relay", f"经{relay}转来；{evidence}", relayed=True)

    def _via_fax(self, remote: str) -> SenderMatch:
        organ = self.by_fax(remote) if remote else None
        evidence = f"传真来自 {remote}" if remote else "传真未带对方号码"
        return SenderMatch(organ, "fax", evidence, fax=True)

    def _via_mail(
        self,
        from_address: str,
        doc_number: str | None,
        organ_names: Sequence[str],
        *,
        forwarded: bool = False,
    ) -> SenderMatch:
        channel = self.by_address(from_address)
        via, exact = "address", True
        if channel is None:
            found = self._domain_match(from_address)
            channel, exact = found if found else (None, False)
            via = "domain"
        if channel is None:
            return SenderMatch(None, via, f"发件地址 {from_address} 不在机关名录中")
        evidence = f"发件地址 {from_address} 属{channel.name}"
        issuer = self.issuer(doc_number, organ_names)
        if issuer is None and not exact and organ_names:
            # a subdomain of a known organ's domain (fgw.sc.gov.cn under sc.gov.cn) whose
            # document names an organ we do not know: another organ, not the parent's
            return SenderMatch(
                None,
                via,
                f"发件地址 {from_address} 为{channel.name}域名的下级域名，"
                f"公文署名“{organ_names[0]}”不在机关名录中",
            )
        if (
            issuer is not None
            and issuer[0] != channel
            and (forwarded or self.same_family(issuer[0], channel))
        ):
            # its mailroom sends for the organ; a forward carries the issuer's own document
            return SenderMatch(issuer[0], via, f"{evidence}；{issuer[1]}", channel_organ=channel)
        return SenderMatch(channel, via, evidence)

    def issuer(
        self, doc_number: str | None, organ_names: Sequence[str]
    ) -> tuple[Organ, str] | None:
        """The organ a document names as its issuer (its 字号's prefix, else the first
        organ name it shows that the directory knows) and how it says so."""
        if doc_number:
            organ = self.by_code(doc_number)
            if organ is not None:
                return organ, f"发文字号 {doc_number}"
        for name in organ_names:
            organ = self.by_name(name)
            if organ is not None:
                return organ, f"发文机关 {name}"
        return None

    # ------------------------------------------------------ addressed to us

    def is_us(self, name: str) -> bool:
        """One recipient name designates us: an alias or its office (州人民政府办公室),
        optionally after our province's name, an alias followed by a leader's title
        (甘孜州人民政府州长), or a leader."""
        n = fold_name(name)
        if self._is_leader_word(n, generic=False) or self._names_leader(n):
            return True
        for candidate in (n, *(n.removesuffix(s) for s in _OFFICE_SUFFIXES if n.endswith(s))):
            if candidate in self._aliases:
                return True
            for alias in self._aliases:
                prefix = candidate.removesuffix(alias)
                if prefix != candidate and _REGION_PREFIX_RE.fullmatch(prefix):
                    return True
        for alias in self._aliases:
            rest = n.removeprefix(alias)
            if rest != n and self._is_leader_word(rest):
                return True
        return False

    def _names_leader(self, text: str) -> bool:
        """A leader by name (张三同志) or by a name and title (李州长, 王副州长)."""
        for name, title, _ in self.leaders:
            n, t = fold_name(name), fold_name(title)
            if len(n) >= 2 and n in text and n != t:
                return True
            if t and text.endswith(t):
                person = text.removesuffix(t)
                if 0 < len(person) <= 3 and not person.endswith(("州", "市", "县", "省", "区")):
                    return True
        return False

    def _is_leader_word(self, text: str, *, generic: bool = True) -> bool:
        words = {fold_name(w) for name, title, _ in self.leaders for w in (name, title)}
        if generic:
            words |= {"领导", "主要领导", "主要负责同志", "负责同志"}
        return bool(text) and text in words

    def mentions_us(self, text: str) -> bool:
        """The text names us (请州人民政府…), never as the tail of another organ's name
        (阿坝州人民政府): the character before our name must not continue a name."""
        folded = fold_name(text)
        for alias in self._aliases:
            for m in re.finditer(re.escape(alias), folded):
                before = folded[: m.start()]
                if (
                    not before
                    or not re.match(f"[{_CJK}]", before[-1])
                    or before[-1] in _LEAD_INS
                    or before.endswith(("省", "自治区"))
                ):
                    return True
        return False

    def covering_groups(self, line: str) -> list[str]:
        """Groups in the line that include us (`四川省各市（州）人民政府办公室` counts)."""
        text = fold_name(line)
        found: list[str] = []
        for group in self._groups:
            start = text.find(group)
            while start >= 0:
                end = start + len(group)
                if self._group_bounded(text, start, end):
                    found.append(group)
                    break
                start = text.find(group, start + 1)
        return found

    @staticmethod
    def _group_bounded(text: str, start: int, end: int) -> bool:
        before = text[:start]
        cut = max(before.rfind(s) for s in _SEPARATORS)
        prefix = before[cut + 1 :]
        if prefix and not _REGION_PREFIX_RE.fullmatch(prefix):
            return False
        after = text[end:]
        for suffix in _OFFICE_SUFFIXES:
            if after.startswith(suffix):
                after = after[len(suffix) :]
                break
        return after == "" or after[0] in _SEPARATORS

    def addressed_to_us(self, line: str | None) -> str | None:
        """The name or group in a 主送/抄送 line that designates us, else None."""
        if not line:
            return None
        groups = self.covering_groups(line)
        if groups:
            return groups[0]
        for part in split_recipients(line):
            if self.is_us(part):
                return part
        for segment, _ in _split_with_separators(line, _LIST_SEPARATORS):
            if self._enumerated_group(segment) or self._enumerated_us(segment):
                return segment
        return None

    def _enumerated_group(self, segment: str) -> bool:
        """A group whose prefix and organ type enclose an enumeration that keeps our kind:
        `各市（州）党委和人民政府`, `各市（州）和扩权试点县（市）人民政府`."""
        text = segment
        for suffix in _OFFICE_SUFFIXES:
            text = text.removesuffix(suffix)
        region = re.match(rf"^[{_CJK}]{{1,8}}?(?:省|自治区)(?=各|有关)", text)
        if region is not None:
            text = text[region.end() :]
        for prefix, organ_type in self._group_forms:
            if not (text.startswith(prefix) and text.endswith(organ_type)):
                continue
            middle = text[len(prefix) : len(text) - len(organ_type)]
            if middle and (middle[0] in _CONNECTORS or middle[-1] in _CONNECTORS):
                return True
        return False

    def _enumerated_us(self, segment: str) -> bool:
        """An enumeration sharing its last member's organ type names us:
        `甘孜州、阿坝州、凉山州人民政府` holds 甘孜州人民政府."""
        members = [m for m, _ in _split_with_separators(segment, "、")]
        if len(members) < 2:
            return False
        organ_type = next((t for t in _ORGAN_TYPES if members[-1].endswith(t)), None)
        if organ_type is None:
            return False
        return any(
            not m.endswith(_ORGAN_TYPES) and self.is_us(m + organ_type) for m in members[:-1]
        )

    def names_other_peer(self, line: str | None) -> str | None:
        """A specific other government of our level named in the line, when nothing covers us."""
        if not line or self.addressed_to_us(line):
            return None
        for part, generic in _specific_recipients(line):
            if generic or self.is_us(part):
                continue
            if _PEER_GOV_RE.match(part) and self.by_name(part) is None:
                return part
        return None

    def names_only_specific_others(self, line: str | None) -> bool:
        """Every recipient in the line is a specific organ that is not us (no group at all)."""
        if not line or self.addressed_to_us(line):
            return False
        parts = _specific_recipients(line)
        return bool(parts) and not any(generic for _, generic in parts)

    # ------------------------------------------------------------ sections

    def section_named(self, text: str | None) -> str | None:
        """A 科室 of ours that a recipient line or subject designates, else None."""
        if not text:
            return None
        for part in split_recipients(text):
            for section in self.sections:
                s = fold_name(section)
                for name in (part, *(part.removeprefix(a) for a in self._aliases)):
                    if name == s or (
                        name.startswith(s) and _SECTION_TAIL_RE.fullmatch(name[len(s) :])
                    ):
                        return section
        return None


#: what may follow a section's name on an envelope (综合科收, 综合科（收）)
_SECTION_TAIL_RE = re.compile(r"[(（]?(?:收|亲收|收启|启)[)）]?")


def _is_generic(name: str) -> bool:
    return name.startswith(_GENERIC_MARKS) or any(m in name for m in ("各", "有关", "直辖市"))


_DIRECTORIES: dict[int, tuple[Settings, Directory]] = {}


def directory_of(settings: Settings) -> Directory:
    """The directory built from `settings`, built once per settings object."""
    cached = _DIRECTORIES.get(id(settings))
    if cached is None or cached[0] is not settings:
        if len(_DIRECTORIES) > 8:
            _DIRECTORIES.clear()
        cached = (settings, Directory.from_settings(settings))
        _DIRECTORIES[id(settings)] = cached
    return cached[1]
