#!/usr/bin/env python
"""Execute the book's notebooks in place with papermill.

Every notebook of ``book/`` that ``_toc.yml`` lists is run with the kernel
``python3`` of *this* interpreter (the project's venv), in the notebook's own
folder.  Notebooks with a cell tagged ``parameters`` receive

    preset  <- $PRESET  (default "fast")
    seeds   <- $SEEDS   (default "0 1 2"; a list of ints, or the string if the
                         notebook's default value is a string)
    device  <- $DEVICE  (default "cpu")

(only the names their parameters cell defines).  Papermill's injected cell is
then tagged ``remove-cell`` so the book does not show it.

Usage: python scripts/run_notebooks.py [NOTEBOOK ...]   (default: all in the toc)
"""

from __future__ import annotations

import argparse
import ast
import os
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import papermill as pm
import yaml

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
KERNEL = "python3"


def toc_notebooks(toc_path: Path = ROOT / "_toc.yml") -> list[Path]:
    """Notebooks (in toc order) under book/ that the toc lists."""
    toc = yaml.safe_load(toc_path.read_text())
    entries: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            for key in ("root", "file"):
                if isinstance(node.get(key), str):
                    entries.append(node[key])
            for value in node.values():
                if isinstance(value, (list, dict)):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    out: list[Path] = []
    for entry in entries:
        path = ROOT / entry
        if path.suffix == "":
            path = path.with_suffix(".ipynb")
        if path.suffix == ".ipynb" and path.exists() and BOOK in path.resolve().parents:
            if path not in out:
                out.append(path)
    return out


def ensure_kernel() -> None:
    """Make the ``python3`` kernel resolve to this interpreter."""
    os.environ["JUPYTER_PREFER_ENV_PATH"] = "1"  # sys.prefix kernels win over ~/.local ones
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    def current() -> str | None:
        try:
            return KernelSpecManager().get_kernel_spec(KERNEL).argv[0]
        except NoSuchKernel:
            return None

    def ok(exe: str | None) -> bool:
        if exe is None:
            return False
        if exe in ("python", "python3", "{python}"):
            return False
        try:
            return Path(exe).resolve() == Path(sys.executable).resolve() or Path(exe).resolve().is_relative_to(
                Path(sys.prefix).resolve()
            )
        except OSError:
            return False

    if not ok(current()):
        subprocess.run(
            [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    exe = current()
    if not ok(exe):
        sys.exit(f"kernel {KERNEL!r} runs {exe!r}, not this interpreter {sys.executable}")


def _is_str_default(info: dict) -> bool:
    if str(info.get("inferred_type_name", "")).startswith("str"):
        return True
    try:
        return isinstance(ast.literal_eval(str(info.get("default", ""))), str)
    except (ValueError, SyntaxError):
        return False


def parameters_for(nb_path: Path) -> dict:
    wanted = {
        "preset": os.environ.get("PRESET", "fast"),
        "seeds": [int(s) for s in os.environ.get("SEEDS", "0 1 2").replace(",", " ").split()],
        "device": os.environ.get("DEVICE", "cpu"),
    }
    nb = nbformat.read(nb_path, as_version=4)
    if not any("parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells):
        return {}
    declared = pm.inspect_notebook(str(nb_path))
    params = {k: v for k, v in wanted.items() if k in declared}
    # a notebook that declares `seeds = "0 1 2"` gets the string, not a list
    if "seeds" in params and _is_str_default(declared["seeds"]):
        params["seeds"] = " ".join(str(s) for s in params["seeds"])
    return params


def hide_injected(nb_path: Path) -> None:
    nb = nbformat.read(nb_path, as_version=4)
    changed = False
    for cell in nb.cells:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    if changed:
        nbformat.write(nb, nb_path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("notebooks", nargs="*", type=Path, help="default: every book/ notebook in _toc.yml")
    args = ap.parse_args(argv)
    notebooks = [p.resolve() for p in args.notebooks] or toc_notebooks()
    if not notebooks:
        print("no notebooks to run", file=sys.stderr)
        return 1
    # A global non-interactive backend would make matplotlib drop inline figures.
    os.environ.pop("MPLBACKEND", None)
    ensure_kernel()
    for nb_path in notebooks:
        params = parameters_for(nb_path)
        t0 = time.time()
        shown = nb_path.relative_to(ROOT) if nb_path.is_relative_to(ROOT) else nb_path
        print(f"[run_notebooks] {shown} {params or ''}", flush=True)
        # executed into a temporary copy: a notebook that fails keeps its last good outputs
        out = nb_path.with_name(f".{nb_path.stem}.running.ipynb")
        try:
            pm.execute_notebook(
                str(nb_path),
                str(out),
                parameters=params or None,
                kernel_name=KERNEL,
                cwd=str(nb_path.parent),
                progress_bar=False,
                request_save_on_cell_execute=False,
            )
        except pm.PapermillExecutionError as e:
            out.unlink(missing_ok=True)
            print(f"[run_notebooks] {shown}: cell {e.exec_count} failed: {e.ename}: {e.evalue}", file=sys.stderr)
            return 1
        out.replace(nb_path)
        hide_injected(nb_path)
        print(f"[run_notebooks]   done in {time.time() - t0:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
