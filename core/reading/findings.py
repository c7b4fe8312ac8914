"""Findings: the defects met while reading, kept for the intake checks to judge."""

from __future__ import annotations

from dataclasses import dataclass

MAX_FINDINGS = 100  # per message; past it one last finding says so


@dataclass(frozen=True, slots=True)
class Finding:
    """One defect met while reading: a stable code and a detail for staff."""

    code: str
    detail: str


class Notes:
    """Findings of one parse, de-duplicated and capped."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[Finding] = set()

    def add(self, code: str, detail: str) -> None:
        finding = Finding(code, detail)
        if finding in self._seen:
            return
        if len(self.findings) == MAX_FINDINGS:
            self.findings.append(Finding("too_many_findings", "问题过多，其余未列出"))
        if len(self.findings) > MAX_FINDINGS:
            return
        self._seen.add(finding)
        self.findings.append(finding)
