"""Unit tests for icmeta.explorer (pure Python: no browser, no kernel)."""

from __future__ import annotations

import base64
import json
import re
import struct
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

try:
    from icmeta.explorer import ExplorerHTML, explorer_html
except ImportError:  # package not installed: test the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from icmeta.explorer import ExplorerHTML, explorer_html


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


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.text: dict[str, str] = {}
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        self._stack.append(" ".join(filter(None, [attrs.get("class"), attrs.get("id")])))

    def handle_endtag(self, tag):
        if self._stack:
            self._stack.pop()

    def handle_data(self, data):
        if self._stack and self._stack[-1]:
            key = self._stack[-1]
            self.text[key] = self.text.get(key, "") + data

    def find(self, tag=None, cls=None):
        return [
            a for t, a in self.tags if (tag is None or t == tag) and (cls is None or cls in (a.get("class") or "").split())
        ]


def parse(html: str) -> Collector:
    c = Collector()
    c.feed(html)
    return c


def payload(html: str, eid: str) -> dict:
    m = re.search(rf'<script type="application/json" id="{re.escape(eid)}-data">(.*?)</script>', html, re.S)
    assert m, "JSON payload script missing"
    return json.loads(m.group(1))


def test_structure_and_accessibility():
    html = explorer_html(make_frames(), seeds=[0, 1], title="Demo", element_id="ex1")
    doc = parse(html)
    root = doc.find("div", "icm-explorer")
    assert len(root) == 1 and root[0]["id"] == "ex1"
    assert root[0].get("aria-labelledby") == "ex1-title"

    (select,) = doc.find("select")
    assert select["id"] == "ex1-seed"
    options = [a for t, a in doc.tags if t == "option"]
    assert [o["value"] for o in options] == ["0", "1"]

    (slider,) = [a for t, a in doc.tags if t == "input" and a.get("type") == "range"]
    assert slider["id"] == "ex1-slider"
    assert (slider["min"], slider["max"], slider["value"]) == ("0", "2", "0")

    labels = {a["for"] for a in doc.find("label")}
    assert labels == {"ex1-seed", "ex1-slider"}, "every control needs a <label for=...>"

    (img,) = doc.find("img", "icm-frame")
    assert img["src"].startswith("data:image/png;base64,")
    assert base64.b64decode(img["src"].split(",", 1)[1]) == tiny_png(0)
    assert img["alt"]

    assert doc.text["icm-step"].strip() == "step 0"
    # caption is escaped plain text
    assert "&lt;seed 0&gt; &amp; co" in html
    assert doc.text["icm-caption"] == "acc=0.00 phase=P0 <seed 0> & co"

    # inline only: no external resources at all
    assert not re.search(r'\b(src|href)="(?!data:)', html)
    assert "http://" not in html and "https://" not in html


