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
then tagged ``remove-cell`` so the book does not show it, and a cell tagged ``static-picture``
keeps only the picture of its widget (``icmeta.book.page.LiveInJupyter``).

A notebook file is rewritten only when what it shows changed: each cell keeps the id
it has in the notebook on disk, papermill's timings (start_time, end_time, duration,
exception of each cell, the notebook's timestamps) and nbclient's per-cell execution
timestamps are dropped, and the result is compared with the notebook on disk under
the normalisation nbval applies (``book/nbval_sanitize.cfg``'s regexes on every
output, streams merged; widget model ids, which are random, renamed canonically).
Equal: the file is left untouched (not even its mtime changes).

Usage: python scripts/run_notebooks.py [NOTEBOOK ...]   (default: all in the toc)
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import re
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
SANITIZE = BOOK / "nbval_sanitize.cfg"  # what `make test-nbval` normalises outputs with
VOLATILE_CELL = ("start_time", "end_time", "duration", "exception")  # papermill's, per cell
VOLATILE_NOTEBOOK = ("start_time", "end_time", "duration")  # papermill's, per notebook
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


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


def hide_injected_cells(nb) -> bool:
    """Tag papermill's injected-parameters cell ``remove-cell``; True if a tag was added."""
    changed = False
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if "injected-parameters" in tags and "remove-cell" not in tags:
            tags.append("remove-cell")
            changed = True
    return changed


def show_static_pictures(nb) -> None:
    """In every cell tagged ``static-picture`` (`icmeta.book.page.STATIC_PICTURE`), drop the
    widget's view from the outputs: the built book then shows the output's HTML, the picture of
    the widget's first state (`icmeta.book.page.LiveInJupyter`), instead of controls that cannot
    run without a kernel."""
    for cell in nb.cells:
        if "static-picture" in cell.get("metadata", {}).get("tags", []):
            for out in cell.get("outputs", []):
                out.get("data", {}).pop(WIDGET_VIEW, None)
    prune_widget_state(nb)


def prune_widget_state(nb) -> None:
    """Keep in the notebook's widget state only the models connected (by references either way:
    a slider and the links that point at it) to a widget some output still shows; none left:
    no widget state at all. Without this, the models of a widget shown as a picture would stay,
    under random ids, and the notebook would differ on every run."""
    widgets = nb.get("metadata", {}).get("widgets", {})
    state = widgets.get(WIDGET_STATE, {}).get("state")
    if state is None:
        return
    shown = {out["data"][WIDGET_VIEW]["model_id"] for cell in nb.cells for out in cell.get("outputs", [])
             if WIDGET_VIEW in out.get("data", {})}
    edges: dict[str, set[str]] = {k: set() for k in state}
    for k, model in state.items():
        for ref in re.findall(r"IPY_MODEL_([0-9a-f]+)", json.dumps(model)):
            if ref in edges:
                edges[k].add(ref)
                edges[ref].add(k)
    keep, todo = set(), [k for k in shown if k in state]
    while todo:
        k = todo.pop()
        if k not in keep:
            keep.add(k)
            todo += edges[k] - keep
    for k in set(state) - keep:
        del state[k]
    if not state:
        del nb["metadata"]["widgets"]


# --- leaving a notebook untouched when what it shows is unchanged ---------------------------------


def sanitize_patterns(path: Path = SANITIZE) -> list[tuple[str, str]]:
    """The (regex, replacement) pairs of an nbval sanitize file, read as nbval reads them."""
    if not Path(path).exists():
        return []
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", Path(path).read_text(), flags=re.MULTILINE)


