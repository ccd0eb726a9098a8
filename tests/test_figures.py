import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

from icmeta import figures, tables  # noqa: E402
from icmeta.config import preset  # noqa: E402
from icmeta.explorer import explorer_html  # noqa: E402
from icmeta.train import load_or_train  # noqa: E402


def test_every_figure_and_table_draws_from_a_run(tiny, tmp_path):
    run = load_or_train([tiny(0, steps=120), tiny(1, steps=120)], root=tmp_path, progress=False)
    for f in (figures.fig2, figures.fig3, figures.fig4, figures.main_result):
        fig = f(run)
        assert fig.axes
        plt.close(fig)
    plt.close(figures.fig1(run.config))
    frames = figures.explorer_frames(run, per_decade=4)
    assert {f["seed"] for f in frames} == {0, 1} and all(f["image_png"][:4] == b"\x89PNG" for f in frames)
    assert "icm-frame" in explorer_html(frames, seeds=[0, 1])
    t3 = tables.table3(preset("paper"))
    assert t3.set_index("name").loc["lr", "value"] == 0.01 and t3.set_index("name").loc["steps", "value"] == 400_000
    pt = run.phases()
    assert {"seed", "phase", "start", "end", "acc"} <= set(pt.columns)


def test_unknown_figure_is_a_one_line_error():
    p = subprocess.run([sys.executable, "-m", "icmeta", "figure", "fig99"], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "'figure'" in p.stderr and "fig2" in p.stderr and "Traceback" not in p.stderr
