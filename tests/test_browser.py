"""End-to-end check of the built book in a real (headless) browser, offline.

* builds the book once per session if ``_build/html`` is missing or stale
  (vendoring the JS assets first when needed);
* serves ``_build/html`` on 127.0.0.1 from a thread;
* drives Debian's Chromium through Playwright (never ``playwright install``);
* fails if any request leaves 127.0.0.1 (data:/blob: URIs are fine);
* moves the training explorer widget's slider and seed selector (embedded
  ipywidgets state, no kernel) and checks the frame changes; checks MathJax comes from the vendored copy and typesets;
* saves ``_build/screenshots/explore.png``.

Set ``ICM_REBUILD_BOOK=1`` to force a rebuild and ``CHROMIUM=/path`` to use
another Chromium binary.
"""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"
EXPLORE = "book/03_explore.html"
HEADS = "book/08_heads.html"
VENDOR_MATHJAX = "_static/vendor/mathjax/tex-mml-chtml.js"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _book_sources() -> list[Path]:
    files = [ROOT / "_config.yml", ROOT / "_toc.yml"]
    files += [p for p in (ROOT / "book").rglob("*") if p.suffix in {".md", ".ipynb"} and "_static" not in p.parts]
    return files


def _stale() -> bool:
    target = HTML / EXPLORE
    if not target.exists() or not (HTML / VENDOR_MATHJAX).exists():
        return True
    built = target.stat().st_mtime
    return any(p.stat().st_mtime > built for p in _book_sources())


@pytest.fixture(scope="session")
def built_book() -> Path:
    """``_build/html``, built with ``jupyter-book build . -W`` if missing or stale."""
    if os.environ.get("ICM_REBUILD_BOOK") == "1" or _stale():
        if not (ROOT / "book" / "_static" / "vendor" / "mathjax" / "tex-mml-chtml.js").exists():
            subprocess.run(["bash", str(ROOT / "scripts" / "vendor_assets.sh")], cwd=ROOT, check=True)
        jb = Path(sys.executable).with_name("jupyter-book")
        cmd = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
        proc = subprocess.run(cmd + ["build", ".", "-W"], cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, f"jupyter-book build . -W failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    assert (HTML / EXPLORE).exists(), f"{EXPLORE} was not built; is book/03_explore in _toc.yml?"
    return HTML


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """Serve ``directory`` on 127.0.0.1:<free port> from a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="session")
def server(built_book: Path):
    with serve(built_book) as base:
        yield base


class Recorder:
    """Every URL the browser asked for (non-local ones are also aborted), failed
    local requests and uncaught JavaScript errors."""

    def __init__(self):
        self.urls: list[str] = []
        self.failed: list[str] = []
        self.page_errors: list[str] = []

    @staticmethod
    def is_local(url: str) -> bool:
        u = urlsplit(url)
        if u.scheme in ("data", "blob", "about"):
            return True
        return u.scheme == "http" and u.hostname == "127.0.0.1"

    def external(self) -> list[str]:
        return [u for u in self.urls if not self.is_local(u)]

    def paths(self) -> list[str]:
        return [urlsplit(u).path for u in self.urls if self.is_local(u)]

    def reset(self) -> None:
        self.urls.clear()
        self.failed.clear()
        self.page_errors.clear()

    def check(self) -> None:
        assert not self.page_errors, f"JavaScript errors: {self.page_errors}"
        assert not self.external(), f"requests left 127.0.0.1: {self.external()}"
        assert not self.failed, f"failed requests: {self.failed}"


@pytest.fixture(scope="session")
def browser_context(server):
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}. Install Debian's chromium with "
            "`apt-get update && apt-get install -y chromium` (do not run `playwright install`), "
            "or set CHROMIUM=/path/to/chromium.",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    rec = Recorder()
    with tempfile.TemporaryDirectory(prefix="icm-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
            service_workers="block",
        )
        context.set_default_timeout(30_000)
        context.on("request", lambda req: rec.urls.append(req.url))
        context.on(
            "response",
            lambda resp: resp.status >= 400 and rec.failed.append(f"{resp.status} {resp.url}"),
        )

        def route(r):
            if rec.is_local(r.request.url):
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        try:
            yield context, rec
        finally:
            context.close()


@pytest.fixture
def open_page(browser_context, server):
    context, rec = browser_context
    rec.reset()
    pages = []

    def _open(path: str, base: str = server):
        page = context.new_page()
        page.on("pageerror", lambda exc: rec.page_errors.append(f"{path}: {exc}"))
        pages.append(page)
        page.goto(f"{base}/{path}", wait_until="load")
        page.wait_for_load_state("networkidle")
        return page

    yield _open, rec
    for p in pages:
        p.close()


def _state(page, root):
    """What the embedded explorer widget shows: the visible frame's image and caption, the
    slider's readout and the selected seed."""
    return root.evaluate(
        """r => { const vis = [...r.querySelectorAll('img')].filter(i => i.offsetParent !== null);
                  const cap = [...r.querySelectorAll('pre.icm-caption')].filter(c => c.offsetParent !== null);
                  return {n_images: vis.length, src: vis.length ? vis[0].getAttribute('src') : null,
                          decoded: vis.length ? vis[0].complete && vis[0].naturalWidth > 0 : false,
                          caption: cap.length ? cap[0].textContent : null,
                          step: r.querySelector('.widget-readout').textContent.trim(),
                          seed: r.querySelector('select').value}; }"""
    )


def _settle(page, root, before, timeout=5_000):
    """Wait until the shown caption differs from `before`'s (the links run asynchronously)."""
    with contextlib.suppress(Exception):
        page.wait_for_function(
            """([r, cap]) => [...r.querySelectorAll('pre.icm-caption')].some(c => c.offsetParent !== null && c.textContent !== cap)""",
            arg=[root, before["caption"]], timeout=timeout)


def _open_explorer(open_, path):
    """Open a built page and wait for its first explorer's frame; (page, the widget's root)."""
    page = open_(path)
    page.wait_for_selector(".icm-explorer img", state="visible", timeout=30_000)
    root = page.locator(".icm-explorer").first.element_handle()
    root.scroll_into_view_if_needed()
    return page, root


def _select_seed(page, root, before, index):
    """Pick the `index`-th seed in the explorer's selector and wait for the frame to change;
    (the options' values, the new state)."""
    select = page.locator(".icm-explorer select").first
    options = select.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) > index, "need at least two seeds for this test"
    select.select_option(options[index])
    _settle(page, root, before)
    return options, _state(page, root)


