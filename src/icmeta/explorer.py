"""Self-contained, offline HTML "training explorer".

:func:`explorer_html` turns a list of pre-rendered training snapshots (one PNG
per seed and step) into a single HTML fragment with a seed selector, a step
slider, the current image and a caption.  Everything is inline: the images are
``data:`` URIs, the behaviour is a few lines of plain JavaScript and the styles
are scoped to the explorer's own id.  It therefore works in a static Jupyter
Book page with no kernel, no network and no JavaScript library, and several
explorers can live on the same page.

Typical use in a notebook::

    from IPython.display import HTML
    from icmeta.explorer import explorer_html
    HTML(explorer_html(frames, seeds=[0, 1, 2], title="Training explorer"))

or ``ExplorerHTML(frames, seeds=[0, 1, 2])`` as the last expression of a cell.
"""

from __future__ import annotations

import base64
import html
import json
import numbers
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["explorer_html", "ExplorerHTML"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_ID_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*$")
_FIELDS = ("seed", "step", "image_png", "caption")


def _is_int(value: Any) -> bool:
    # numbers.Integral covers numpy integers; bool is never a meaningful seed or step.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _validate(frames: Any, seeds: Any, element_id: Any) -> tuple[list[int], dict[int, list[dict]]]:
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence):
        raise ValueError(f"seeds: expected a non-empty sequence of ints, got {type(seeds).__name__}")
    if len(seeds) == 0:
        raise ValueError("seeds: expected a non-empty sequence of ints, got an empty sequence")
    seed_list: list[int] = []
    for i, s in enumerate(seeds):
        if not _is_int(s):
            raise ValueError(f"seeds[{i}]: expected int, got {type(s).__name__} ({s!r})")
        s = int(s)
        if s in seed_list:
            raise ValueError(f"seeds[{i}]: seed {s} is listed twice")
        seed_list.append(s)

    if isinstance(frames, (str, bytes, Mapping)) or not isinstance(frames, Sequence):
        raise ValueError(f"frames: expected a non-empty list of dicts, got {type(frames).__name__}")
    if len(frames) == 0:
        raise ValueError("frames: expected a non-empty list of dicts, got an empty list")

    by_seed: dict[int, dict[int, dict]] = {s: {} for s in seed_list}
    for i, fr in enumerate(frames):
        where = f"frames[{i}]"
        if not isinstance(fr, Mapping):
            raise ValueError(f"{where}: expected a dict, got {type(fr).__name__}")
        for key in _FIELDS:
            if key not in fr:
                raise ValueError(f"{where}: missing field '{key}' (need {', '.join(_FIELDS)})")
        seed, step, png, caption = (fr[k] for k in _FIELDS)
        if not _is_int(seed):
            raise ValueError(f"{where}['seed']: expected int, got {type(seed).__name__} ({seed!r})")
        if not _is_int(step):
            raise ValueError(f"{where}['step']: expected int, got {type(step).__name__} ({step!r})")
        seed, step = int(seed), int(step)
        if step < 0:
            raise ValueError(f"{where}['step']: expected a non-negative int, got {step}")
        if not isinstance(png, (bytes, bytearray, memoryview)):
            raise ValueError(f"{where}['image_png']: expected PNG bytes, got {type(png).__name__}")
        png = bytes(png)
        if not png.startswith(_PNG_SIGNATURE):
            raise ValueError(f"{where}['image_png']: not PNG data (missing the PNG signature)")
        if not isinstance(caption, str):
            raise ValueError(f"{where}['caption']: expected str, got {type(caption).__name__}")
        if seed not in by_seed:
            raise ValueError(f"{where}['seed']: seed {seed} is not listed in seeds={seed_list}")
        if step in by_seed[seed]:
            raise ValueError(f"{where}['step']: duplicate frame for seed {seed}, step {step}")
        by_seed[seed][step] = {"step": step, "png": png, "caption": caption}

    for s in seed_list:
        if not by_seed[s]:
            raise ValueError(f"seeds: seed {s} has no frames")

    if element_id is not None and (not isinstance(element_id, str) or not _ID_RE.match(element_id)):
        raise ValueError(
            f"element_id: expected a string starting with a letter and containing only "
            f"letters, digits, '-' and '_', got {element_id!r}"
        )
    ordered = {s: [by_seed[s][k] for k in sorted(by_seed[s])] for s in seed_list}
    return seed_list, ordered


