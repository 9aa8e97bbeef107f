"""The house: floors whose imports run one way, modules of a readable size, classes at module
level, and a public API that loads lazily without hiding its modules."""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tfweek3"
# Each floor may import from the floors before it, never from those after it.
FLOORS = ["layers", "training", "tuning", "search", "cli"]
APART = ["course", "practice"]  # experiments and exercises: import the floors below the cli; none imports them


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        yield path, ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)


def tfweek3_imports(path: Path) -> set[str]:
    """The tfweek3 subpackages a module imports (tfweek3.X.y -> X), at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tfweek3" and len(parts) > 1:
                found.add(parts[1])
    return found


def test_imports_run_one_way_through_the_floors():
    for path, name in modules():
        parts = name.split(".")
        if len(parts) < 3:
            continue  # tfweek3/__init__.py and __main__.py stand above the floors
        floor = parts[1]
        imported = tfweek3_imports(path) - {floor}
        if floor in FLOORS:
            allowed = set(FLOORS[:FLOORS.index(floor)])
        else:
            assert floor in APART, f"{name}: in no floor"
            allowed = {"layers", "training", "tuning", "search"}
        if floor == "cli":
            allowed |= {"course", "practice"}  # `tfweek3 demo` and `tfweek3 exercise`
        assert imported <= allowed, f"{name} imports {sorted(imported - allowed)}"


def imported_by(node: ast.AST) -> set[str]:
    """The full names of the tfweek3 modules one import statement imports (from tfweek3.a.b
    import c -> tfweek3.a.b and tfweek3.a.b.c); none when the node is no import."""
    if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tfweek3"):
        return {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name.startswith("tfweek3")}
    return set()


def imported_modules(path: Path) -> set[str]:
    """The full names of the tfweek3 modules a module imports, at any depth of its code."""
    return set().union(*map(imported_by, ast.walk(ast.parse(path.read_text()))))


def test_the_tuning_floor_knows_nothing_of_the_course_network():
    """The week's search methods are for any model: the tuning floor takes from the training
    floor only how a run stops (Ctrl-C, divergence), never the course network, its loop or its
    data, and no module of it names the course's seven hyperparameters."""
    allowed = {"tfweek3.training.stopping", "tfweek3.training.divergence",
               "tfweek3.training.divergence.DivergedError", "tfweek3.training"}
    course_names = ("units", "layers", "batch_norm", "batch_size")
    for path in sorted((PACKAGE / "tuning").glob("*.py")):
        training = {m for m in imported_modules(path) if m.startswith("tfweek3.training")}
        training.discard("tfweek3.training.stopping")
        assert training <= allowed, f"{path.name} imports {sorted(training - allowed)}"
        text = path.read_text()
        named = [n for n in course_names if f'"{n}"' in text]
        assert not named, f"{path.name} names the course's hyperparameters {named}"


def test_no_module_is_longer_than_a_learner_reads_at_once():
    long = {name: n for path, name in modules() if (n := len(path.read_text().splitlines())) > 360}
    assert not long


def test_classes_are_defined_at_module_level():
    for path, name in modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = [n.name for n in ast.walk(node) if isinstance(n, ast.ClassDef)]
                assert not inner, f"{name}.{node.name} defines {inner}"


def test_the_public_api_is_there_and_modules_keep_their_own_paths():
    import tfweek3

    for public in tfweek3.__all__:
        assert getattr(tfweek3, public) is not None
    softmax_module = importlib.import_module("tfweek3.layers.softmax")
    assert tfweek3.softmax is softmax_module.softmax and callable(tfweek3.softmax)
    babysit_module = importlib.import_module("tfweek3.search.babysit")
    assert tfweek3.babysit is babysit_module.babysit
    assert tfweek3.ManualBatchNorm.__module__ == "tfweek3.layers.batch_norm"
    with pytest.raises(AttributeError, match="no attribute 'SoftMax'"):
        tfweek3.SoftMax  # noqa: B018


def test_import_tfweek3_imports_no_tensorflow_until_a_name_needs_it():
    code = ("import sys, tfweek3\n"
            "before = 'tensorflow' in sys.modules\n"
            "from tfweek3 import sample_learning_rate, SearchConfig, run_search\n"
            "middle = 'tensorflow' in sys.modules\n"
            "from tfweek3 import ManualBatchNorm\n"
            "print(before, middle, 'tensorflow' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "False", "True"]


def import_graph() -> dict[str, set[str]]:
    """tfweek3 module -> the tfweek3 modules it imports, at any depth of its code (an import
    inside a function counts: it runs too, only later)."""
    paths = {name.removesuffix(".__init__"): path for path, name in modules()}
    return {name: imported_modules(path) & set(paths) - {name} for name, path in paths.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """A cycle of the graph as the modules around it (the first one again at the end), or []."""
    done: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str]:
        if name in path:
            return path[path.index(name):] + [name]
        if name in done:
            return []
        path.append(name)
        for imported in sorted(graph[name]):
            if cycle := visit(imported):
                return cycle
        path.pop()
        done.add(name)
        return []

    for name in sorted(graph):
        if cycle := visit(name):
            return cycle
    return []


def test_no_module_imports_itself_round_a_circle():
    """No module imports, even from inside a function, a module that imports it back: each can
    be read knowing only what it imports. (tfweek3/__init__.py loads its public names by
    importlib on first use, which makes no edge here; no module imports `from tfweek3 import`,
    so its TYPE_CHECKING imports are edges out of it only.)"""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    cycle = find_cycle(import_graph())
    assert not cycle, "import circle: " + " -> ".join(cycle)


# Where a function imports a tfweek3 module, and why: to keep TensorFlow out of `import tfweek3`,
# `tfweek3 --help` and the process that supervises a `--workers` search until it is needed.
LAZY_FLOORS = {"cli", "course", "search", "training"}


def test_functions_import_tfweek3_modules_only_where_it_keeps_tensorflow_out():
    for path, name in modules():
        floor = name.split(".")[1] if name.count(".") > 1 else None
        if floor in LAZY_FLOORS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = set().union(*map(imported_by, ast.walk(node)))
                assert not inner, f"{name}.{node.name} imports {sorted(inner)} inside it"