def test_explorer_works_offline(open_page):
    """The ipywidgets explorer, embedded with its state: the slider and the seed selector change
    the frame in the browser, with no kernel and no request off this machine."""
    open_, rec = open_page
    page, root = _open_explorer(open_, EXPLORE)

    s0 = _state(page, root)
    assert s0["n_images"] == 1 and s0["decoded"], s0  # one frame shown, decoded
    assert s0["src"].startswith("blob:"), s0["src"]  # the PNG comes from the stored widget state
    assert re.fullmatch(r"[\d,]+", s0["step"]) and s0["caption"].startswith("seed 0 · step"), s0

    # keyboard: focus the slider's handle and step back from the last frame
    handle = page.locator(".icm-explorer .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowLeft")
    _settle(page, root, s0)
    s1 = _state(page, root)
    assert s1["step"] != s0["step"] and s1["caption"] != s0["caption"], "ArrowLeft did not change the frame"
    assert s1["n_images"] == 1
    page.keyboard.press("Home")  # the first step: uniform attention, nothing like the trained maps
    _settle(page, root, s1)
    s_home = _state(page, root)
    assert s_home["step"] == "0" and s_home["src"] != s0["src"] and "step 0 ·" in s_home["caption"]
    page.keyboard.press("End")
    _settle(page, root, s_home)
    assert _state(page, root)["caption"] == s0["caption"]

    # the seed selector switches to that seed's frames, at the same step
    options, s2 = _select_seed(page, root, s0, 1)
    assert s2["seed"] == options[1] and s2["step"] == s0["step"]
    assert s2["src"] != s0["src"] and s2["caption"].startswith(options[1] + " · step"), s2

    # back to the first seed for a representative screenshot
    assert _select_seed(page, root, s2, 0)[1]["caption"] == s0["caption"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    root.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "explore.png"))
    rec.check()


