"""The package's internal imports form layers: no cycle, no upward import.

Every `import` in every module under `keras_mmvae/` counts, including the
lazy ones inside functions. A module may import from its own layer or a
lower one, never from a higher one.
"""

import ast
import pathlib

PACKAGE = "keras_mmvae"
ROOT = pathlib.Path(__file__).resolve().parents[2] / PACKAGE

LAYERS = (
    # (layer, module prefixes), lowest first.
    ("export", ("keras_mmvae.src.api_export",)),
    ("presets", ("keras_mmvae.src.presets",)),
    ("ops", ("keras_mmvae.src.ops",)),
    ("likelihoods", ("keras_mmvae.src.likelihoods",)),
    ("layers", ("keras_mmvae.src.layers",)),
    ("objectives", ("keras_mmvae.src.objectives",)),
    ("models", ("keras_mmvae.src.models",)),
    ("datasets", ("keras_mmvae.src.datasets",)),
    ("benchmarks", ("keras_mmvae.src.benchmarks",)),
    ("evaluation", ("keras_mmvae.src.evaluation",)),
    # The public facades (`keras_mmvae`, `keras_mmvae.models`, ...): every
    # module outside `keras_mmvae.src` not named below.
    ("facades", (PACKAGE,)),
    ("training", ("keras_mmvae.src.training",)),
    ("cli", ("keras_mmvae.src.cli", "keras_mmvae.__main__")),
    ("testing", ("keras_mmvae.src.testing",)),
)
"""Lowest first: export → presets → ops → likelihoods → layers →
objectives → models → datasets → benchmarks → evaluation → public facades
→ training → cli → test support."""

BENCHMARK_FOLDERS = ("polymnist", "mnist_svhn_text", "celeba")


def module_name(path):
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def find_modules():
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def imported_modules(name, path, modules):
    """The package modules that module `name` imports, lazily or not."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".")
                anchor = anchor[:len(anchor) - node.level + is_package]
                base = ".".join(anchor + ([base] if base else []))
            # `from package import module` imports the module.
            targets = [f"{base}.{alias.name}"
                       if f"{base}.{alias.name}" in modules else base
                       for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph():
    modules = find_modules()
    return {name: imported_modules(name, path, modules)
            for name, path in modules.items()}


def layer_of(name):
    """Index in `LAYERS` of the longest matching prefix."""
    best, best_len = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or name.startswith(prefix + ".")
            if matches and len(prefix) > best_len:
                best, best_len = index, len(prefix)
    return best


def upward_imports(graph):
    return sorted(
        f"{source} ({LAYERS[layer_of(source)][0]}) imports {target} "
        f"({LAYERS[layer_of(target)][0]})"
        for source, targets in graph.items() for target in targets
        if layer_of(target) > layer_of(source)
    )


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == "open":
                return stack[stack.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def benchmark_folder(name):
    parts = name.split(".")
    if parts[:3] == [PACKAGE, "src", "benchmarks"] and len(parts) > 3:
        return parts[3] if parts[3] in BENCHMARK_FOLDERS else None
    return None


def test_the_graph_sees_lazy_and_from_package_imports():
    graph = import_graph()
    # A function-level import and a `from package import module`.
    assert "keras_mmvae.src.datasets.mnist" in graph[
        "keras_mmvae.src.benchmarks.polymnist.synthesis"]
    assert "keras_mmvae.src.benchmarks.common.blocks" in graph[
        "keras_mmvae.src.benchmarks.polymnist.networks"]
    assert all(layer_of(name) is not None for name in graph)


def test_no_import_cycle():
    assert find_cycle(import_graph()) is None, " → ".join(
        find_cycle(import_graph()))


def test_no_import_from_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_benchmark_folders_do_not_import_each_other():
    crossing = sorted(
        f"{source} imports {target}"
        for source, targets in import_graph().items()
        for target in targets
        if benchmark_folder(source) and benchmark_folder(target)
        and benchmark_folder(source) != benchmark_folder(target)
    )
    assert crossing == []


def test_checks_catch_a_back_edge_and_a_cycle():
    graph = {name: set(targets) for name, targets in import_graph().items()}
    graph["keras_mmvae.src.ops.gaussian"].add(
        "keras_mmvae.src.evaluation.classifiers")
    assert upward_imports(graph) == [
        ("keras_mmvae.src.ops.gaussian (ops) imports "
         "keras_mmvae.src.evaluation.classifiers (evaluation)")
    ]
    assert find_cycle(graph) is not None
