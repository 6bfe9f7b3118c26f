#!/usr/bin/env python3
"""Fit the GPU power coefficients on The ML.ENERGY Leaderboard v3 H100 measurements.

convsim's power model (models/power.hpp): while computing,
    power_w = idle_w + (max_w - idle_w) * min(1, memory * u_memory + compute * u_compute)
and idle_w + (max_w - idle_w) * communication while waiting on transfers. Because
compute-bound phases reach the board limit (the min), mean power is not linear in
the coefficients: they are fitted by a grid search over full simulations of the
calibration scenarios (Llama-3.1-8B on one H100, Llama-3.1-70B on four at TP4, at
batch 8, 64 and 256), minimising the worst relative error of mean GPU power and of
energy per output token. Each candidate runs convsim with a copy of the catalog in
which the h100-sxm preset carries the candidate's power_coefficients.

Usage: tools/fit_power.py [build/convsim]   (prints every candidate, then the best)
"""
import csv
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = [("mlenergy-llama-3.1-8b-h100.yaml", "meta-llama/Llama-3.1-8B-Instruct", b) for b in (8, 64, 256)] + \
        [("mlenergy-llama-3.1-70b-h100-tp4.yaml", "meta-llama/Llama-3.1-70B-Instruct", b) for b in (8, 64, 256)]
GRID = {"memory": [0.7, 0.8, 0.9, 1.0], "compute": [1.5, 2.0, 2.5, 3.0], "communication": [0.1, 0.25]}


def measured(model, batch):
    with open(os.path.join(ROOT, "data/calibration/mlenergy_h100.csv")) as f:
        for row in csv.DictReader(f):
            if row["model"] == model and int(row["max_num_seqs"]) == batch:
                return float(row["avg_power_w"]), float(row["energy_per_token_j"])
    raise KeyError((model, batch))


def with_coefficients(catalog, k):
    path = os.path.join(catalog, "gpus", "h100-sxm.yaml")
    text = open(path).read()
    block = "power_coefficients:\n" + "".join(f"  {name}: {value}\n" for name, value in k.items())
    text = re.sub(r"power_coefficients:.*?\n(?=\S)", block, text, flags=re.S)
    open(path, "w").write(text)


def errors(binary, catalog, out):
    env = dict(os.environ, CONVSIM_CATALOG=catalog)
    result = []
    for scenario, model, batch in CASES:
        folder = os.path.join(out, f"{scenario}-{batch}")
        subprocess.run([binary, "run", os.path.join(ROOT, "scenarios/calibration", scenario), "-q", "-o", folder,
                        "--set", f"serving.max_batch_seqs={batch}", "--set", f"requests.arrival.concurrency={batch}",
                        "--set", f"requests.count={batch * 20}"], env=env, check=True)
        summary = json.load(open(os.path.join(folder, "summary.json")))
        power_w, energy_j = measured(model, batch)
        result.append((summary["gpu_power_w_mean"] / power_w - 1, summary["energy_per_output_token_j"] / energy_j - 1))
    return result


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/convsim")
    best = None
    with tempfile.TemporaryDirectory() as tmp:
        catalog = os.path.join(tmp, "catalog")
        shutil.copytree(os.path.join(ROOT, "models/catalog"), catalog)
        for values in itertools.product(*GRID.values()):
            k = dict(zip(GRID.keys(), values))
            with_coefficients(catalog, k)
            errs = errors(binary, catalog, os.path.join(tmp, "out"))
            worst = max(max(abs(p), abs(e)) for p, e in errs)
            print(k, f"worst {worst:.3f}", " ".join(f"{p:+.2f}/{e:+.2f}" for p, e in errs), flush=True)
            if best is None or worst < best[0]:
                best = (worst, k)
    print("best:", best[1], f"(worst error of power and energy per token: {best[0]:.3f})")


if __name__ == "__main__":
    main()
