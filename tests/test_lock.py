"""constraints.txt (written by `make lock`) pins every dependency the tests ran with, so
`make run` and `make test` on a fresh machine install exactly those versions."""

from __future__ import annotations

import tomllib
from importlib import metadata

from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

PYPROJECT = ROOT / "pyproject.toml"
LOCK = ROOT / "constraints.txt"


def declared(pyproject: str) -> list[Requirement]:
    """The project's dependencies and those of every extra, as pyproject.toml states them."""
    project = tomllib.loads(pyproject)["project"]
    texts = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        texts += extra
    return [Requirement(text) for text in texts]


def pinned(lock: str) -> dict[str, str]:
    """name → version of each `name==version` line."""
    out: dict[str, str] = {}
    for raw in lock.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not a pin: {raw!r}"
            out[canonicalize_name(name)] = version.strip()
    return out


def lock_problems(pyproject: str, lock: str, project: str = "jiyao") -> list[str]:
    """What makes the lock disagree with pyproject.toml (empty when they agree)."""
    pins = pinned(lock)
    problems = []
    for req in declared(pyproject):
        name = canonicalize_name(req.name)
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if name not in pins:
            problems.append(f"{req.name} is in pyproject.toml but not in constraints.txt")
        elif not req.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{req.name}=={pins[name]} in constraints.txt is outside {req}")
    if canonicalize_name(project) in pins:
        problems.append(f"constraints.txt pins the project itself ({project})")
    return problems


def test_the_lock_agrees_with_pyproject() -> None:
    problems = lock_problems(PYPROJECT.read_text(), LOCK.read_text())
    assert problems == [], "run `make lock`: " + "; ".join(problems)


def test_a_dependency_missing_from_the_lock_is_found() -> None:
    """A dependency added to pyproject.toml without `make lock`, a lock that no longer fits a
    raised bound, and the project pinned by mistake are all reported."""
    added = '    "nosuchpackage>=1",\n    "aiosqlite>=999",\n'
    pyproject = PYPROJECT.read_text().replace("dependencies = [\n", "dependencies = [\n" + added, 1)
    lock = LOCK.read_text() + "jiyao==0.1.0\n"
    problems = lock_problems(pyproject, lock)
    assert len(problems) == 3, problems
    assert "nosuchpackage" in problems[0]
    assert "aiosqlite" in problems[1]
    assert "jiyao" in problems[2]


def _installed_closure() -> dict[str, str]:
    """name → installed version of every distribution the project needs, with all extras."""
    env = default_environment()
    dist = metadata.distribution("jiyao")
    extras = {""} | set(dist.metadata.get_all("Provides-Extra") or [])
    todo = [(req, extras) for req in map(Requirement, dist.requires or [])]
    seen: dict[str, str] = {}
    while todo:
        req, active = todo.pop()
        if req.marker is not None and not any(
            req.marker.evaluate({**env, "extra": extra}) for extra in active
        ):
            continue
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        sub = metadata.distribution(req.name)
        seen[name] = sub.version
        todo += [(r, {"", *req.extras}) for r in map(Requirement, sub.requires or [])]
    return seen


def test_the_tests_run_with_the_locked_versions() -> None:
    """Every distribution reached from the project is pinned, at the version installed here:
    what passes here is what a fresh machine installs."""
    pins = pinned(LOCK.read_text())
    installed = _installed_closure()
    assert len(installed) > 30
    wrong = {name: (version, pins.get(name)) for name, version in installed.items()
             if pins.get(name) != version}
    assert wrong == {}, "installed vs locked; run `make lock` (or reinstall with make)"
    assert sorted(set(pins) - set(installed)) == [], "pinned but no longer needed: `make lock`"
