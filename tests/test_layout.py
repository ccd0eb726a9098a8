"""The package's layout: imports run one way, no module reads another's private names, and the one
figure registry covers every figure a chapter shows. Imports are read from the source."""

import ast
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "icmeta"

# Lowest first: a module may import from its own layer and the layers before it, never after.
LAYERS = ["config", "presets", "core", "store", "experiments", "analysis", "llm", "train", "plots", "figures", "book",
          "bench", "queue_cli", "cli", "__main__"]
# Beyond the order: drawing and the book never reach the trainer (they read stored runs).
FORBIDDEN = {("plots", "train"), ("figures", "train"), ("book", "train"), ("llm", "train")}


def modules() -> dict[str, Path]:
    """Dotted name (without ``icmeta.``) -> file, for every module of the package."""
    out = {}
    for p in sorted(PACKAGE.rglob("*.py")):
        parts = p.relative_to(PACKAGE).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name or "__init__"] = p
    return out


def layer(module: str) -> str:
    return module.split(".")[0]


def imports(module: str, path: Path) -> list[tuple[str, list[str], int]]:
    """Every import of the package's own modules anywhere in `path` (module level or inside a
    function): (imported module without ``icmeta.``, names imported from it, line)."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and (node.module == "icmeta" or node.module.startswith("icmeta.")):
                target = node.module[len("icmeta."):] if node.module != "icmeta" else ""
            else:
                continue
            names = [a.name for a in node.names]
            if not target:  # `from icmeta import x` / `from .. import x`: x is a module or a package-level name
                found += [(n, [], node.lineno) if n in {layer(m) for m in modules()} else ("__init__", [n], node.lineno)
                          for n in names]
            else:
                found.append((target, names, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name[len("icmeta."):], [], node.lineno) for a in node.names if a.name.startswith("icmeta.")]
    return found


def test_every_module_sits_in_a_named_layer():
    assert {layer(m) for m in modules()} - {"__init__"} <= set(LAYERS)


def test_imports_run_one_way():
    wrong = []
    for module, path in modules().items():
        for target, _, line in imports(module, path):
            a, b = layer(module), layer(target)
            if "__init__" in (a, b) or a == b:
                continue
            if LAYERS.index(b) > LAYERS.index(a) or (a, b) in FORBIDDEN:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    graph = {m: {t for t, _, _ in imports(m, p) if t in modules() and t != m} for m, p in modules().items()}
    # a package's __init__ re-exports its modules: importing a module runs its package's __init__ first
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph[m]):
            if state.get(t) == 1:
                cycle = stack[stack.index(t):] + [t]
                # within one package, a module imported by its own __init__ is not a cycle of concern
                if len({layer(x) for x in cycle}) > 1:
                    pytest.fail("import cycle: " + " -> ".join(cycle))
            elif t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_no_private_name_is_imported_from_another_module():
    wrong = [f"{p.relative_to(ROOT)}:{line}: {', '.join(n for n in names if n.startswith('_'))} from {target}"
             for m, p in modules().items() for target, names, line in imports(m, p)
             if any(n.startswith("_") and not n.startswith("__") for n in names)]
    assert not wrong, "\n".join(wrong)


def test_tests_and_scripts_read_no_private_name_of_the_package():
    wrong = []
    for p in sorted([*ROOT.glob("tests/*.py"), *ROOT.glob("scripts/*.py")]):
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("icmeta"):
                wrong += [f"{p.name}:{node.lineno}: {a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"]
    assert not wrong, "\n".join(wrong)


def chapters() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb"))


def test_every_figure_a_chapter_shows_is_registered_and_every_caption_is_drawn():
    from icmeta.figures import REGISTRY

    for nb in chapters():
        cells = json.loads(nb.read_text())["cells"]
        code = "".join("".join(c["source"]) + "\n" for c in cells if c["cell_type"] == "code")
        markdown = "".join("".join(c["source"]) + "\n" for c in cells if c["cell_type"] == "markdown")
        shown = re.findall(r'\bshow\("(\w+)"', code)
        assert "glue(" not in code or not re.search(r"\bglue\(\s*\"\w+\"\s*,\s*fig", code), f"{nb.name}: a figure glued by hand"
        stems = set()
        for name in shown:
            assert name in REGISTRY, f"{nb.name}: show({name!r}) is not in icmeta.figures.REGISTRY"
            stems |= set(REGISTRY[name].stems)
        captions = set(re.findall(r"\{glue:figure\}\s*`?(\w+)", markdown))
        captions -= set(re.findall(r'\bglue\(\s*"(\w+)"', code))  # a glued table or number, not a figure
        assert captions <= stems, f"{nb.name}: captions without a drawn figure: {sorted(captions - stems)}"


def test_module_docstrings_cite_nothing_the_reader_lacks():
    wrong = [str(p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py") if "PAPER.md" in p.read_text()]
    wrong += ["README.md"] if "PAPER.md" in (ROOT / "README.md").read_text() else []
    assert not wrong, wrong
