"""The documentation site (#23): ``mkdocs build --strict`` succeeds (``make docs``), every name
a package exports through ``__all__`` is in the API reference with a docstring, and the public
calls of the exported API state their Redis cost.

The docs tools are in the ``test`` extra, so this runs (never skips) wherever ``make test`` does.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_hooks() -> ModuleType:
    """docs/api/hooks.py, the mkdocs hook that lists the modules the reference renders."""
    spec = importlib.util.spec_from_file_location(
        "walrus_docs_hooks", ROOT / "docs" / "api" / "hooks.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hooks = _load_hooks()

# A cost statement, in the words this codebase's docstrings use: "1 round trip", "one round
# trip per 200 rows", "Cost: ...", "No Redis work", "no Redis call".
COST = re.compile(r"round\s+trips?\b|\bcost:|\bno\s+Redis\s+(work|call|command)\b", re.IGNORECASE)

# The calls that must state their cost: those reachable from every public module's ``__all__``.
COST_CHECKED = hooks.all_documented_modules()
# Modules other #23/#27 changes were rewriting when these checks were added: their exported
# constants get docstrings, and their exported calls cost statements, once those changes land.
# Each entry must still have something missing, so the lists shrink and cannot go stale.
DOC_PENDING: tuple[str, ...] = ()
COST_PENDING: tuple[str, ...] = ()
# Names re-exported from outside the suite (documented there): walrus's for
# ``from walrus import *`` (upstream's), and Django's admin registration errors.
FOREIGN = {
    ("walrus", "datetime"),
    ("walrus", "uuid"),
    ("django_walrus.admin", "AlreadyRegistered"),
    ("django_walrus.admin", "NotRegistered"),
    ("django_walrus.admin.registry", "AlreadyRegistered"),
    ("django_walrus.admin.registry", "NotRegistered"),
}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-8000:]
    return out


def _inventory(site: Path) -> set[str]:
    """Object paths mkdocstrings rendered (its Sphinx-format ``objects.inv``)."""
    raw = (site / "objects.inv").read_bytes()
    header_end = 0
    for _ in range(4):  # four header lines, then the zlib-compressed body
        header_end = raw.index(b"\n", header_end) + 1
    body = zlib.decompress(raw[header_end:]).decode()
    return {line.split(" ", 1)[0] for line in body.splitlines() if " py:" in line}


def _module(name: str) -> Any:
    """The griffe object of module ``name`` (read statically, as the reference is)."""
    return hooks._loaded()["walrus"].modules_collection.get_member(name)


def _exports() -> list[tuple[str, str, Any]]:
    """(module, name, griffe object) for each name of each rendered module's ``__all__``."""
    found = []
    for module in hooks.all_documented_modules():
        obj = _module(module)
        for name in hooks.declared_all(_source(module)) or []:
            member = obj.members.get(name) or hooks._lazy_export(obj, name)
            assert member is not None, f"{module}.__all__ names {name!r}, which it does not define"
            found.append((module, name, member))
    return found


def _source(module: str) -> Path:
    base = hooks.package_dir(module)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def _pending(path: str, modules: tuple[str, ...]) -> str | None:
    return next((m for m in modules if path == m or path.startswith(m + ".")), None)


def _is_foreign(member: Any) -> bool:
    return hooks.foreign_target(member) is not None


def test_site_builds_in_strict_mode(site: Path) -> None:
    assert (site / "index.html").is_file()
    for page in (
        "walrus",
        "walrus-models",
        "limpyd",
        "django_walrus",
        "flask_walrus",
        "celery_walrus",
    ):
        assert (site / "api" / f"{page}.html").is_file(), page
    guides = sorted(p.stem for p in (ROOT / "docs").glob("*.md"))
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert [g for g in guides if f" {g}.md" not in nav] == []  # every guide is in the menu


