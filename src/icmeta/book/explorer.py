"""The training explorer: an ipywidgets widget that browses training snapshots.

:func:`explorer_widget` turns pre-rendered snapshots (one PNG of the attention maps and one
caption per seed and step; `icmeta.book.frames.explorer_frames`) into a seed selector, a step
slider and the current frame. The controls are tied to the frames by
``jslink``, that is in the browser: in Jupyter the widget is live, and in the built book the
same widget is embedded with its state (the notebook stores it) and stays interactive with
no kernel and no network. One implementation serves both.

Typical use in a notebook (the widget as the last expression of a cell)::

    from icmeta.book.explorer import explorer_widget
    explorer_widget(frames, seeds=[0, 1, 2], title="Training explorer")
"""

from __future__ import annotations

import html
import numbers
import struct
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["explorer_widget"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FIELDS = ("seed", "step", "image_png", "caption")


def _is_int(value: Any) -> bool:
    # numbers.Integral covers numpy integers; bool is never a meaningful seed or step.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _validate(frames: Any, seeds: Any) -> tuple[list[int], dict[int, list[dict]]]:
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

    ordered = {s: [by_seed[s][k] for k in sorted(by_seed[s])] for s in seed_list}
    return seed_list, ordered


def explorer_widget(frames: Sequence[Mapping[str, Any]], *, seeds: Sequence[int], title: str = "",
                    start: str = "last"):
    """The explorer as an ipywidgets ``VBox`` (CSS class ``icm-explorer``; its ``links`` are the
    ``jslink`` objects that tie the controls to the frames).

    Parameters
    ----------
    frames:
        ``[{"seed": int, "step": int, "image_png": bytes, "caption": str}, ...]``: every
        ``(seed, step)`` pair once, every seed listed in ``seeds``, and every seed with the same
        steps (the slider is shared). Steps are shown in increasing order.
    seeds:
        The seeds offered by the selector, in display order (the first is shown first).
    title:
        Optional heading shown above the controls (plain text).
    start:
        ``"last"`` (default: the trained model) or ``"first"``: the step shown first.

    Raises
    ------
    ValueError
        On malformed input, naming the offending field, e.g. ``frames[3]['image_png']: not
        PNG data``.
    """
    import ipywidgets as w

    seed_list, by_seed = _validate(frames, seeds)
    steps = [f["step"] for f in by_seed[seed_list[0]]]
    for s in seed_list[1:]:
        if [f["step"] for f in by_seed[s]] != steps:
            raise ValueError(f"frames: seed {s} has other steps than seed {seed_list[0]} (the step slider is shared)")
    if start not in ("first", "last"):
        raise ValueError(f"start: expected 'first' or 'last', got {start!r}")
    first = len(steps) - 1 if start == "last" else 0

    def frame(f: dict) -> Any:
        width = struct.unpack(">I", f["png"][16:20])[0]  # shown at the size it was rendered: never upscaled
        image = w.Image(value=f["png"], format="png", layout=w.Layout(width=f"{width}px", max_width="100%", height="auto"))
        caption = w.HTML(f'<pre class="icm-caption">{html.escape(f["caption"])}</pre>')
        return w.VBox([image, caption])

    per_seed = [w.Stack([frame(f) for f in by_seed[s]], selected_index=first) for s in seed_list]
    shown = w.Stack(per_seed, selected_index=0)
    seed = w.Dropdown(options=[(f"seed {s}", i) for i, s in enumerate(seed_list)], value=0, description="seed",
                      layout=w.Layout(width="11em"))
    step = w.SelectionSlider(options=[f"{st:,}" for st in steps], index=first, description="step",
                             continuous_update=True, layout=w.Layout(width="28em"))
    links = [w.jslink((seed, "index"), (shown, "selected_index")),
             *(w.jslink((step, "index"), (stack, "selected_index")) for stack in per_seed)]
    parts = [w.HTML(f"<b>{html.escape(title)}</b>")] if title else []
    # (no Play button: the book theme's Font Awesome script swaps its icons, which breaks the
    # widget's update in the static page, and with it the links that follow)
    root = w.VBox([*parts, w.HBox([seed, step]), shown])
    root.add_class("icm-explorer")
    root.links = links  # the browser-side links between the controls and the frames
    return root