def test_head_explorer_works_offline(open_page):
    """The heads chapter's head explorer (the same widget, frames of each head with its
    role): the slider and the seed selector change the frame offline."""
    open_, rec = open_page
    page, root = _open_explorer(open_, HEADS)
    s0 = _state(page, root)
    assert s0["n_images"] == 1 and s0["decoded"] and s0["src"].startswith("blob:"), s0
    lines = s0["caption"].splitlines()
    assert lines[0].startswith("heads=2 · seed 0 · step") and [l[:7] for l in lines[1:]] == ["head 1:", "head 2:"], s0
    page.locator(".icm-explorer .noUi-handle").first.focus()
    page.keyboard.press("ArrowLeft")
    _settle(page, root, s0)
    s1 = _state(page, root)
    assert s1["step"] != s0["step"] and s1["src"] != s0["src"], "ArrowLeft did not change the frame"
    _, s2 = _select_seed(page, root, s1, 1)
    assert s2["step"] == s1["step"] and s2["caption"].startswith("heads=2 · seed 1 · step"), s2
    rec.check()


def _pages_with_math(html_root: Path) -> list[str]:
    pages = sorted(str(p.relative_to(html_root)) for p in html_root.rglob("*.html") if "_static" not in p.parts)
    texts = {p: (html_root / p).read_text(encoding="utf-8", errors="replace") for p in pages}
    hits = [p for p in pages if "vendor/mathjax/" in texts[p] and 'class="math notranslate' in texts[p]]
    return sorted(hits, key=lambda p: (not p.endswith("intro.html"), p))


def test_mathjax_from_vendored_copy(open_page, built_book):
    open_, rec = open_page
    pages = _pages_with_math(built_book)
    assert pages, "no built page loads MathJax from _static/vendor/mathjax (does any chapter have math?)"
    page = open_(pages[0])
    page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
    page.evaluate("() => window.MathJax.startup.promise")
    assert page.evaluate("() => typeof window.MathJax.typesetPromise") == "function"
    assert page.locator("mjx-container").count() > 0, "MathJax did not typeset any math"
    assert any(p.endswith("/" + VENDOR_MATHJAX) for p in rec.paths()), "MathJax was not loaded from the vendored copy"
    assert any("/_static/vendor/mathjax/output/chtml/fonts/" in p for p in rec.paths()), "MathJax fonts not vendored"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "math.png"))
    rec.check()


WIDGET_NB_CELLS = [
    ("markdown", "# Widgets\n\nSome math: $a^2 + b^2 = c^2$."),
    (
        "code",
        "import ipywidgets as w\n"
        "w.VBox([w.IntSlider(value=3, max=10, description='$n$'), w.Text(value='hello'),\n"
        "        w.Button(description='Click', icon='check')])",
    ),
]


@pytest.fixture(scope="session")
def widget_book(tmp_path_factory, built_book):
    """A one-page book with stored ipywidgets state, built with the project's
    _config.yml and vendored assets (checks the nb_ipywidgets_js setting)."""
    import nbclient
    import nbformat
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    root = tmp_path_factory.mktemp("widget-book")
    (root / "book").mkdir()
    (root / "book" / "_static").symlink_to(ROOT / "book" / "_static", target_is_directory=True)
    shutil.copy(ROOT / "_config.yml", root / "_config.yml")
    shutil.copy(ROOT / "references.bib", root / "references.bib")  # the config names it
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/widgets\n")
    nb = new_notebook(
        metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python", "pygments_lexer": "ipython3"},
        }
    )
    nb.cells = [new_markdown_cell(src) if kind == "markdown" else new_code_cell(src) for kind, src in WIDGET_NB_CELLS]
    nbclient.NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(root)}}).execute()
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {}), "no widget state stored"
    nbformat.write(nb, root / "book" / "widgets.ipynb")
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb)] if jb.exists() else [shutil.which("jupyter-book") or "jupyter-book"]
    proc = subprocess.run(cmd + ["build", str(root), "-W"], capture_output=True, text=True)
    assert proc.returncode == 0, f"widget book build failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return root / "_build" / "html"