def test_every_module_with_all_is_rendered() -> None:
    """Each public module that declares ``__all__`` has a ``:::`` block (the hook finds them by
    walking the packages, so a new module cannot be left out)."""
    modules = hooks.all_documented_modules()
    assert len(modules) == len(set(modules))
    for package in hooks.SOURCES:
        for path in hooks.package_dir(package).rglob("*.py"):
            parts = path.relative_to(hooks.package_dir(package)).with_suffix("").parts
            if any(p.startswith("_") and p != "__init__" for p in parts):
                continue
            if hooks.declared_all(path) is not None:
                name = ".".join([package, *[p for p in parts if p != "__init__"]])
                assert name in modules, name


def test_every_exported_name_is_in_the_reference_with_a_docstring(site: Path) -> None:
    rendered = _inventory(site)
    exports = _exports()
    assert len(exports) > 600  # every module's __all__, not only the packages' top level
    missing, undocumented = [], []
    pending: dict[str, list[str]] = {p: [] for p in DOC_PENDING}
    for module, name, member in exports:
        if _is_foreign(member):
            assert (module, name) in FOREIGN, (module, name)
            continue
        target = member.final_target if member.is_alias else member
        if target.path not in rendered:
            missing.append(f"{module}.{name} ({target.path})")
        if not (target.docstring and target.docstring.value.strip()):
            owner = _pending(target.module.path, DOC_PENDING)
            (pending[owner] if owner else undocumented).append(f"{module}.{name} ({target.path})")
    assert missing == []
    assert undocumented == []
    stale = [module for module, names in pending.items() if not names]
    assert stale == [], f"{stale}: every export there has a docstring now; drop it from DOC_PENDING"


def _public_calls(obj: Any) -> list[Any]:
    """An exported function, or the public methods a suite class defines (not inherited,
    properties and dunders aside)."""
    if obj.is_function:
        return [obj]
    if not obj.is_class:
        return []
    return [
        m
        for n, m in obj.members.items()
        if not n.startswith("_")
        and not m.is_alias
        and m.is_function
        and not {"property", "cached_property"} & set(m.labels)
    ]


def _cost_report() -> tuple[list[str], dict[str, list[str]]]:
    """(calls without a cost statement, {pending module: its calls without one})."""
    seen: set[str] = set()
    missing: list[str] = []
    pending: dict[str, list[str]] = {p: [] for p in COST_PENDING}
    for package in COST_CHECKED:
        for name in hooks.declared_all(_source(package)) or []:
            member = _module(package).members.get(name) or hooks._lazy_export(
                _module(package), name
            )
            if member is None or _is_foreign(member):
                continue
            target = member.final_target if member.is_alias else member
            for call in _public_calls(target):
                if call.path in seen:
                    continue
                seen.add(call.path)
                doc = call.docstring.value if call.docstring else ""
                if COST.search(doc):
                    continue
                owner = _pending(call.module.path, COST_PENDING)
                (pending[owner] if owner else missing).append(call.path)
    return missing, pending


def test_exported_calls_state_their_redis_cost() -> None:
    """Every public function and method of the exported API says what it costs ("1 round
    trip", "Cost: ...", "No Redis work" for pure helpers)."""
    missing, pending = _cost_report()
    assert missing == []
    stale = [module for module, calls in pending.items() if not calls]
    assert stale == [], f"{stale}: every call there states its cost now; drop it from COST_PENDING"


def test_make_docs_is_the_strict_build_into_site() -> None:
    """``make docs`` is this build (strict) into the ignored ``site/``, and the README says so."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndocs: $(STAMP)\n", 1)[1].split("\n\n", 1)[0]
    assert "mkdocs build --strict --site-dir site" in recipe
    assert "site/" in (ROOT / ".gitignore").read_text(encoding="utf-8").splitlines()
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    docs_extra = re.search(r"^docs = \[(.*)\]$", pyproject, re.M)
    test_extra = pyproject.split("\ntest = [", 1)[1].split("\n]", 1)[0]
    assert docs_extra
    for requirement in re.findall(r'"([^"]+)"', docs_extra.group(1)):
        assert f'"{requirement}"' in test_extra, requirement  # so make test never lacks them
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make docs" in readme.split("## Documentation", 1)[1].split("\n## ", 1)[0]
