"""Architecture rules of lowrank, checked on its source.

The module import graph is built by walking the syntax trees of lowrank/
(nothing of the package is imported, so a broken module still gets a clear
report). An edge A -> B means that A imports the module B or a name defined in
it, anywhere in A: at the top or inside a function (a deferred import still
ties the two modules together). The rules:

(a) no import cycle among lowrank's modules. A cycle made only of package
    ``__init__`` files that do nothing but re-export is not counted;
(b) no module imports an underscore-prefixed name (not a module) from a module
    of another subpackage, the subpackage being the first two dotted
    components of the module's name (``lowrank.linalg``, ``lowrank._backends``,
    ``lowrank.datasets``, ...): what is private stays private to its layer;
(c) no ``locals()`` call anywhere in lowrank/: arguments are passed by name;
(d) ``import lowrank`` imports none of the optional heavy dependencies.
"""

import ast
import itertools
import json
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "lowrank"

#: Optional dependencies that ``import lowrank`` must not pull in.
HEAVY = ("dask", "torch", "jax", "cupy", "numba", "matplotlib", "sklearn")


@dataclass(frozen=True)
class Module:
    name: str  # dotted, e.g. "lowrank.linalg._pinv" ("lowrank.linalg" for its __init__)
    path: Path

    @property
    def is_package(self):
        return self.path.name == "__init__.py"

    @property
    def subpackage(self):
        return ".".join(self.name.split(".")[:2])

    @property
    def tree(self):
        return _parse(self.path)


@dataclass(frozen=True)
class Import:
    """One import of a lowrank module (`name` None) or of a name from one."""

    source: Module
    target: str  # dotted name of the imported module
    name: str | None  # the name taken from `target`, None if `target` itself
    line: int

    def __str__(self):
        where = f"{self.source.path.relative_to(ROOT)}:{self.line}"
        what = self.target if self.name is None else f"{self.target}.{self.name}"
        return f"{self.source.name} imports {what}  ({where})"


@cache
def _parse(path):
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@cache
def modules():
    """Every module of the package, by dotted name."""
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = Module(".".join(parts), path)
    return found


def _import_base(module, node):
    """The absolute dotted module an ``ImportFrom`` node imports from."""
    if node.level == 0:
        return node.module
    package = module.name.split(".")
    if not module.is_package:
        package.pop()
    if node.level > 1:
        package = package[: -(node.level - 1)]
    return ".".join(package + ([node.module] if node.module else []))


@cache
def imports():
    """Every import of a lowrank module (or of a name from one) in lowrank/."""
    mods = modules()
    found = []
    for module in mods.values():
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name in mods:
                        found.append(Import(module, alias.name, None, node.lineno))
            elif isinstance(node, ast.ImportFrom):
                base = _import_base(module, node)
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    if full in mods:  # a submodule
                        found.append(Import(module, full, None, node.lineno))
                    elif base in mods:  # a name defined in (or re-exported by) base
                        found.append(Import(module, base, alias.name, node.lineno))
    return found


@cache
def graph():
    """source -> {target: [the imports that make the edge]}, self-imports left out."""
    edges = {name: {} for name in modules()}
    for imp in imports():
        if imp.target != imp.source.name:
            edges[imp.source.name].setdefault(imp.target, []).append(imp)
    return edges


