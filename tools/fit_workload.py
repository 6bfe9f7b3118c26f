#!/usr/bin/env python3
"""Fit the request lengths of the ML.ENERGY calibration scenarios on measurements.

The ML.ENERGY Leaderboard v3 runs the LMArena chat prompts (each turn of a
conversation sent with its whole history) against vLLM; the extract in
data/calibration/mlenergy_h100.csv gives the mean output length but neither the
output-length spread nor the prompt lengths. Both shape a serving run at large
batch: the in-flight sequences' KV cache and the prefill tokens each decode step
carries. They are fitted here, once, for every batch size:

1. Output lengths: a lognormal with the mean and coefficient of variation of the
   leaderboard's published output-length histogram (OUTPUT_HISTOGRAMS below, 81.88-token
   bins from 2 to 4096 tokens).
2. Prompt lengths: the runs at the largest max_num_seqs are held back by KV-cache
   capacity (Llama-3.1-70B at max_num_seqs 1024 reaches 898 sequences on average,
   Llama-3.1-8B at 768 reaches 691; every smaller setting reaches its limit). The
   concurrency a full KV cache allows is capacity / (prompt + tokens generated so far),
   so the prompt median is the one whose simulated mean concurrency at those two
   points matches the measured avg_batch_size. The spread of the prompts is kept at
   sigma 0.7 (it is not identifiable from these two points). Each model gives an
   estimate; the scenarios use their mean, the same for both models (same prompts,
   same Llama-3 tokenizer).

Usage: tools/fit_workload.py [build/convsim]   (prints every candidate, then the fit)
"""
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN_TOKENS = 81.88  # histogram bins: 2 + k * 81.88 tokens, 50 bins up to 4096
# Counts per bin, from ml-energy/leaderboard public/data/models/
# meta-llama__Llama-3.1-{8B,70B}-Instruct__lm-arena-chat.json, H100 configurations at
# max_num_seqs 384 (8B) and 512 (70B), 2048 requests each.
OUTPUT_HISTOGRAMS = {
    "meta-llama/Llama-3.1-8B-Instruct": [
        449, 211, 175, 201, 159, 190, 192, 120, 105, 58, 48, 33, 27, 19, 11, 8, 4, 6, 5, 2, 1, 1, 2, 2, 1,
        1, 3, 2, 0, 3, 0, 0, 2, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5],
    "meta-llama/Llama-3.1-70B-Instruct": [
        522, 227, 177, 196, 193, 165, 171, 107, 80, 58, 51, 30, 12, 11, 12, 8, 6, 1, 3, 1, 0, 2, 2, 3, 3,
        0, 1, 0, 2, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
}
# (scenario, model, max_num_seqs of the KV-limited run)
KV_LIMITED = [("mlenergy-llama-3.1-8b-h100.yaml", "meta-llama/Llama-3.1-8B-Instruct", 768),
              ("mlenergy-llama-3.1-70b-h100-tp4.yaml", "meta-llama/Llama-3.1-70B-Instruct", 1024)]
PROMPT_SIGMA = 0.7
PROMPT_MEDIANS = [125, 150, 175, 200, 225, 250, 275, 300]


def lognormal_of(counts):
    """(median, sigma) of the lognormal with the histogram's mean and variation."""
    total = sum(counts)
    mids = [2 + BIN_TOKENS * (i + 0.5) for i in range(len(counts))]
    mean = sum(c * x for c, x in zip(counts, mids)) / total
    var = sum(c * x * x for c, x in zip(counts, mids)) / total - mean * mean
    sigma = math.sqrt(math.log(1 + var / (mean * mean)))
    return mean / math.exp(sigma * sigma / 2), sigma, mean


def measured_batch(model, max_num_seqs):
    with open(os.path.join(ROOT, "data/calibration/mlenergy_h100.csv")) as f:
        for row in csv.DictReader(f):
            if row["model"] == model and int(row["max_num_seqs"]) == max_num_seqs:
                return float(row["avg_batch_size"])
    raise KeyError((model, max_num_seqs))


def simulated_batch(binary, scenario, batch, prompt_median, output, out):
    """Mean number of admitted sequences over the middle half of the run."""
    median, sigma, _ = output
    subprocess.run([binary, "run", os.path.join(ROOT, "scenarios/calibration", scenario), "-q", "-o", out,
                    "--set", f"serving.max_batch_seqs={batch}", "--set", f"requests.arrival.concurrency={batch}",
                    "--set", f"requests.count={batch * 20}",
                    "--set", f"requests.input_tokens={{median: {prompt_median}, sigma: {PROMPT_SIGMA}}}",
                    "--set", f"requests.output_tokens={{median: {median:.0f}, sigma: {sigma:.2f}}}"], check=True)
    with open(os.path.join(out, "turns.csv")) as f:
        rows = list(csv.DictReader(f))
    end = max(float(r["start_s"]) + float(r["e2e_s"]) for r in rows)
    begin_s, end_s = 0.25 * end, 0.75 * end
    admitted_s = 0.0
    for r in rows:
        start = float(r["start_s"]) + float(r["queue_s"])
        done = float(r["start_s"]) + float(r["e2e_s"])
        admitted_s += max(0.0, min(done, end_s) - max(start, begin_s))
    return admitted_s / (end_s - begin_s)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/convsim")
    outputs = {}
    for model, counts in OUTPUT_HISTOGRAMS.items():
        outputs[model] = lognormal_of(counts)
        median, sigma, mean = outputs[model]
        print(f"{model}: output tokens mean {mean:.0f} -> lognormal median {median:.0f}, sigma {sigma:.2f}")
    estimates = []
    with tempfile.TemporaryDirectory() as tmp:
        for scenario, model, batch in KV_LIMITED:
            target = measured_batch(model, batch)
            points = []
            for prompt_median in PROMPT_MEDIANS:
                got = simulated_batch(binary, scenario, batch, prompt_median, outputs[model], os.path.join(tmp, "out"))
                points.append((prompt_median, got))
                print(f"  {model} max_num_seqs {batch}: prompt median {prompt_median}: "
                      f"{got:.0f} sequences (measured {target:.0f})", flush=True)
            # Concurrency falls as prompts grow: interpolate where it crosses the measurement.
            for (m0, b0), (m1, b1) in zip(points, points[1:]):
                if (b0 - target) * (b1 - target) <= 0 and b0 != b1:
                    estimates.append(m0 + (target - b0) * (m1 - m0) / (b1 - b0))
                    break
            else:
                raise SystemExit(f"{model}: no prompt median in {PROMPT_MEDIANS} reaches {target:.0f} sequences")
            print(f"  -> prompt median {estimates[-1]:.0f}")
    print(f"prompt lengths: lognormal median {sum(estimates) / len(estimates):.0f} (estimates "
          + ", ".join(f"{e:.0f}" for e in estimates) + f"), sigma {PROMPT_SIGMA}")


if __name__ == "__main__":
    main()
