"""No import cycle between the modules of a package (#23): every module-level import (outside
``if TYPE_CHECKING``) of core/ and integrations/ forms a graph without cycles, so the import
order never matters and no module needs a bottom-of-file import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {
    "walrus": ROOT / "core" / "walrus",
    "limpyd": ROOT / "core" / "limpyd",
    "django_walrus": ROOT / "integrations" / "django_walrus",
    "flask_walrus": ROOT / "integrations" / "flask_walrus",
    "celery_walrus": ROOT / "integrations" / "celery_walrus",
}


def _module_name(path: Path, root: Path) -> tuple[str, list[str]]:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts), parts


def _imports(path: Path, parts: list[str], package: str) -> set[str]:
    """Modules of ``package`` that ``path`` imports when it is imported."""
    found: set[str] = set()
    base = parts if path.name == "__init__.py" else parts[:-1]
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        candidates = [node, *ast.walk(node)] if isinstance(node, (ast.If, ast.Try)) else [node]
        for item in candidates:
            if isinstance(item, ast.ImportFrom) and item.level:
                head = base[: len(base) - (item.level - 1)]
                target = ".".join(head + ([item.module] if item.module else []))
                if item.module:
                    found.add(target)
                else:
                    found.update(f"{target}.{alias.name}" for alias in item.names)
            elif isinstance(item, ast.ImportFrom) and (item.module or "").split(".")[0] == package:
                found.add(str(item.module))
            elif isinstance(item, ast.Import):
                found.update(a.name for a in item.names if a.name.split(".")[0] == package)
    return found


def _graph(package: str, root: Path) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        name, parts = _module_name(path, root)
        graph[name] = _imports(path, parts, package)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in graph:
                continue
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_import_cycle(package: str) -> None:
    graph = _graph(package, PACKAGES[package])
    assert len(graph) > 3  # the package was found and read
    assert _cycles(graph) == []


def test_the_check_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


INTEGRATIONS = ("django_walrus", "flask_walrus", "celery_walrus")
URL_PARSERS = {"urlsplit", "urlparse", "urlunsplit", "parse_qs", "parse_qsl", "parse_url"}


def _imported_names(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every import anywhere in ``path`` (functions included)."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            found.update(((node.module or ""), alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update((alias.name, "") for alias in node.names)
    return found


@pytest.mark.parametrize("package", INTEGRATIONS)
def test_an_integration_imports_no_other_integration(package: str) -> None:
    """The integrations are front ends over the core only: Celery takes a Database (or a
    factory such as django_walrus.get_database) from its config instead of importing Django."""
    foreign = set(INTEGRATIONS) - {package}
    if package != "django_walrus":
        foreign.add("django")
    found = [
        f"{path.relative_to(ROOT)}: {module}"
        for path in sorted(PACKAGES[package].rglob("*.py"))
        for module, _ in _imported_names(path)
        if module.split(".")[0] in foreign
    ]
    assert found == []


def test_urls_are_read_in_one_place() -> None:
    """URL splitting lives in walrus/urls.py; every other module asks it."""
    found = [
        f"{path.relative_to(ROOT)}: {name}"
        for root in PACKAGES.values()
        for path in sorted(root.rglob("*.py"))
        if path != PACKAGES["walrus"] / "urls.py"
        for module, name in _imported_names(path)
        if name in URL_PARSERS or module == "urllib.parse" and not name
    ]
    assert found == []
