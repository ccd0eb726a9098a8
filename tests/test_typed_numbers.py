"""No measured number is typed in the book's prose (scripts/typed_numbers.py), and every value the
prose glues in is glued by its own page's code."""

import importlib.util
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


tn = _load("typed_numbers")


def _texts(markdown):
    return [t.text for t in tn.typed_in(markdown, "x.md")]


def test_a_typed_measurement_is_found():
    assert _texts("Accuracy ends at 0.98 after step 12,560.") == ["0.98", "12,560"]
    assert _texts("It pauses in 2 of 3 seeds (5 seeds of 6 at lr 0.01).") == ["2 of 3", "5 seeds of 6"]
    assert _texts("a stay 40 % of the run") == ["40 %"]


def test_glued_marked_and_defined_numbers_pass():
    md = (
        "Accuracy ends at {glue:text}`final` (the paper: [0.9]{.paper}), trained at lr 0.01 with "
        "batch 128 for 15,000 steps, K = 64, ε = 0.1 and 0.5; $p = 0.25$, `step 1234`, "
        "[a link](runs/run-0123/config.json)."
    )
    assert _texts(md) == []


def test_fenced_code_is_skipped_but_a_caption_is_read():
    assert _texts("```bash\nmake runs  # 1,234 steps\n```\n") == []
    assert _texts("```{glue:figure} fig5\n:name: fig-5\n\nEnds at 0.81.\n```\n") == ["0.81"]


def test_no_typed_measured_numbers_in_the_book():
    found = tn.typed_numbers()
    assert not found, f"{len(found)} typed measured numbers (glue them, or mark the paper's as [x]{{.paper}}):\n" + "\n".join(
        str(t) for t in found[:40]
    )


def _glued(nb) -> set[str]:
    names = set()
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            book = out.get("metadata", {}).get("scrapbook")
            if book:
                names.add(book["name"])
    return names


def test_every_glue_reference_is_glued_on_its_page():
    missing = []
    for path in sorted((ROOT / "book").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        glued = _glued(nb)
        for cell in nb["cells"]:
            if cell["cell_type"] != "markdown":
                continue
            text = "".join(cell["source"])
            refs = re.findall(r"\{glue(?::[a-z]+)?\}`([^`]+)`", text)
            refs += re.findall(r"```\{glue:figure\}\s+(\S+)", text)
            missing += [f"{path.name}: {r}" for r in refs if r not in glued]
    assert not missing, "referenced but never glued: " + ", ".join(missing)