def _json_for_script(obj: Any) -> str:
    """JSON that is safe inside a <script> element."""
    text = json.dumps(obj, separators=(",", ":"), ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


_CSS = """
#{id}{{font-family:inherit;max-width:100%;margin:.5em 0 1em;}}
#{id} .icm-title{{font-weight:600;margin:0 0 .4em;}}
#{id} .icm-controls{{display:flex;flex-wrap:wrap;align-items:center;gap:.4em 1.2em;margin:0 0 .5em;}}
#{id} .icm-control{{display:flex;align-items:center;gap:.45em;}}
#{id} label{{font-weight:500;}}
#{id} select{{font:inherit;padding:.1em .3em;}}
#{id} input[type=range]{{width:min(22em,60vw);}}
#{id} .icm-step{{font-variant-numeric:tabular-nums;min-width:7em;font-weight:600;}}
#{id} figure{{margin:0;text-align:left;}}
#{id} .icm-frame{{display:block;margin:0;max-width:100%;height:auto;border:1px solid rgba(128,128,128,.35);background:#fff;}}
#{id} .icm-caption{{margin-top:.4em;text-align:left;color:inherit;white-space:pre-wrap;font-size:.9em;font-variant-numeric:tabular-nums;}}
"""

# The script is self-contained and finds everything through the root id, so
# several explorers on one page never interfere.
_JS = """
(function () {
  var root = document.getElementById("%(id)s");
  if (!root || root.getAttribute("data-icm-ready")) { return; }
  root.setAttribute("data-icm-ready", "1");
  var data = JSON.parse(document.getElementById("%(id)s-data").textContent);
  var seedSel = document.getElementById("%(id)s-seed");
  var slider = document.getElementById("%(id)s-slider");
  var label = root.querySelector(".icm-step");
  var img = root.querySelector(".icm-frame");
  var cap = root.querySelector(".icm-caption");
  var current = null;
  function frames() { return data.frames[seedSel.value]; }
  function show() {
    var fs = frames(), i = Math.max(0, Math.min(fs.length - 1, parseInt(slider.value, 10) || 0));
    var f = fs[i], text = "step " + f.step;
    label.textContent = text;
    slider.setAttribute("aria-valuetext", text);
    img.src = "data:image/png;base64," + f.png;
    img.alt = "Training snapshot for seed " + seedSel.value + " at " + text;
    cap.textContent = f.caption;
  }
  function onSeed() {
    var old = current ? current[parseInt(slider.value, 10) || 0] : null;
    var fs = frames(), best = 0;
    if (old) {
      for (var k = 0; k < fs.length; k++) {
        if (Math.abs(fs[k].step - old.step) < Math.abs(fs[best].step - old.step)) { best = k; }
      }
    }
    slider.max = String(fs.length - 1);
    slider.value = String(best);
    slider.disabled = fs.length < 2;
    current = fs;
    show();
  }
  current = frames();
  seedSel.addEventListener("change", onSeed);
  slider.addEventListener("input", show);
  slider.addEventListener("change", show);
  onSeed();
})();
"""


def explorer_html(
    frames: Sequence[Mapping[str, Any]],
    *,
    seeds: Sequence[int],
    title: str = "",
    element_id: str | None = None,
) -> str:
    """Return a self-contained HTML fragment that browses training snapshots.

    Parameters
    ----------
    frames:
        ``[{"seed": int, "step": int, "image_png": bytes, "caption": str}, ...]``.
        Every ``(seed, step)`` pair must be unique and every seed must be listed
        in ``seeds``.  Steps are shown in increasing order.
    seeds:
        The seeds offered by the selector, in display order (the first is shown
        first).  Each must have at least one frame.
    title:
        Optional heading shown above the controls (plain text).
    element_id:
        id of the root element; must be unique on the page.  Default: a fresh
        random id.  Child ids are derived from it (``<id>-seed``, ``<id>-slider``).

    Raises
    ------
    ValueError
        On malformed input; the message names the offending field, e.g.
        ``frames[3]['image_png']: not PNG data``.
    """
    seed_list, by_seed = _validate(frames, seeds, element_id)
    eid = element_id or f"icm-explorer-{uuid.uuid4().hex[:12]}"
    payload = {
        "seeds": seed_list,
        "frames": {
            str(s): [
                {"step": f["step"], "png": base64.b64encode(f["png"]).decode("ascii"), "caption": f["caption"]}
                for f in by_seed[s]
            ]
            for s in seed_list
        },
    }
    first_seed = seed_list[0]
    first = payload["frames"][str(first_seed)][0]
    n_first = len(by_seed[first_seed])
    esc = html.escape
    title_html = (
        f'<div class="icm-title" id="{eid}-title">{esc(title)}</div>' if title else ""
    )
    labelled = f' aria-labelledby="{eid}-title"' if title else ' aria-label="Training explorer"'
    options = "".join(
        f'<option value="{s}"{" selected" if s == first_seed else ""}>seed {s}</option>' for s in seed_list
    )
    parts = [
        f'<div class="icm-explorer" id="{eid}" role="group"{labelled}>',
        f"<style>{_CSS.format(id=eid)}</style>",
        title_html,
        '<div class="icm-controls">',
        '<span class="icm-control">',
        f'<label for="{eid}-seed">Seed</label>',
        f'<select id="{eid}-seed" class="icm-seed">{options}</select>',
        "</span>",
        '<span class="icm-control">',
        f'<label for="{eid}-slider">Training step</label>',
        f'<input type="range" id="{eid}-slider" class="icm-slider" min="0" max="{n_first - 1}" '
        f'step="1" value="0" aria-valuetext="step {first["step"]}"{" disabled" if n_first < 2 else ""}>',
        f'<output class="icm-step" for="{eid}-slider" aria-live="polite">step {first["step"]}</output>',
        "</span>",
        "</div>",
        "<figure>",
        f'<img class="icm-frame" src="data:image/png;base64,{first["png"]}" '
        f'alt="Training snapshot for seed {first_seed} at step {first["step"]}">',
        f'<figcaption class="icm-caption">{esc(first["caption"])}</figcaption>',
        "</figure>",
        f'<script type="application/json" id="{eid}-data">{_json_for_script(payload)}</script>',
        f"<script>{_JS % {'id': eid}}</script>",
        "</div>",
    ]
    return "\n".join(p for p in parts if p)


class ExplorerHTML:
    """Notebook-friendly wrapper: displays as the explorer in Jupyter.

    ``ExplorerHTML(frames, seeds=[0, 1])`` as the last expression of a cell
    stores a ``text/html`` output, exactly like ``HTML(explorer_html(...))``.
    """

    def __init__(self, frames, *, seeds, title: str = "", element_id: str | None = None):
        self.html = explorer_html(frames, seeds=seeds, title=title, element_id=element_id)

    def _repr_html_(self) -> str:
        return self.html

    def __str__(self) -> str:
        return self.html
