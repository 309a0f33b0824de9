"""mkdocs hook: the API reference pages, generated from the packages at build time.

Every module that declares ``__all__`` gets a ``::: module`` block on its package's page (so a
module added or removed by a refactor needs no edit here), and each package's page opens with a
table of the names its top level exports, linked to where they are documented.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SOURCES = {
    "walrus": "core",
    "limpyd": "core",
    "django_walrus": "integrations",
    "flask_walrus": "integrations",
    "celery_walrus": "integrations",
}
# (page, title, package, subpackages kept on their own pages)
PAGES = [
    (
        "api/walrus.md",
        "walrus",
        "walrus",
        ("asyncio", "containers", "models", "rate_limit", "search"),
    ),
    ("api/walrus-containers.md", "walrus.containers", "walrus.containers", ()),
    ("api/walrus-models.md", "walrus.models", "walrus.models", ()),
    ("api/walrus-rate-limit.md", "walrus.rate_limit", "walrus.rate_limit", ()),
    ("api/walrus-search.md", "walrus.search", "walrus.search", ()),
    ("api/walrus-asyncio.md", "walrus.asyncio", "walrus.asyncio", ()),
    ("api/limpyd.md", "limpyd", "limpyd", ()),
    ("api/django_walrus.md", "django_walrus", "django_walrus", ()),
    ("api/flask_walrus.md", "flask_walrus", "flask_walrus", ()),
    ("api/celery_walrus.md", "celery_walrus", "celery_walrus", ()),
]


def declared_all(path: Path) -> list[str] | None:
    """The names of a module's literal ``__all__``, or None when it declares none."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else ([node.target] if isinstance(node, ast.AnnAssign) else [])
        )
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
            value = ast.literal_eval(node.value)  # type: ignore[arg-type]
            return [str(name) for name in value]
    return None


def package_dir(package: str) -> Path:
    top = package.split(".")[0]
    return ROOT / SOURCES[top] / Path(*package.split("."))


def _source(module: str) -> Path:
    base = package_dir(module)
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def documented_modules(package: str, skip: tuple[str, ...] = ()) -> list[str]:
    """Dotted names of the package's public modules that declare ``__all__`` (the package
    itself first), leaving out private modules and the subpackages in ``skip``."""
    base = package_dir(package)
    found = []
    for path in sorted(base.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts and parts[-1] == "__init__":
            parts.pop()
        if any(p.startswith("_") for p in parts) or (parts and parts[0] in skip):
            continue
        if declared_all(path) is not None:
            found.append(".".join([package, *parts]))
    return sorted(found, key=lambda name: (name != package, name))


def all_documented_modules() -> list[str]:
    return [m for _, _, package, skip in PAGES for m in documented_modules(package, skip)]


_LOADED: dict[str, Any] = {}


def _loaded() -> dict[str, Any]:
    """The five packages read by griffe (statically) into one collection, so that a name one
    package re-exports from another resolves."""
    if not _LOADED:
        import griffe

        loader = griffe.GriffeLoader(search_paths=[str(ROOT / "core"), str(ROOT / "integrations")])
        for name in SOURCES:
            loader.load(name)
        loader.resolve_aliases(external=False, implicit=False)
        for _, _, package, _ in PAGES:
            _LOADED[package] = loader.modules_collection.get_member(package)
    return _LOADED


def _exports_table(package: str) -> str:
    """A table of the package's top-level ``__all__``, each name linked to its documentation."""
    loaded = _loaded()[package]
    names = declared_all(package_dir(package) / "__init__.py") or []
    rows = ["| name | documented as |", "| --- | --- |"]
    for name in names:
        member = loaded.members.get(name) or _lazy_export(loaded, name)
        if member is None:
            raise LookupError(f"{package}.__all__ names {name!r}, which no module defines")
        foreign = foreign_target(member)
        if foreign is not None:
            rows.append(f"| `{name}` | `{foreign}`, re-exported (documented there) |")
            continue
        target = member.final_target if member.is_alias else member
        rows.append(f"| `{package}.{name}` | [`{target.path}`][{target.path}] |")
    return "\n".join(rows)


def foreign_target(member: Any) -> str | None:
    """Where a name re-exported from outside the suite comes from (None for the suite's own)."""
    while member.is_alias:
        if member.target_path.split(".")[0] not in SOURCES:
            return str(member.target_path)
        # the next link of the chain, without resolving the whole chain (it may leave the suite)
        member = member.modules_collection.get_member(member.target_path)
    return None


def _lazy_export(package: Any, name: str) -> Any:
    """A name a package's ``__getattr__`` imports on first use: the submodule defining it."""
    for module in package.modules.values():
        member = module.members.get(name)
        if member is not None and not member.is_alias:
            return member
    return None


def page_markdown(title: str, package: str, skip: tuple[str, ...]) -> str:
    lines = [f"# `{title}`", ""]
    if declared_all(package_dir(package) / "__init__.py"):
        lines += ["## Exported names", "", _exports_table(package), ""]
    lines += ["## Modules", ""]
    for module in documented_modules(package, skip):
        # Only what the module defines: a name it re-exports is rendered where it is defined
        # (the exports table links there), so nothing appears twice.
        obj = _loaded()["walrus"].modules_collection.get_member(module)
        own = [
            name
            for name in declared_all(_source(module)) or []
            if name in obj.members and not obj.members[name].is_alias
        ]
        members = "[" + ", ".join(own) + "]" if own else "false"
        lines += [f"::: {module}", "    options:", f"      members: {members}", ""]
    return "\n".join(lines)


def on_files(files: Any, config: Any) -> Any:
    from mkdocs.structure.files import File

    _LOADED.clear()  # mkdocs serve rebuilds after an edit: read the sources again
    for page, title, package, skip in PAGES:
        files.append(File.generated(config, page, content=page_markdown(title, package, skip)))
    return files
