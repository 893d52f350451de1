"""The house rules of the layout (README, "Where things live"), checked on the source.

- A service never imports another service, and the gateway imports none: they talk only
  through events and RPC.
- ``shared/`` imports no service and no gateway code.
- No import cycle inside a service, the gateway or ``shared/``: a module that needs one
  below it imports it, never the other way round too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared.config import REPO_ROOT

SERVICES = sorted(path.name for path in (REPO_ROOT / "services").iterdir() if (path / "service.py").is_file())
PACKAGES = [f"services.{name}" for name in SERVICES] + ["gateway", "shared"]


def modules_of(package: str) -> dict[str, Path]:
    root = REPO_ROOT.joinpath(*package.split("."))
    found = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.parts:
            continue  # alembic's history: loaded by alembic, imported by no module
        parts = path.relative_to(REPO_ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imports_of(module: str, path: Path) -> set[str]:
    """Absolute names of the modules ``module`` imports (relative imports resolved)."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def graph_of(package: str) -> dict[str, set[str]]:
    modules = modules_of(package)
    return {
        module: {name for name in imports_of(module, path) if name in modules and name != module}
        for module, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a list of modules (first == last), or None."""
    visiting, done = [], set()

    def visit(module):
        if module in visiting:
            return [*visiting[visiting.index(module) :], module]
        if module in done:
            return None
        visiting.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle:
                return cycle
        visiting.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_accepts_a_tree():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_relative_imports_are_resolved(tmp_path):
    source = tmp_path / "rules.py"
    source.write_text("from . import model\nfrom .views import detail\n")

    assert {"pkg.model", "pkg.views", "pkg.views.detail"} <= imports_of("pkg.rules", source)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycle(package):
    assert find_cycle(graph_of(package)) is None


@pytest.mark.parametrize("package", PACKAGES)
def test_services_talk_only_through_events_and_rpc(package):
    others = [f"services.{name}" for name in SERVICES if f"services.{name}" != package]
    if package in ("gateway", "shared"):
        others = ["services"]
    if package == "shared":
        others.append("gateway")
    offending = {
        f"{module} imports {name}"
        for module, path in modules_of(package).items()
        for name in imports_of(module, path)
        if any(name == other or name.startswith(other + ".") for other in others)
    }

    assert not offending
