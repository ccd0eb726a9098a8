"""Unit tests for icmeta.book.explorer: the widget's structure, its browser-side links and its input checks
(the browser test drives the embedded widget in Chromium)."""

from __future__ import annotations

import struct
import zlib

import ipywidgets as w
import pytest

from icmeta.book.explorer import explorer_widget


def tiny_png(value: int) -> bytes:
    """A valid 1x1 grey PNG whose pixel value makes each frame distinct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(bytes([0, value % 256]))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_frames(seeds=(0, 1), steps=(0, 600, 1200)):
    return [
        {
            "seed": s,
            "step": t,
            "image_png": tiny_png(10 * s + t // 600),
            "caption": f"acc={0.1 * (t // 600):.2f} phase=P{t // 600} <seed {s}> & co",
        }
        for s in seeds
        for t in steps
    ]


def parts(widget):
    """(seed dropdown, step slider, per-seed stacks, the stack of seeds)."""
    controls, shown = widget.children[-2], widget.children[-1]
    seed, step = controls.children
    return seed, step, list(shown.children), shown


def test_structure_frames_in_step_order_and_browser_side_links():
    frames = make_frames(seeds=(7, 3), steps=(1200, 0, 600))
    widget = explorer_widget(frames, seeds=[7, 3], title="Demo <x>")
    assert "icm-explorer" in widget._dom_classes
    assert widget.children[0].value == "<b>Demo &lt;x&gt;</b>"
    seed, step, stacks, shown = parts(widget)
    assert seed.options == (("seed 7", 0), ("seed 3", 1)) and shown.selected_index == 0
    assert step.options == ("0", "600", "1,200") and step.index == 2  # opens at the last step
    for s, stack in zip((7, 3), stacks):
        assert stack.selected_index == 2
        images = [frame.children[0].value for frame in stack.children]
        assert images == [tiny_png(10 * s + t // 600) for t in (0, 600, 1200)]
        caption = stack.children[1].children[1].value
        assert caption.startswith('<pre class="icm-caption">') and "&lt;seed" in caption and "&amp; co" in caption
    # the controls drive the frames in the browser (jslink), so the embedded page works with no kernel
    pairs = {((x.source[0].model_id, x.source[1]), (x.target[0].model_id, x.target[1])) for x in widget.links}
    assert ((seed.model_id, "index"), (shown.model_id, "selected_index")) in pairs
    assert all(((step.model_id, "index"), (st.model_id, "selected_index")) in pairs for st in stacks)
    assert len(pairs) == 3


def test_start_first_and_numpy_integers():
    np = pytest.importorskip("numpy")
    frames = make_frames()
    for f in frames:
        f["seed"], f["step"] = np.int64(f["seed"]), np.int32(f["step"])
    widget = explorer_widget(frames, seeds=np.array([0, 1]).tolist(), start="first")
    seed, step, stacks, shown = parts(widget)
    assert step.index == 0 and [st.selected_index for st in stacks] == [0, 0]


def _bad(**changes):
    frames = make_frames()
    idx = changes.pop("idx", 1)
    for k, v in changes.items():
        if v is KeyError:
            del frames[idx][k]
        else:
            frames[idx][k] = v
    return frames


@pytest.mark.parametrize(
    "frames, seeds, match",
    [
        ([], [0], r"^frames: .*empty"),
        ("nope", [0], r"^frames: expected a non-empty list"),
        ({"seed": 0}, [0], r"^frames: expected a non-empty list"),
        ([42], [0], r"^frames\[0\]: expected a dict"),
        (_bad(image_png=KeyError), [0, 1], r"^frames\[1\]: missing field 'image_png'"),
        (_bad(caption=KeyError), [0, 1], r"^frames\[1\]: missing field 'caption'"),
        (_bad(step="600"), [0, 1], r"^frames\[1\]\['step'\]: expected int, got str"),
        (_bad(step=True), [0, 1], r"^frames\[1\]\['step'\]: expected int, got bool"),
        (_bad(step=-1), [0, 1], r"^frames\[1\]\['step'\]: expected a non-negative int"),
        (_bad(seed=1.0), [0, 1], r"^frames\[1\]\['seed'\]: expected int, got float"),
        (_bad(image_png="abc"), [0, 1], r"^frames\[1\]\['image_png'\]: expected PNG bytes, got str"),
        (_bad(image_png=b"GIF89a..."), [0, 1], r"^frames\[1\]\['image_png'\]: not PNG data"),
        (_bad(caption=3.5), [0, 1], r"^frames\[1\]\['caption'\]: expected str, got float"),
        (_bad(step=0), [0, 1], r"^frames\[1\]\['step'\]: duplicate frame for seed 0, step 0"),
        (make_frames(), [0], r"^frames\[3\]\['seed'\]: seed 1 is not listed in seeds"),
        (make_frames(), [0, 1, 2], r"^seeds: seed 2 has no frames"),
        (make_frames(), [], r"^seeds: .*empty"),
        (make_frames(), 0, r"^seeds: expected a non-empty sequence"),
        (make_frames(), [0, "1"], r"^seeds\[1\]: expected int, got str"),
        (make_frames(), [0, 1, 0], r"^seeds\[2\]: seed 0 is listed twice"),
        (make_frames(seeds=(0,)) + make_frames(seeds=(1,), steps=(0, 600)), [0, 1], r"^frames: seed 1 has other steps"),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(frames, seeds, match):
    with pytest.raises(ValueError, match=match):
        explorer_widget(frames, seeds=seeds)


def test_the_explorer_spends_its_frames_where_training_moves():
    """The frames' log grid starts a decade before the curve first moves a tenth of its range,
    keeps step 0, the last step and the moments a page points at (`extra`)."""
    import numpy as np

    from icmeta.analysis.summaries import moved_at
    from icmeta.book.frames import snapshot_subset

    steps = np.unique(np.round(np.logspace(0, 4, 400))).astype(int)
    acc = 0.05 + 0.9 / (1 + np.exp(-(np.log10(steps) - 3) / 0.1))  # rises around step 1,000
    at = moved_at(steps, acc)
    assert 400 < at < 1_000
    keep = sorted(snapshot_subset(np.r_[0, steps], per_decade=10, start=at / 10, extra=[3_550]))
    assert keep[0] == 0 and keep[-1] == steps[-1]
    nearest = steps[np.argmin(np.abs(steps - 3_550))]
    assert nearest in keep  # the moment a page points at has its frame
    assert sum(1 for k in keep if 0 < k < at / 10 * 0.9) == 0  # nothing spent before the start
    assert len(keep) >= 10 * np.log10(steps[-1] / (at / 10))  # about ten frames a decade after it
    assert moved_at([1, 2, 3], [0.5, 0.5, 0.5]) is None