def drop_volatile(nb, path: Path | None = None):
    """Remove what changes on every run although the notebook shows the same: papermill's
    start/end times, durations and exception flags (per cell; the notebook's times), nbclient's
    per-cell ``execution`` timestamps. With `path`, papermill's input and output paths become
    that notebook's path relative to the project (not this machine's absolute path, nor the
    temporary file it was executed into). In place; returns `nb`."""
    meta = nb.setdefault("metadata", {}).get("papermill")
    if isinstance(meta, dict):
        for key in VOLATILE_NOTEBOOK:
            meta.pop(key, None)
        if path is not None:
            shown = Path(path).resolve()
            shown = shown.relative_to(ROOT).as_posix() if shown.is_relative_to(ROOT) else shown.name
            for key in ("input_path", "output_path"):
                if key in meta:
                    meta[key] = shown
    for cell in nb.get("cells", []):
        cmeta = cell.get("metadata", {})
        cmeta.pop("execution", None)
        if isinstance(cmeta.get("papermill"), dict):
            for key in VOLATILE_CELL:
                cmeta["papermill"].pop(key, None)
    return nb


def _is_injected(cell) -> bool:
    return "injected-parameters" in cell.get("metadata", {}).get("tags", [])


def keep_ids(new, old):
    """Give each cell of `new` (a fresh execution) the id of its counterpart in `old` (the
    notebook on disk): cells are matched in order by type and source, papermill's injected cell
    with the old injected cell, an edited cell with the old cell of the same type in its place.
    In place; returns `new`."""
    def key(cell):
        return ("injected",) if _is_injected(cell) else (cell.get("cell_type"), cell.get("source", ""))

    old_cells, new_cells = old.get("cells", []), new.get("cells", [])
    matcher = difflib.SequenceMatcher(None, [key(c) for c in old_cells], [key(c) for c in new_cells],
                                      autojunk=False)
    pairs = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            pairs += zip(range(i1, i2), range(j1, j2))
        elif tag == "replace":
            pairs += [(i, j) for i, j in zip(range(i1, i2), range(j1, j2))
                      if old_cells[i].get("cell_type") == new_cells[j].get("cell_type")]
    kept = {}
    for i, j in pairs:
        if old_cells[i].get("id"):
            new_cells[j]["id"] = old_cells[i]["id"]
            kept[j] = old_cells[i]["id"]
    # a new cell's fresh id must not be one of the kept ones
    taken = set(kept.values())
    for j, cell in enumerate(new_cells):
        if j not in kept and cell.get("id") in taken:
            cell["id"] = _fresh_id(taken)
        if cell.get("id"):
            taken.add(cell["id"])
    return new


def _fresh_id(taken: set) -> str:
    import uuid

    while (cid := uuid.uuid4().hex[:8]) in taken:
        pass
    return cid


def _merge_streams(outputs: list) -> list:
    """Outputs as nbval compares them: all text of one stream (stdout, stderr) in its first
    output, with carriage-return overwrites and backspaces applied."""
    merged, streams = [], {}
    for out in outputs:
        if out.get("output_type") == "stream":
            name = out.get("name")
            if name in streams:
                streams[name]["text"] += out.get("text", "")
                continue
            out = dict(out, text=out.get("text", ""))
            streams[name] = out
        merged.append(out)
    for out in streams.values():
        text = out["text"]
        while True:
            shorter = re.sub(r"[^\n]\x08", "", text)
            if shorter == text:
                break
            text = shorter
        out["text"] = re.sub(r"^.*\r(?=[^\n])", "", text, flags=re.MULTILINE)
    return merged


def _sanitize(value, patterns):
    if isinstance(value, str):
        for regex, replace in patterns:
            value = re.sub(regex, replace, value)
        return value
    if isinstance(value, dict):
        return {k: _sanitize(v, patterns) for k, v in value.items()}
    if isinstance(value, list):
        return [_sanitize(v, patterns) for v in value]
    return value


_MODEL_ID = re.compile(r"[0-9a-f]{32}")


