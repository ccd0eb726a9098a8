import torch

from icmeta.core.bayes import ideal_accuracies, scc_theory_accuracy
from icmeta.config import TaskConfig
from icmeta.core.task import make_world


def test_scc_theory_formula_matches_the_labels_only_ideal():
    for K in (8, 16):
        cfg = TaskConfig(K=K, L=K, T=2, task_maps="disjoint")
        w = make_world(cfg, torch.Generator().manual_seed(K))
        r = ideal_accuracies(cfg, w, n=40000, seed=1)
        assert abs(r["labels"] - scc_theory_accuracy(K, 4)) < 4 * r["stderr"]["labels"] + 1e-3
        assert r["pairs"] == 1.0
        assert abs(r["ignore"] - 0.5) < 0.01  # two equally likely candidates


def test_scc_theory_values():
    p = 1 - 15 / 35  # C(6,4)/C(7,4)
    assert abs(scc_theory_accuracy(8, 4) - (p + (1 - p) / 2)) < 1e-12
    assert scc_theory_accuracy(32, 4) < scc_theory_accuracy(8, 4)


def test_ceilings_are_ordered_for_the_default_task():
    cfg = TaskConfig()
    w = make_world(cfg, torch.Generator().manual_seed(0))
    r = ideal_accuracies(cfg, w, n=20000)
    assert 1 / 3 <= r["ignore"] < r["labels"] < r["pairs"] <= 1.0
    assert r["pairs"] > 0.99 and r["exact_likelihood"]


def test_one_task_needs_no_context():
    cfg = TaskConfig(T=1)
    w = make_world(cfg, torch.Generator().manual_seed(0))
    r = ideal_accuracies(cfg, w, n=5000)
    assert r["ignore"] == r["labels"] == r["pairs"] == 1.0


def test_labels_ceiling_with_query_from_any_class_is_close_to_excluded():
    base = TaskConfig()
    w = make_world(base, torch.Generator().manual_seed(3))
    a = ideal_accuracies(base, w, n=20000)
    b = ideal_accuracies(TaskConfig(query="any"), w, n=20000)
    assert b["exact_likelihood"] and abs(a["labels"] - b["labels"]) < 0.05
    assert b["pairs"] > 0.99


def test_ceilings_are_finite_with_copies_of_the_query_in_the_context():
    cfg = TaskConfig(p_B=0.5)
    w = make_world(cfg, torch.Generator().manual_seed(1))
    r = ideal_accuracies(cfg, w, n=5000)
    assert all(0 <= r[k] <= 1 for k in ("ignore", "labels", "pairs")) and not r["exact_likelihood"]