def test_all_frames_present_and_sorted():
    frames = make_frames(seeds=(3, 7), steps=(1200, 0, 600))  # unsorted input
    html = explorer_html(frames, seeds=[7, 3], element_id="ex2")
    data = payload(html, "ex2")
    assert data["seeds"] == [7, 3]
    for s in (3, 7):
        got = data["frames"][str(s)]
        assert [f["step"] for f in got] == [0, 600, 1200]
        for f in got:
            assert base64.b64decode(f["png"]) == tiny_png(10 * s + f["step"] // 600)
            assert f"<seed {s}>" in f["caption"]
    # first listed seed is the one shown initially
    assert re.search(r'<option value="7" selected>', html)


def test_payload_is_script_safe():
    frames = make_frames(seeds=(0,), steps=(0, 1))
    frames[0]["caption"] = "</script><script>alert(1)</script>"
    html = explorer_html(frames, seeds=[0], element_id="ex3")
    m = re.search(r'id="ex3-data">(.*?)</script>', html, re.S)
    assert "<" not in m.group(1)
    assert json.loads(m.group(1))["frames"]["0"][0]["caption"] == frames[0]["caption"]


def test_ids_unique_within_and_across_explorers():
    a = explorer_html(make_frames(), seeds=[0, 1])
    b = explorer_html(make_frames(), seeds=[0, 1])
    ids_a = [t[1]["id"] for t in parse(a).tags if "id" in t[1]]
    ids_b = [t[1]["id"] for t in parse(b).tags if "id" in t[1]]
    assert len(ids_a) == len(set(ids_a))
    assert not set(ids_a) & set(ids_b), "two explorers on one page must not share ids"
    root_a = parse(a).find("div", "icm-explorer")[0]["id"]
    assert all(i == root_a or i.startswith(root_a + "-") for i in ids_a)
    # the script only addresses its own root
    assert f'document.getElementById("{root_a}")' in a and root_a not in b


def test_single_frame_disables_slider_and_wrapper_class():
    frames = make_frames(seeds=(0,), steps=(5,))
    obj = ExplorerHTML(frames, seeds=[0], element_id="one")
    html = obj._repr_html_()
    (slider,) = [a for t, a in parse(html).tags if t == "input"]
    assert "disabled" in slider and slider["max"] == "0"
    assert str(obj) == html == explorer_html(frames, seeds=[0], element_id="one")


def test_numpy_integers_accepted():
    np = pytest.importorskip("numpy")
    frames = make_frames()
    for f in frames:
        f["seed"], f["step"] = np.int64(f["seed"]), np.int32(f["step"])
    html = explorer_html(frames, seeds=np.array([0, 1]).tolist(), element_id="np")
    assert payload(html, "np")["frames"]["1"][2]["step"] == 1200


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
    "frames, seeds, element_id, match",
    [
        ([], [0], None, r"^frames: .*empty"),
        ("nope", [0], None, r"^frames: expected a non-empty list"),
        ({"seed": 0}, [0], None, r"^frames: expected a non-empty list"),
        ([42], [0], None, r"^frames\[0\]: expected a dict"),
        (_bad(image_png=KeyError), [0, 1], None, r"^frames\[1\]: missing field 'image_png'"),
        (_bad(caption=KeyError), [0, 1], None, r"^frames\[1\]: missing field 'caption'"),
        (_bad(step="600"), [0, 1], None, r"^frames\[1\]\['step'\]: expected int, got str"),
        (_bad(step=True), [0, 1], None, r"^frames\[1\]\['step'\]: expected int, got bool"),
        (_bad(step=-1), [0, 1], None, r"^frames\[1\]\['step'\]: expected a non-negative int"),
        (_bad(seed=1.0), [0, 1], None, r"^frames\[1\]\['seed'\]: expected int, got float"),
        (_bad(image_png="abc"), [0, 1], None, r"^frames\[1\]\['image_png'\]: expected PNG bytes, got str"),
        (_bad(image_png=b"GIF89a..."), [0, 1], None, r"^frames\[1\]\['image_png'\]: not PNG data"),
        (_bad(caption=3.5), [0, 1], None, r"^frames\[1\]\['caption'\]: expected str, got float"),
        (_bad(step=0), [0, 1], None, r"^frames\[1\]\['step'\]: duplicate frame for seed 0, step 0"),
        (make_frames(), [0], None, r"^frames\[3\]\['seed'\]: seed 1 is not listed in seeds"),
        (make_frames(), [0, 1, 2], None, r"^seeds: seed 2 has no frames"),
        (make_frames(), [], None, r"^seeds: .*empty"),
        (make_frames(), 0, None, r"^seeds: expected a non-empty sequence"),
        (make_frames(), [0, "1"], None, r"^seeds\[1\]: expected int, got str"),
        (make_frames(), [0, 1, 0], None, r"^seeds\[2\]: seed 0 is listed twice"),
        (make_frames(), [0, 1], "1abc", r"^element_id: "),
        (make_frames(), [0, 1], 'x" onload="', r"^element_id: "),
    ],
)
def test_bad_input_raises_value_error_naming_the_field(frames, seeds, element_id, match):
    with pytest.raises(ValueError, match=match):
        explorer_html(frames, seeds=seeds, element_id=element_id)
