"""Typed numbers in the book's prose: every number a reader sees in a chapter's markdown or the
README must either be glued from the value the code computed (``{glue:text}`name```), be the
paper's own (written ``[0.9]{.paper}``, shown with a dotted underline), or be a definition named
in ALLOWED below with its reason. Anything else is a typed measured number, which the data can
leave behind unnoticed.

    python scripts/typed_numbers.py [FILE ...]   # list them, with their context (all files by default)

tests/test_typed_numbers.py fails while the list is not empty.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What counts as a number worth checking: decimals, integers of three digits or more (with or
# without thousands separators), percentages, and counts of the form "k of n" (seeds, settings).
NUMBER = re.compile(
    r"(?<![\w.\-/])(?:"
    r"\d+(?:\.\d+)?\s?%"  # 4 %, 0.5%
    r"|\d+ (?:seeds? |settings? |runs? |heads? )?of (?:the )?\d+\b"  # 2 of 3, 5 seeds of 6
    r"|\d+\.\d+"  # 0.95
    r"|\d{1,3}(?:,\d{3})+"  # 19,550
    r"|\d{3,}"  # 128, 2025
    r")(?![\w])"
)

# Definitions a chapter may type: the task's and the training's settings (what a run is asked to
# do, not what it did), and the readings' fixed conventions. Each: a pattern that must cover the
# number with the words that make it a definition, and why it is not a measured value.
ALLOWED: list[tuple[str, str]] = [
    (r"\blr (?:of )?(?:0\.1|0\.03|0\.01|10⁻³|0\.001)\b", "a learning rate a run is trained at (its config)"),
    (r"\bbatch(?: size)? (?:64|128|256|512)\b", "a batch size a run is trained at (its config)"),
    (r"\b(?:1[05]|[24]0),000 steps\b", "the length a sweep is trained for (its config)"),
    (r"\b(?:1[05]|[24]0|100|150),000(?:-step| steps)\b", "the length a run is trained for (its config)"),
    (r"\b(?:K|L|N|B|T|D|P|E|d|m) ?= ?(?:\d+|\d+\.\d+)(?:(?:, | and | or |, and )(?:\d+|\d+\.\d+))*", "a task or model setting (its config)"),
    (r"\b(?:α|β|ε|p_B|p_b|β_T) ?= ?\d+(?:\.\d+)?(?:(?:, | and | or |, and )\d+(?:\.\d+)?)*", "a data property's setting (its config)"),
    (r"(?:width|dimension|d_model|hidden size) (?:of )?\d+", "the model's width (its config)"),
    (r"\bICML 2025\b|arXiv:? ?\d{4}\.\d{4,5}", "the paper's venue and identifier"),
    (r"§\s?[A-Z]?\d+(?:\.\d+)*", "a section of the paper"),
    (r"\d+-dimensional", "the model's width (its config)"),
    (r"step × lr / 0\.01", "the definition of the paper's clock"),
    (r"(?:≥ ?|reach(?:es|ed|ing)? |pass(?:es|ed)? |to )0\.95\b|\b0\.95(?= (?:at|by|is reached|within|in)\b)",
     "0.95, the level whose first step the reach tables time (a definition)"),
    (r"\bPython 3\.\d+", "the Python version the project requires"),
    (r"(?m)^\| (?:batch|steps) \| [\d,]+ \| \*\*[\d,]+\*\*", "the presets' table: the paper's setting and fast's (config)"),
    (r"\bGPT2?-XL\b|\b1\.5B\b", "the name of a model"),
    (r"\bH200\b|\bAVX-512\b", "the name of a machine"),
]


@dataclass(frozen=True)
class Typed:
    file: str
    cell: int  # markdown cell index (-1 for a plain markdown file)
    text: str  # the number as typed
    context: str

    def __str__(self) -> str:
        where = f"{self.file}[{self.cell}]" if self.cell >= 0 else self.file
        return f"{where}: {self.text!r} in …{self.context}…"


def prose(markdown: str) -> str:
    """The markdown a reader sees as prose: glued values, the paper's marked values, maths, code,
    link targets and HTML attributes blanked (same length, so positions stay)."""

    def blank(m: re.Match) -> str:
        return re.sub(r"[^\n]", " ", m.group(0))

    out = _blank_code_fences(markdown)
    for pattern, flags in [
        (r"\{glue(?::[a-z]+)?\}`[^`]*`", 0),
        (r"\[[^\]\n]*\]\{\.paper\}", 0),
        (r"\{(?:cite|numref|ref|doc|eq)[^}]*\}`[^`]*`", 0),
        (r"\$\$.*?\$\$", re.S),
        (r"\$[^$]+?\$", 0),
        (r"`[^`\n]*`", 0),
        (r"\]\([^)\s]*\)", 0),
        (r"<[^>\n]*>", 0),
        (r"^:[a-z-]+:.*$", re.M),  # directive options (:name: fig-7a, :width: 80%)
        (r"https?://\S+", 0),
    ]:
        out = re.sub(pattern, blank, out, flags=flags)
    return out


def _blank_code_fences(markdown: str) -> str:
    """Blank fenced code blocks; a ```{directive} block (a figure's caption, an admonition) is prose."""
    lines, out, stack = markdown.split("\n"), [], []
    for line in lines:
        fence = re.match(r"\s*(`{3,}|:{3,})(.*)$", line)
        in_code = "code" in stack
        if fence and not fence.group(2).strip() and stack:
            stack.pop()
            out.append(line)
        elif fence and not in_code and fence.group(2).strip():
            stack.append("prose" if fence.group(2).lstrip().startswith("{") else "code")
            out.append(line)
        else:
            out.append(" " * len(line) if in_code else line)
    return "\n".join(out)


def typed_in(markdown: str, file: str, cell: int = -1) -> list[Typed]:
    text = prose(markdown)
    allowed = [m.span() for pattern, _ in ALLOWED for m in re.finditer(pattern, text)]
    found = []
    for m in NUMBER.finditer(text):
        a, b = m.span()
        if any(s <= a and b <= e for s, e in allowed):
            continue
        context = re.sub(r"\s+", " ", text[max(0, a - 50) : b + 30]).strip()
        found.append(Typed(file, cell, m.group(0), context))
    return found


def markdown_cells(path: Path) -> list[tuple[int, str]]:
    nb = json.loads(path.read_text())
    return [(i, "".join(c["source"])) for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown"]


def book_files() -> list[Path]:
    return sorted((ROOT / "book").glob("*.ipynb")) + [ROOT / "README.md"]


def typed_numbers(files: list[Path] | None = None) -> list[Typed]:
    found: list[Typed] = []
    for path in files or book_files():
        rel = str(path.resolve().relative_to(ROOT))
        if path.suffix == ".ipynb":
            for i, source in markdown_cells(path):
                found += typed_in(source, rel, i)
        else:
            found += typed_in(path.read_text(), rel)
    return found


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or None
    found = typed_numbers(files)
    for t in found:
        print(t)
    counts: dict[str, int] = {}
    for t in found:
        counts[t.file] = counts.get(t.file, 0) + 1
    for f, n in sorted(counts.items()):
        print(f"{n:5d}  {f}")
    print(f"{len(found):5d}  typed measured numbers in all")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
