#!/usr/bin/env python3
"""Fit the FP8 dense GEMMs' fraction of the FP8 peak (efficiency.compute_fp8) on
TensorRT-LLM's published maximum throughput, leave one model out.

    python3 tools/fit_fp8_compute.py build/convsim [--jobs 2] [--gpus h100-sxm,h200]

Every row of data/calibration/trtllm_perf_overview.csv runs FP8 weights on Hopper
(Llama-3.1-8B, Llama-3.3-70B, Llama-3.1-405B), offline, at batch sizes where most of
the work is compute-bound, so the fraction sets how fast they run. For each candidate
fraction on a grid the tool copies the catalog, writes the fraction into the named GPU
presets (the same GH100 die), runs `convsim validate --only serving --in-sample` on
that copy and reads each row's throughput error from its serving.csv. Then:

  - leave one model out: each model's rows at the fraction that fits the other
    models best (lowest median |error|, then lowest |median error|);
  - all models: the fraction that fits every row best, the value for the catalog.

It prints both and the YAML line; it writes nothing into the catalog.
"""

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def set_fraction(preset: Path, fraction: float) -> None:
    """Writes compute_fp8 into the preset's efficiency block (replacing one there)."""
    text = preset.read_text()
    text = re.sub(r"^  compute_fp8:.*\n", "", text, flags=re.M)
    if not re.search(r"^efficiency:", text, flags=re.M):
        sys.exit(f"fit_fp8_compute: {preset} has no efficiency block")
    text = re.sub(r"^(efficiency:.*\n)", lambda m: m.group(1) + f"  compute_fp8: {fraction}\n", text, count=1,
                  flags=re.M)
    preset.write_text(text)


def errors_at(binary: str, fraction: float, gpus: list, jobs: int, work: Path) -> dict:
    """Each TensorRT-LLM row's throughput error (predicted / measured - 1) at `fraction`,
    keyed by (preset, gpu, task), with the preset."""
    catalog = work / f"catalog-{fraction:.3f}"
    shutil.copytree(ROOT / "models" / "catalog", catalog)
    for gpu in gpus:
        set_fraction(catalog / "gpus" / f"{gpu}.yaml", fraction)
    out = work / f"validate-{fraction:.3f}"
    env = dict(os.environ, CONVSIM_CATALOG=str(catalog))
    run = subprocess.run([binary, "validate", "--only", "serving", "--in-sample", "--jobs", str(jobs), "-o", str(out)],
                         env=env, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"fit_fp8_compute: convsim validate failed at {fraction}:\n{run.stderr}")
    errors = {}
    with open(out / "serving.csv") as f:
        for r in csv.DictReader(f):
            if r["source"] != "trtllm":
                continue
            measured = float(r["measured_output_tokens_per_s"])
            errors[(r["preset"], r["gpu"], r["task"])] = float(r["predicted_output_tokens_per_s"]) / measured - 1
    if not errors:
        sys.exit("fit_fp8_compute: serving.csv has no trtllm rows")
    return errors


def score(values: list) -> tuple:
    return (statistics.median(abs(e) for e in values), abs(statistics.median(values)))


def summary(values: list) -> str:
    within = sum(abs(e) <= 0.25 for e in values) / len(values)
    return (f"{len(values)} rows, median |error| {100 * statistics.median(abs(e) for e in values):.1f}%, "
            f"median error {100 * statistics.median(values):+.1f}%, worst {100 * max(abs(e) for e in values):.1f}%, "
            f"{100 * within:.1f}% within 25%")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="the convsim binary")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--gpus", default="h100-sxm,h200", help="GPU presets that take the fraction (one die)")
    parser.add_argument("--grid", default="0.56,0.58,0.60,0.62,0.64,0.66,0.68,0.70,0.72")
    args = parser.parse_args()
    gpus = [g for g in args.gpus.split(",") if g]
    grid = [float(v) for v in args.grid.split(",")]
    if not grid or any(not 0 < v <= 1 for v in grid):
        sys.exit("fit_fp8_compute: --grid takes fractions in (0, 1]")
    with tempfile.TemporaryDirectory(prefix="fit-fp8-") as tmp:
        by_fraction = {}
        for fraction in grid:
            by_fraction[fraction] = errors_at(args.binary, fraction, gpus, args.jobs, Path(tmp))
            print(f"compute_fp8 {fraction:.2f}: {summary(list(by_fraction[fraction].values()))}", file=sys.stderr)
    rows = list(next(iter(by_fraction.values())).keys())
    models = sorted({preset for preset, _, _ in rows})
    held_out = []
    print("leave one model out (each model at the fraction fitted on the others):")
    for model in models:
        others = [k for k in rows if k[0] != model]
        best = min(grid, key=lambda v: score([by_fraction[v][k] for k in others]))
        own = [by_fraction[best][k] for k in rows if k[0] == model]
        held_out += own
        print(f"  {model}: fitted without it {best:.2f}; {summary(own)}")
    print(f"  all held-out rows: {summary(held_out)}")
    best = min(grid, key=lambda v: score(list(by_fraction[v].values())))
    print(f"all models: compute_fp8 {best:.2f}; {summary(list(by_fraction[best].values()))}")
    if 0.72 in by_fraction:
        print(f"  (at the BF16 figure, 0.72: {summary(list(by_fraction[0.72].values()))})")
    print(f"catalog line (efficiency of {', '.join(gpus)}):\n  compute_fp8: {best:.2f}")


if __name__ == "__main__":
    main()