def test_ipywidgets_render_from_vendored_copy(open_page, widget_book):
    open_, rec = open_page
    with serve(widget_book) as base:
        page = open_("book/widgets.html", base)
        page.wait_for_selector(".widget-slider", state="visible")
        page.wait_for_function("() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise")
        page.evaluate("() => window.MathJax.startup.promise")
        page.wait_for_load_state("networkidle")
        assert page.locator(".widget-text input").input_value() == "hello"
        paths = rec.paths()
        for asset in ("vendor/requirejs/require.js", "vendor/html-manager/embed-amd.js"):
            assert any(p.endswith("/_static/" + asset) for p in paths), f"{asset} not loaded"
        rec.check()


_TAG = re.compile(r"<(script|link|img|iframe|source|audio|video)\b[^>]*>", re.I | re.S)
_ATTR = re.compile(r"\b(src|href)\s*=\s*[\"']?\s*((?:https?:)?//[^\"'\s>]+)", re.I)
_CSS_URL = re.compile(r"(?:url\(\s*[\"']?|@import\s+[\"'])\s*((?:https?:)?//[^\"')\s]+)", re.I)


def test_no_external_assets_in_built_html(built_book):
    """Static check: nothing the browser would load points off-site."""
    bad = []
    for page in built_book.rglob("*.html"):
        text = page.read_text(encoding="utf-8", errors="replace")
        for m in _TAG.finditer(text):
            tag = m.group(0)
            name = m.group(1).lower()
            if name == "link" and not re.search(r"rel=[\"']?(stylesheet|preload|modulepreload|icon|manifest|prefetch)", tag, re.I):
                continue  # e.g. rel=canonical / alternate are not loaded
            for a in _ATTR.finditer(tag):
                bad.append(f"{page.relative_to(built_book)}: {a.group(2)}")
        for u in _CSS_URL.findall(text):
            bad.append(f"{page.relative_to(built_book)} (inline css): {u}")
    for css in (built_book / "_static").rglob("*.css"):
        for u in _CSS_URL.findall(css.read_text(encoding="utf-8", errors="replace")):
            bad.append(f"{css.relative_to(built_book)}: {u}")
    assert not bad, "external asset references:\n" + "\n".join(sorted(set(bad)))


_OVERFLOW = """() => {
  const col = document.querySelector('article.bd-article');
  const right = col.getBoundingClientRect().right;
  const out = [];
  for (const el of col.querySelectorAll('table, pre, div.cell_output, .jupyter-widgets, img, div.highlight')) {
    if (el.offsetParent === null) continue;  // not shown (a collapsed cell)
    const over = Math.max(el.getBoundingClientRect().right - right, el.scrollWidth - el.clientWidth);
    if (over > 1) out.push(`${el.tagName.toLowerCase()} ${Math.round(over)} px too wide: ${(el.innerText || '').slice(0, 50)}`);
  }
  return out;
}"""


def _toc_pages() -> list[str]:
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [f"{toc['root']}.html"] + [f"{c['file']}.html" for c in toc["chapters"]]


def test_nothing_is_wider_than_its_column(open_page):
    """At 1280 px, on every page, no table, code cell, output, widget or image runs past the text
    column or hides part of itself behind a scroll bar."""
    open_, rec = open_page
    wide = {}
    for path in _toc_pages():
        page = open_(path)
        if page.locator('script[type="application/vnd.jupyter.widget-view+json"]').count():
            page.wait_for_selector(".jupyter-widgets", state="visible")  # embedded widgets render late
        found = page.evaluate(_OVERFLOW)
        if found:
            wide[path] = found[:5]
        page.close()
    assert not wide, "wider than the column:\n" + "\n".join(f"{p}: {w}" for p, w in wide.items())
    rec.check()


@pytest.mark.parametrize("path", ["book/01_task_and_model.html", "book/03_explore.html"])
def test_a_widget_that_needs_a_kernel_is_a_picture_on_the_static_page(open_page, path):
    """The task sampler and the probe recompute in Python: the static page shows a picture of
    their first state with the line saying how to run them, and none of their controls."""
    open_, rec = open_page
    page = open_(path)
    picture = page.locator(".icm-static-picture")
    assert picture.count() == 1 and picture.is_visible()
    assert "jupyter lab" in picture.locator(".icm-static-note").inner_text()
    assert picture.locator("table, img").count() >= 1  # the sampler's sequences, the probe's maps
    assert page.locator(".icm-sampler .widget-slider, .icm-probe .widget-dropdown").count() == 0
    rec.check()
