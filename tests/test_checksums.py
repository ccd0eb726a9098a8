"""Checksums of a run's results files: recorded when the run is written, verified when it is read."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from icmeta import cli
from icmeta.presets import preset
from icmeta.store import StoreError, find_run, load_run
from icmeta.store.ceilings import write_ceilings
from icmeta.store.io import file_sha256, write_json, write_metrics
from icmeta.train import load_or_train, prepare

# the `tiny` config of conftest.py, as --set arguments of the CLI
TINY_SETS = dict(steps=60, batch_size=16, eval_size=64, lr=0.1, eval_every=10, K=16, L=8)
RESULTS = ["metrics.parquet", "patterns.npz", "ceilings.json"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run, trained once for the module (tests work on copies of it)."""
    root = tmp_path_factory.mktemp("trained")
    return load_or_train(preset("fast", seed=0, **TINY_SETS), root=root, progress=False).directory


@pytest.fixture
def run_dir(trained, tmp_path):
    d = tmp_path / trained.name
    shutil.copytree(trained, d)
    return d


def _one_line(e) -> str:
    assert "\n" not in str(e.value)
    return str(e.value)


def test_a_finished_run_records_the_sha256_of_its_results_files(run_dir):
    info = json.loads((run_dir / "config.json").read_text())
    assert info["checksums"] == {name: file_sha256(run_dir / name) for name in RESULTS}
    run = load_run(run_dir)
    assert run.info["checksums"] == info["checksums"]
    assert find_run(prepare(preset("fast", seed=0, **TINY_SETS)), run_dir.parent) is not None


def test_one_byte_changed_in_the_metrics_is_refused_naming_the_file(run_dir):
    f = run_dir / "metrics.parquet"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="metrics.parquet") as e:
        load_run(run_dir)
    _one_line(e)


def _edit_metrics(d):
    df = pd.read_parquet(d / "metrics.parquet")
    df.loc[0, "value"] += 0.001
    write_metrics(d / "metrics.parquet", df)


def _edit_ceilings(d):
    c = json.loads((d / "ceilings.json").read_text())
    c[0]["ignore"] = 0.5
    write_json(d / "ceilings.json", c)


def _edit_patterns(d):
    with np.load(d / "patterns.npz") as z:
        arrays = {k: z[k] for k in z.files}
    key = next(k for k in arrays if k.startswith("mean:"))
    arrays[key][-1, 0, 0, 0, 0] += 0.01
    np.savez_compressed(d / "patterns.npz", **arrays)


@pytest.mark.parametrize("name,edit", [("metrics.parquet", _edit_metrics), ("ceilings.json", _edit_ceilings),
                                       ("patterns.npz", _edit_patterns)])
def test_a_readable_file_changed_after_the_run_was_written_is_refused_when_the_run_loads(run_dir, name, edit):
    edit(run_dir)
    with pytest.raises(StoreError) as e:
        load_run(run_dir)  # even the files read later (patterns, ceilings) are checked here
    assert _one_line(e) == (f"{run_dir / name}: changed after the run was written (SHA-256 differs from "
                            "config.json); restore it, or delete the run folder to retrain")


def test_the_cli_exits_2_with_one_line_for_a_changed_metrics_file(run_dir, capsys):
    _edit_metrics(run_dir)
    code = cli.main(["train", "--no-progress", "--out", str(run_dir.parent), "--seeds", "0",
                     *[a for k, v in TINY_SETS.items() for a in ("--set", f"{k}={v}")]])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: ") and f"{run_dir / 'metrics.parquet'}: changed" in err


def test_rewriting_ceilings_of_a_stored_run_updates_only_their_checksum(run_dir):
    run = load_run(run_dir)
    before = run.info["checksums"]
    _edit_metrics(run_dir)  # changed by hand: rewriting the ceilings must not bless it
    write_ceilings(run_dir, run.configs)
    after = json.loads((run_dir / "config.json").read_text())["checksums"]
    assert after["ceilings.json"] == file_sha256(run_dir / "ceilings.json")
    assert after["metrics.parquet"] == before["metrics.parquet"]
    with pytest.raises(StoreError, match="metrics.parquet: changed"):
        load_run(run_dir)


def test_the_probe_export_records_its_checksum(run_dir):
    from icmeta.book.probe import export_checkpoints

    run = load_run(run_dir)
    path = export_checkpoints(run, per_member=3, start=10)
    info = json.loads((run_dir / "config.json").read_text())
    assert info["checksums"]["probe.npz"] == file_sha256(path)
    assert set(info["checksums"]) == {*RESULTS, "probe.npz"}
    load_run(run_dir)
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["steps"] = arrays["steps"][::-1].copy()
    np.savez_compressed(path, **arrays)
    with pytest.raises(StoreError, match="probe.npz: changed"):
        load_run(run_dir)


@pytest.mark.slow
def test_split_members_record_their_own_files(tmp_path):
    from icmeta.train.runner import member_dir, train_group

    configs = prepare([preset("fast", seed=s, **TINY_SETS) for s in (0, 1)])
    dirs = train_group(configs, tmp_path)
    sums = []
    for d, c in zip(map(Path, dirs), configs):
        info = json.loads((d / "config.json").read_text())
        assert d == member_dir(c, tmp_path) and info["trained_in"]["members"] == 2
        assert info["checksums"] == {name: file_sha256(d / name) for name in RESULTS}
        load_run(d)
        sums.append(info["checksums"])
    assert sums[0]["metrics.parquet"] != sums[1]["metrics.parquet"]


def _migration():
    path = Path(__file__).resolve().parents[1] / "scripts" / "migrate_checksums.py"
    spec = importlib.util.spec_from_file_location("migrate_checksums", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_migration_adds_checksums_to_an_older_run_and_is_idempotent(run_dir, capsys):
    f = run_dir / "config.json"
    written = f.read_text()
    info = json.loads(written)
    del info["checksums"]
    write_json(f, info)  # a run from before checksums were recorded: it still loads, unverified
    older = f.read_text()
    _edit_ceilings(run_dir)
    load_run(run_dir)
    write_ceilings(run_dir, load_run(run_dir).configs)  # back to the run's own ceilings
    assert f.read_text() == older  # an older run stays without checksums until it is migrated
    migrate = _migration()
    assert migrate.main([str(run_dir.parent)]) == 0
    assert "1 migrated, 0 already" in capsys.readouterr().out
    assert f.read_text() == written  # only the field was added, in the store's format
    assert migrate.main([str(run_dir.parent)]) == 0
    assert "0 migrated, 1 already" in capsys.readouterr().out
    assert f.read_text() == written
    load_run(run_dir)


def test_migration_writes_nothing_to_a_run_that_does_not_read(run_dir, capsys):
    f = run_dir / "config.json"
    info = json.loads(f.read_text())
    del info["checksums"]
    write_json(f, info)
    older = f.read_text()
    (run_dir / "ceilings.json").write_text("{not json")
    assert _migration().main([str(run_dir.parent)]) == 1
    out = capsys.readouterr()
    assert "0 migrated" in out.out and "1 failed" in out.out and "ceilings.json: unreadable" in out.err
    assert f.read_text() == older
