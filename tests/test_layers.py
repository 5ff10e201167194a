"""The import direction between top-level packages, as the README's "Layout" table says.

The table is the one statement of the rule; this test parses it, then every module's
imports (module level and inside functions, ``TYPE_CHECKING`` blocks included), and
fails on an import the table does not allow or on a cycle in the table itself.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"


def allowed_imports(readme: str) -> dict[str, set[str]]:
    """``{package: packages it may import}`` from the Layout table's rows."""
    section = readme.split("## Layout", 1)[1].split("\n## ", 1)[0]
    rules: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not re.fullmatch(r"`\w+`", cells[0]):
            continue
        rules[cells[0].strip("`")] = set(re.findall(r"`(\w+)`", cells[2]))
    return rules


def imported_packages(path: Path, packages: set[str]) -> set[tuple[int, str]]:
    """(line, top-level package) for every absolute import of one of ``packages``."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {(node.lineno, n.split(".")[0]) for n in names if n.split(".")[0] in packages}
    return found


def violations(root: Path, rules: dict[str, set[str]]) -> list[str]:
    packages = set(rules)
    problems = []
    for package in sorted(packages):
        for path in sorted((root / package).rglob("*.py")):
            for line, target in sorted(imported_packages(path, packages)):
                if target != package and target not in rules[package]:
                    where = path.relative_to(root)
                    problems.append(f"{where}:{line} imports {target} ({package} may not)")
    return problems


def cycle(rules: dict[str, set[str]]) -> list[str] | None:
    """A cycle among the allowed edges, if there is one."""
    visiting: list[str] = []
    done: set[str] = set()

    def visit(package: str) -> list[str] | None:
        if package in visiting:
            return [*visiting[visiting.index(package) :], package]
        if package in done:
            return None
        visiting.append(package)
        for target in sorted(rules.get(package, ())):
            found = visit(target)
            if found:
                return found
        visiting.pop()
        done.add(package)
        return None

    for package in sorted(rules):
        found = visit(package)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def rules() -> dict[str, set[str]]:
    return allowed_imports(README.read_text())


def test_the_table_names_every_top_level_package(rules: dict[str, set[str]]) -> None:
    on_disk = {
        p.name
        for p in ROOT.iterdir()
        if (p / "__init__.py").exists() and p.name not in {"tests", "docs", "config"}
    }
    assert on_disk == set(rules)
    assert all(targets <= set(rules) for targets in rules.values())


def test_the_allowed_direction_has_no_cycle(rules: dict[str, set[str]]) -> None:
    assert cycle(rules) is None


def test_no_module_imports_against_the_direction(rules: dict[str, set[str]]) -> None:
    assert violations(ROOT, rules) == []


def test_an_upward_import_is_caught(tmp_path: Path) -> None:
    rules = allowed_imports(
        "## Layout\n| package | job | may import |\n|---|---|---|\n"
        "| `low` | below | nothing |\n| `high` | above | `low` |\n"
    )
    (tmp_path / "low").mkdir()
    (tmp_path / "high").mkdir()
    (tmp_path / "high" / "fine.py").write_text("import low.thing\n")
    (tmp_path / "low" / "bad.py").write_text("def f():\n    from high.fine import x\n")
    assert violations(tmp_path, rules) == ["low/bad.py:2 imports high (low may not)"]


def test_a_cycle_in_the_table_is_caught() -> None:
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
