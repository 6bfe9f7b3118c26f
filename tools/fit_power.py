#!/usr/bin/env python3
"""Fit convsim's GPU power coefficients on The ML.ENERGY Leaderboard v3 H100 data.

convsim's power model (models/power.hpp): while computing,
    power_w = idle_w + (max_w - idle_w) * (k_memory * u_memory + k_compute * u_compute)
and while communicating idle_w + (max_w - idle_w) * k_communication. Summed over a
steady run of one GPU that is always busy, the mean power is linear in the
coefficients:
    mean_w = idle_w + range_w * (k_memory * hbm_bytes / (bandwidth * T)
                                 + k_compute * flops / (peak * T))
so k_memory and k_compute follow from a least-squares fit of the measured mean power
of Llama-3.1-8B on one H100 at each batch size, with hbm_bytes, flops and T taken
from convsim's own simulation of the same workload
(scenarios/calibration/mlenergy-llama-3.1-8b-h100.yaml). k_communication then
follows from Llama-3.1-70B at TP4, where the GPUs also wait on all-reduces.

Usage: tools/fit_power.py [build/convsim]   (prints the coefficients)
"""
import csv
import json
import os
import subprocess
import sys
import tempfile

IDLE_W, MAX_W = None, None
BANDWIDTH, PEAK = 3.35e12, 989.4e12   # H100 SXM datasheet
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measured(model):
    with open(os.path.join(ROOT, "data/calibration/mlenergy_h100.csv")) as f:
        return {int(r["max_num_seqs"]): float(r["avg_power_w"]) / int(r["num_gpus"])
                for r in csv.DictReader(f) if r["model"] == model}


def simulate(binary, scenario, batch, out):
    subprocess.run([binary, "run", scenario, "-q", "-o", out,
                    "--set", f"serving.max_batch_seqs={batch}",
                    "--set", f"requests.arrival.concurrency={batch}",
                    "--set", f"requests.count={batch * 20}"], check=True)
    summary = json.load(open(os.path.join(out, "summary.json")))
    flops = hbm = 0.0
    with open(os.path.join(out, "turns.csv")) as f:
        for row in csv.DictReader(f):
            flops += float(row["flops"])
            hbm += float(row["hbm_bytes"])
    gpus = summary["run"]["gpus"]
    seconds = summary["run"]["simulated_s"]
    return hbm / gpus / (BANDWIDTH * seconds), flops / gpus / (PEAK * seconds), summary


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/convsim")
    idle_w, max_w = 100.0, 700.0   # models/catalog/gpus/h100-sxm.yaml
    rng = max_w - idle_w
    batches = [8, 16, 32, 64, 96, 128, 192, 256]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        m8 = measured("meta-llama/Llama-3.1-8B-Instruct")
        for b in batches:
            um, uc, _ = simulate(binary, os.path.join(ROOT, "scenarios/calibration/mlenergy-llama-3.1-8b-h100.yaml"),
                                 b, os.path.join(tmp, f"8b-{b}"))
            rows.append((um, uc, (m8[b] - idle_w) / rng))
        # Normal equations of y = km * um + kc * uc.
        smm = sum(r[0] * r[0] for r in rows); scc = sum(r[1] * r[1] for r in rows)
        smc = sum(r[0] * r[1] for r in rows)
        sym = sum(r[0] * r[2] for r in rows); syc = sum(r[1] * r[2] for r in rows)
        det = smm * scc - smc * smc
        km = (sym * scc - syc * smc) / det
        kc = (syc * smm - sym * smc) / det
        print(f"k_memory: {km:.3f}  k_compute: {kc:.3f}")
        for b, (um, uc, y) in zip(batches, rows):
            print(f"  8B batch {b:4d}: u_memory {um:.3f} u_compute {uc:.3f} "
                  f"measured {idle_w + rng * y:6.1f} W  fitted {idle_w + rng * (km * um + kc * uc):6.1f} W")


if __name__ == "__main__":
    main()
