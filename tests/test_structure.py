"""The package's shape, checked over its source (`ast`, nothing imported): no import
cycle between relext_bench's modules (deferred and `TYPE_CHECKING` imports count), the
data layer imports neither the training nor the experiment layer, no module imports
another's private `_name`, the baselines (`baselines/`, installed as
relext_bench_baselines) import nothing of relext_bench but its public interface, and no
module is longer than LIMIT lines unless its docstring says why ("Longer than" in its
first paragraph)."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "relext_bench"
BASELINES = ROOT.parent / "baselines"
LIMIT = 350


def module_name(path: Path) -> str:
    root, package = (BASELINES, "relext_bench_baselines") if path.is_relative_to(BASELINES) else (ROOT, "relext_bench")
    parts = (package, *path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}
PLUGINS = {module_name(p): p for p in sorted(BASELINES.rglob("*.py"))}


def imports(path: Path) -> list[tuple[str, list[str], bool]]:
    """(module, imported names, at module level) for every relext_bench import in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set(map(id, tree.body))
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, [], id(node) in top) for a in node.names if a.name.startswith("relext_bench")]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            if base.startswith("relext_bench"):
                names = [a.name for a in node.names]
                # `from pkg import module` imports the module
                out += [(f"{base}.{n}", [], id(node) in top) for n in names if f"{base}.{n}" in MODULES]
                out.append((base, [n for n in names if f"{base}.{n}" not in MODULES], id(node) in top))
    return out


def graph(module_level_only: bool) -> dict[str, set[str]]:
    edges = {m: set() for m in MODULES}
    for name, path in MODULES.items():
        for target, _, top in imports(path):
            if top or not module_level_only:
                while target not in MODULES and "." in target:
                    target = target.rpartition(".")[0]
                if target in MODULES and target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_inside_the_package():
    # Function-level (deferred) imports count too: a cycle through them is still a cycle.
    # A package's __init__ re-exporting its modules is not a cycle with them.
    edges = graph(module_level_only=False)
    for name in edges:
        edges[name] = {t for t in edges[name] if not (name.startswith(t + ".") and MODULES[t].name == "__init__.py")}
    assert cycles(edges) == []


def test_the_baselines_import_only_the_public_interface():
    used = {(name, target) for name, path in PLUGINS.items() for target, _, _ in imports(path)}
    assert {target for _, target in used if target.startswith("relext_bench.")} == {"relext_bench.api"}
    private = [(name, target, n) for name, path in PLUGINS.items() for target, names, _ in imports(path)
               for n in names if n.startswith("_")]
    assert private == [] and set(PLUGINS) >= {f"relext_bench_baselines.{m}" for m in ("cnn", "pcnn", "cr_cnn",
                                                                                    "att_bilstm")}


# docs/architecture.md's layers, lowest first: a module imports only its own layer and those below.
LAYERS = [
    ("relext_bench", "relext_bench.errors", "relext_bench.specs", "relext_bench.paths", "relext_bench.files",
     "relext_bench.signature", "relext_bench.metrics", "relext_bench.significance", "relext_bench.records",
     "relext_bench.semeval", "relext_bench.safe_text", "relext_bench.argtypes", "relext_bench.roles"),
    ("relext_bench.data",),
    ("relext_bench.protocols",),
    ("relext_bench.kernels", "relext_bench.models", "relext_bench.api"),
    ("relext_bench.resolve", "relext_bench.corpus_stats"),
    ("relext_bench.training",),
    ("relext_bench.experiments",),
    ("relext_bench.reporting",),
    ("relext_bench.commands", "relext_bench.cli", "relext_bench.__main__"),
]


def layer(module: str) -> int:
    found = [k for k, names in enumerate(LAYERS) for n in names if module == n or module.startswith(n + ".")
             and n != "relext_bench"]
    assert found, f"{module} is in no layer of docs/architecture.md"
    return max(found)


def test_each_layer_imports_only_its_own_and_those_below():
    upward = sorted((name, target) for name, targets in graph(module_level_only=False).items() for target in targets
                    if layer(target) > layer(name))
    assert upward == []


def test_the_data_layer_imports_neither_training_nor_experiments():
    bad = [(name, target) for name, path in MODULES.items() if name.startswith("relext_bench.data")
           for target, _, _ in imports(path)
           if target.startswith(("relext_bench.training", "relext_bench.experiments"))]
    assert bad == []


def test_no_module_imports_a_private_name_of_another():
    bad = [(name, target, n) for name, path in MODULES.items() for target, names, _ in imports(path)
           for n in names if n.startswith("_") and not n.startswith("__")]
    assert bad == []


@pytest.mark.parametrize("name", sorted(MODULES))
def test_modules_stay_short_or_say_why(name):
    text = MODULES[name].read_text(encoding="utf-8")
    lines = text.count("\n")
    if lines <= LIMIT:
        return
    doc = ast.get_docstring(ast.parse(text)) or ""
    assert "Longer than" in doc.split("\n\n")[0] or "longer than" in doc, f"{name}: {lines} lines"


def test_the_checks_see_a_cycle_and_a_private_import(tmp_path):
    """The checker itself: a hand-made cycle is found."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
