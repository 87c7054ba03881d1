"""docs/design.md names only what exists: files, modules and code names.

The page describes the architecture as built; a rename or a removal that
leaves it naming a function that no longer exists fails here.
"""

import ast
import builtins
import importlib
import pathlib
import re

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "lowrank"
DESIGN = ROOT / "docs" / "design.md"

#: Names the page uses that belong to other libraries (numpy, scipy, dask,
#: matplotlib, the benchmark suite), not to lowrank.
EXTERNAL = {
    "blockwise",  # dask.array.blockwise
    "einsum",  # numpy
    "hypot",  # numpy
    "interp_decomp",  # scipy.linalg.interpolative
    "map_blocks",  # dask.array
    "svd_compressed",  # dask.array.linalg
    "LinAlgError",  # numpy.linalg
    "Figure",  # matplotlib
    "Case",  # benchmarks/_report.py
    "Peer",  # benchmarks/_report.py
    "HYPOTHESIS_PROFILE",  # an environment variable
}

#: Mathematical symbols the page writes in code style.
MATH = {"Omega"}


def _defined_names(path):
    """Every name a module defines: functions, classes, assignments, parameters."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            args = node.args
            for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
                names.add(arg.arg)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.add(sub.id)
                    elif isinstance(sub, ast.Attribute):
                        names.add(sub.attr)
    return names


MODULES = {path: _defined_names(path) for path in PACKAGE.rglob("*.py")}
#: The docs configuration and the benchmarks are described too.
OTHERS = [ROOT / "docs" / "conf.py", *(ROOT / "benchmarks").glob("*.py")]
EVERYWHERE = set().union(*MODULES.values(), *map(_defined_names, OTHERS))
FILES = {path.name for path in ROOT.rglob("*") if ".git" not in path.parts}
BY_BASENAME = {}
for _path in MODULES:
    BY_BASENAME.setdefault(_path.stem, []).append(_path)
    if _path.name == "__init__.py":
        BY_BASENAME.setdefault(_path.parent.name, []).append(_path)


def _spans():
    text = DESIGN.read_text()
    # indented blocks (the layout picture) are prose, not code names
    return sorted(set(re.findall(r"`([^`\n]+)`", text)))


def _problem(span):
    """Why `span` names something that does not exist, or None."""
    path_match = re.fullmatch(
        r"((?:lowrank|tests|benchmarks|docs)/[\w/]*?(?:\.\w+)?)/?(?::(\w+))?", span
    )
    if path_match:
        path = ROOT / path_match.group(1)
        if not path.exists():
            return f"no file or folder {path_match.group(1)}"
        name = path_match.group(2)
        if name and name not in _defined_names(path):
            return f"{path_match.group(1)} defines no {name}"
        return None
    if re.fullmatch(r"lowrank(\.\w+)+", span):
        parts = span.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                if not hasattr(obj, attr):
                    return f"{'.'.join(parts[:cut])} has no {attr}"
                obj = getattr(obj, attr)
            return None
        return f"cannot import {span}"
    if re.fullmatch(r"[\w*]+\.(py|rst|md|toml)", span):
        pattern = re.compile(span.replace(".", r"\.").replace("*", ".*"))
        if not any(pattern.fullmatch(name) for name in FILES):
            return f"no file named {span}"
        return None
    dotted = re.fullmatch(r"(\w+)\.(\w+)(?:\(.*\))?", span)
    if dotted and dotted.group(1) in BY_BASENAME:
        module, name = dotted.groups()
        if not any(name in MODULES[p] for p in BY_BASENAME[module]):
            return f"no module {module} defines {name}"
        return None
    bare = re.fullmatch(r"([A-Za-z_]\w*)(?:\(.*\))?", span)
    if bare and ("_" in bare.group(1) or not bare.group(1).islower()):
        name = bare.group(1)
        known = EVERYWHERE | EXTERNAL | MATH | set(BY_BASENAME)
        if name in known or hasattr(builtins, name) or name.startswith("__"):
            return None
        if len(name) <= 4:  # a symbol of the mathematics: R_s, s_r(B), S_G
            return None
        return f"{name} is defined nowhere in lowrank"
    return None


def test_design_page_exists_and_describes_the_layers():
    text = DESIGN.read_text()
    for heading in (
        "## Layers and layout",
        "## The backend protocol",
        "## The drivers",
    ):
        assert heading in text


@pytest.mark.parametrize("span", _spans())
def test_design_page_names_only_what_exists(span):
    problem = _problem(span)
    assert problem is None, f"docs/design.md names `{span}`: {problem}"