def _reachable(start):
    seen, todo = set(), [start]
    while todo:
        for nxt in graph()[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def strongly_connected_components():
    """The sets of two or more modules that all import each other, directly or not."""
    reach = {name: _reachable(name) for name in modules()}
    components = []
    for name in modules():
        if any(name in c for c in components):
            continue
        component = {other for other in reach[name] if name in reach[other]}
        if len(component) > 1:
            components.append(component)
    return components


def only_reexports(module):
    """True for a package ``__init__`` holding nothing but imports and ``__all__``."""
    if not module.is_package:
        return False
    for statement in module.tree.body:
        if isinstance(statement, ast.Import | ast.ImportFrom):
            continue
        if isinstance(statement, ast.Expr) and isinstance(
            statement.value, ast.Constant
        ):
            continue  # the docstring
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = (
                statement.targets
                if isinstance(statement, ast.Assign)
                else [statement.target]
            )
            if all(isinstance(t, ast.Name) and t.id == "__all__" for t in targets):
                continue
        return False
    return True


def shortest_cycle(component):
    """One shortest import cycle through the component, as a list of edges."""
    best = None
    for start in sorted(component):
        # breadth-first from start, back to start, inside the component
        parent = {start: None}
        queue = deque([start])
        found = None
        while queue and found is None:
            here = queue.popleft()
            for nxt in sorted(graph()[here]):
                if nxt == start:
                    found = here
                    break
                if nxt in component and nxt not in parent:
                    parent[nxt] = here
                    queue.append(nxt)
        if found is None:
            continue
        path = [found]
        while parent[path[-1]] is not None:
            path.append(parent[path[-1]])
        path.reverse()  # start ... found
        cycle = [*path, start]
        if best is None or len(cycle) < len(best):
            best = cycle
    return [graph()[a][b][0] for a, b in itertools.pairwise(best)]


def _describe_cycle(component):
    mods = modules()
    hops = "\n".join(f"      {imp}" for imp in shortest_cycle(component))
    crossing = [
        imps[0]
        for source in sorted(component)
        for target, imps in sorted(graph()[source].items())
        if target in component and mods[source].subpackage != mods[target].subpackage
    ]
    text = (
        f"  {len(component)} modules: {', '.join(sorted(component))}\n"
        f"    a shortest cycle:\n{hops}"
    )
    if crossing:
        text += "\n    its imports across subpackages:\n" + "\n".join(
            f"      {imp}" for imp in crossing
        )
    return text


# --- the graph is really there ------------------------------------------------


def test_the_walk_sees_the_package():
    """Guards the rules below against passing on an empty or misread graph."""
    mods = modules()
    assert {"lowrank", "lowrank.linalg._pinv", "lowrank._core.validation"} <= set(
        mods
    ), sorted(mods)
    assert mods["lowrank._core.validation"].is_package
    assert "lowrank.linalg._pinv" in graph()["lowrank.linalg"]
    assert any(t.startswith("lowrank._core") for t in graph()["lowrank.linalg._pinv"])


# --- (a) no import cycles -----------------------------------------------------


def test_no_import_cycles():
    mods = modules()
    cycles = [
        component
        for component in strongly_connected_components()
        if not all(only_reexports(mods[name]) for name in component)
    ]
    if cycles:
        pytest.fail(
            f"{len(cycles)} import cycle(s) among lowrank's modules (imports "
            "inside functions count):\n"
            + "\n".join(_describe_cycle(c) for c in cycles),
            pytrace=False,
        )


# --- (b) private names stay inside their subpackage ----------------------------


def _is_private(name):
    return name.startswith("_") and not name.startswith("__")


def test_no_private_names_imported_across_subpackages():
    mods = modules()
    offending = [
        imp
        for imp in imports()
        if imp.name is not None
        and _is_private(imp.name)
        and imp.source.subpackage != mods[imp.target].subpackage
    ]
    if offending:
        pytest.fail(
            f"{len(offending)} import(s) of an underscore name from another "
            "subpackage (make the name public in its module, or move the code):\n"
            + "\n".join(f"  {imp}" for imp in offending),
            pytrace=False,
        )


# --- (c) no locals() ------------------------------------------------------------


def test_no_locals_calls():
    calls = [
        f"  {module.path.relative_to(ROOT)}:{node.lineno} in {module.name}"
        for module in modules().values()
        for node in ast.walk(module.tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "locals"
    ]
    if calls:
        pytest.fail(
            f"{len(calls)} locals() call(s) in lowrank/ (pass the arguments by "
            "name):\n" + "\n".join(calls),
            pytrace=False,
        )


# --- (d) importing lowrank stays light ---------------------------------------------


def test_import_lowrank_imports_no_heavy_dependency():
    code = (
        "import json, sys, lowrank\n"
        f"heavy = {HEAVY!r}\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in heavy)\n"
        "print(json.dumps({'file': lowrank.__file__, 'loaded': loaded}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # -c puts the working directory first on sys.path: this checkout's lowrank
    assert Path(report["file"]).resolve() == ROOT / PACKAGE / "__init__.py", report
    assert not report["loaded"], (
        f"`import lowrank` imported {', '.join(report['loaded'])}: optional "
        "dependencies must be imported where they are used"
    )
