"""One error base for jiyao; each subclass carries the data staff need to see."""

from __future__ import annotations


class JiyaoError(Exception):
    """Base of every error jiyao raises on purpose; `str()` is a Chinese message for staff."""


class ConfigError(JiyaoError):
    """The configuration file or environment is missing or invalid."""

    def __init__(self, file: str, key: str, problem: str) -> None:
        self.file = file
        self.key = key
        self.problem = problem
        super().__init__(f"配置错误：文件 {file}，键 {key}：{problem}")


class NotFoundError(JiyaoError):
    """A record asked for by number or id does not exist."""

    def __init__(self, what: str, ref: str) -> None:
        self.what = what
        self.ref = ref
        super().__init__(f"找不到{what}：{ref}")


class InvalidInputError(JiyaoError):
    """Input from staff (a command argument, a typed number) is not acceptable."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class PermissionDeniedError(JiyaoError):
    """The acting person may not do this (wrong role, wrong owner, not routed to them)."""

    def __init__(self, message: str, *, actor: str | None = None) -> None:
        self.actor = actor
        super().__init__(message)


class ConflictError(JiyaoError):
    """The action conflicts with the record's state (already voided, already published…)."""


class StorageError(JiyaoError):
    """The database or blob store failed; the unit of work was rolled back."""


class IntegrityError(JiyaoError):
    """`jiyao check` or `jiyao audit verify` found a damaged record."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("完整性检查未通过：\n" + "\n".join(problems))


class OcrUnavailableError(JiyaoError):
    """The OCR engine cannot start: its bundled model files are missing (nothing is ever
    downloaded in their place) or its runtime is not installed."""

    def __init__(self, missing: list[str], *, problem: str = "") -> None:
        self.missing = missing
        self.problem = problem
        what = f"缺少模型文件 {'、'.join(missing)}" if missing else problem
        super().__init__(f"文字识别（OCR）不可用：{what}；请重新安装 rapidocr 与 onnxruntime")


class StepFailedError(JiyaoError):
    """A step raised or overran its time limit on an item."""

    def __init__(self, step: str, error: str) -> None:
        self.step = step
        self.error = error
        super().__init__(f"步骤 {step} 失败：{error}")