def _widget_ids(d: dict) -> dict[str, str]:
    """Canonical names for the widget model ids (random uuids) of notebook `d`: in the order the
    outputs show the widgets, then the models they refer to (depth first), then any others by
    their content."""
    state = d.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    order: list[str] = []

    def visit(mid: str) -> None:
        if mid in order:
            return
        order.append(mid)
        if isinstance(state.get(mid), dict):
            for ref in _MODEL_ID.findall(json.dumps(state[mid], sort_keys=True)):
                if ref in state:
                    visit(ref)

    for cell in d.get("cells", []):
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if isinstance(view, dict) and isinstance(view.get("model_id"), str):
                visit(view["model_id"])
    # the others (links between widgets: nothing refers to them) by their content, the models they
    # refer to already named, so that two links that differ only in their ends keep their order
    named = {mid: f"MODEL{i}" for i, mid in enumerate(order)}
    for mid in sorted(set(state) - set(order),
                      key=lambda m: _MODEL_ID.sub(lambda r: named.get(r.group(0), "ID"), json.dumps(state[m], sort_keys=True))):
        visit(mid)
    return {mid: f"MODEL{i}" for i, mid in enumerate(order)}


def comparable(nb, patterns: list[tuple[str, str]] | None = None) -> str:
    """`nb` as a string that is equal for two executions that show the same: volatile metadata
    dropped, outputs (and widget state) under nbval's sanitize regexes with streams merged,
    widget model ids renamed canonically. Cell ids count (see `keep_ids`)."""
    patterns = sanitize_patterns() if patterns is None else patterns
    d = drop_volatile(json.loads(json.dumps(nb)))
    d.get("metadata", {}).get("papermill", {}).pop("input_path", None)
    d.get("metadata", {}).get("papermill", {}).pop("output_path", None)
    for cell in d.get("cells", []):
        if "outputs" in cell:
            cell["outputs"] = _sanitize(_merge_streams(cell["outputs"]), patterns)
    widgets = d.get("metadata", {}).get("widgets")
    if widgets is not None:
        d["metadata"]["widgets"] = _sanitize(widgets, patterns)
    ids = _widget_ids(d)
    if ids:  # renamed, then sorted: the state's keys in the order of their canonical names
        d = json.loads(_MODEL_ID.sub(lambda m: ids.get(m.group(0), m.group(0)), json.dumps(d)))
    return json.dumps(d, sort_keys=True, ensure_ascii=False)


def finish(executed, committed, path: Path | None = None, patterns=None):
    """The executed notebook as it is to be stored (injected cell hidden, the committed cells'
    ids, no volatile metadata) and whether it differs from `committed` (None: there is none)
    in what it shows. `executed` is changed in place."""
    hide_injected_cells(executed)
    show_static_pictures(executed)
    if committed is not None:
        keep_ids(executed, committed)
    drop_volatile(executed, path)
    changed = committed is None or comparable(executed, patterns) != comparable(committed, patterns)
    return executed, changed


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
    failed = False
    for nb_path in notebooks:
        params = parameters_for(nb_path)
        t0 = time.time()
        shown = nb_path.relative_to(ROOT) if nb_path.is_relative_to(ROOT) else nb_path
        print(f"[run_notebooks] {shown} {params or ''}", flush=True)
        # executed into a temporary copy: a notebook that fails keeps its last good outputs
        out = nb_path.with_name(f".{nb_path.stem}.running.ipynb")
        before = nb_path.read_bytes()
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
        try:
            committed = nbformat.reads(before.decode(), as_version=4)
            executed, changed = finish(nbformat.read(out, as_version=4), committed, nb_path)
            if changed:
                if nb_path.read_bytes() != before:
                    print(f"[run_notebooks] {shown}: changed on disk while it ran; not overwritten, run it again",
                          file=sys.stderr)
                    failed = True
                    continue
                nbformat.write(executed, out)
                out.replace(nb_path)
        finally:
            out.unlink(missing_ok=True)
        print(f"[run_notebooks]   done in {time.time() - t0:.1f}s, "
              f"{'written' if changed else 'unchanged (file left as it was)'}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
