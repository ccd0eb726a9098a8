#!/usr/bin/env python
"""Record the SHA-256 of every stored run's results files in its ``config.json`` (``checksums``).

Runs written before checksums were recorded (`icmeta.store.run.record_checksums`) load
unverified; this adds the field to each finished run under the store (``runs/`` by default,
``gpu/**`` included), so that `icmeta.store.load_run` refuses any of their files changed later.

For each finished run it first checks that the run reads as before: `load_run` succeeds (an
older results version read as an archive), its metrics are a non-empty table, its ceilings
parse, and every entry of ``patterns.npz`` (and ``probe.npz``) passes its zip CRC. Only then is
``config.json`` rewritten, atomically and in the store's own JSON format, so that its diff is
the added field only (checked: the file without ``checksums`` is byte for byte the old one).

Idempotent: a run whose present results files are all recorded is verified (by `load_run`) and
left as it is; one that lacks some entries (e.g. a ``probe.npz`` copied in by hand) gets them.

Usage:
    python scripts/migrate_checksums.py [ROOT] [--dry-run] [--verbose]
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

from icmeta.store import RESULTS_VERSION, StoreError, default_runs_root, load_run
from icmeta.store.run import RESULT_FILES, is_complete, record_checksums


def _store_format(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True) + "\n"  # as icmeta.store.io.write_json


def _check_reads(d: Path, info: dict) -> None:
    """Raise StoreError (one line) unless the run reads as before."""
    run = load_run(d, archive=info.get("results_version", 1) != RESULTS_VERSION)
    if run.metrics.empty:
        raise StoreError(f"{d / 'metrics.parquet'}: no rows")
    if not isinstance(run.ceilings(), list):
        raise StoreError(f"{d / 'ceilings.json'}: not a list of members")
    for name in ("patterns.npz", "probe.npz"):
        path = d / name
        if name == "probe.npz" and not path.exists():
            continue
        try:
            with zipfile.ZipFile(path) as z:
                bad = z.testzip()
        except (OSError, zipfile.BadZipFile) as e:
            raise StoreError(f"{path}: unreadable ({type(e).__name__})") from None
        if bad is not None:
            raise StoreError(f"{path}: entry {bad} fails its CRC")


def migrate_run(d: Path, dry_run: bool = False) -> str:
    """``migrated``, ``already`` (every present results file recorded and verified) or
    ``not finished``; StoreError (one line) if the run does not read as before."""
    if not is_complete(d):
        return "not finished"
    f = d / "config.json"
    text = f.read_text()
    info = json.loads(text)
    if _store_format(info) != text:
        raise StoreError(f"{f}: not in the store's JSON format; rewriting it would change more than the "
                         "checksums, left as it is")
    _check_reads(d, info)  # load_run also verifies the checksums already recorded
    present = {n for n in RESULT_FILES if (d / n).is_file()}
    recorded = info.get("checksums")
    if recorded is not None and present <= set(recorded):
        return "already"
    if dry_run:
        return "migrated"
    new = record_checksums(d, files=None if recorded is None else sorted(present - set(recorded)))
    after = f.read_text()
    if _store_format({k: v for k, v in new.items() if k != "checksums"}) != text or after != _store_format(new):
        raise StoreError(f"{f}: rewritten with more than the checksums (a bug of this script); restore it from git")
    _check_reads(d, info)  # and the run verifies against what was just written
    return "migrated"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("root", nargs="?", default=None, help="the run store (default runs/ or $ICMETA_RUNS)")
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    p.add_argument("--verbose", "-v", action="store_true", help="one line per run")
    args = p.parse_args(argv)
    root = Path(args.root) if args.root is not None else default_runs_root()
    dirs = sorted({f.parent for f in root.rglob("config.json")})
    counts = {"migrated": 0, "already": 0, "not finished": 0, "failed": 0}
    for d in dirs:
        try:
            outcome = migrate_run(d, args.dry_run)
        except StoreError as e:
            print(f"error: {e}", file=sys.stderr)
            outcome = "failed"
        counts[outcome] += 1
        if args.verbose or outcome == "not finished":
            print(f"{d.relative_to(root)}: {outcome}")
    print(f"{root}: {len(dirs)} run folders; " + ", ".join(f"{v} {k}" for k, v in counts.items())
          + (" (dry run: nothing written)" if args.dry_run else ""))
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
