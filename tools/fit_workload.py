#!/usr/bin/env python3
"""Fit the prompt lengths of the ML.ENERGY chat rows on the batches they reached.

The ML.ENERGY Leaderboard v3 runs the LMArena chat prompts (each turn of a
conversation sent with its whole history) against vLLM. data/calibration/mlenergy_v3.csv
gives each row's mean output length and its spread, not the prompt lengths. Prompts
set how many sequences the KV cache holds, so they are fitted where that shows: the
rows held back by KV-cache capacity (avg_batch_size below 97% of max_num_seqs).

Each run is simulated as the benchmark ran it (mlenergy/benchmark/llm/benchmark.py):
num_requests x num_request_repeats requests (data/calibration/mlenergy_v3_requests.csv),
the prompt list repeated in order on vLLM's automatic prefix caching (copies of a
prompt hold its blocks once), max_num_seqs at a time, outputs lognormal with the row's mean and coefficient of
variation, and the batch averaged over the benchmark's steady window, from the
max_num_seqs-th first token to the (N - max_num_seqs - 1)-th completion. The prompt
median whose simulated batch equals the measured one is that row's estimate; the fit
is the median of the estimates. Only the Llama-3 rows are used: one tokenizer, so
one prompt length in tokens (Qwen3 and Gemma tokenize the same prompts differently).
The spread stays at sigma 0.7, which these points cannot identify.

Usage: tools/fit_workload.py [build/convsim]   (prints every candidate, then the fit)
"""
import csv
import math
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "data/calibration")
SCENARIO = os.path.join(ROOT, "scenarios/calibration/mlenergy-v3.yaml")
PRESETS = {"meta-llama/Llama-3.1-8B-Instruct": "llama-3.1-8b", "meta-llama/Llama-3.1-70B-Instruct": "llama-3.1-70b",
           "meta-llama/Llama-3.3-70B-Instruct": "llama-3.3-70b",
           "meta-llama/Llama-3.1-405B-Instruct": "llama-3.1-405b"}
GPUS = {"H100": "h100-sxm", "B200": "b200"}
PROMPT_SIGMA = 0.7
PROMPT_MEDIANS = [100, 150, 200, 250, 300, 400, 500, 650, 800]
KV_LIMITED = 0.97


def requests_sent():
    """(prompts, requests in all) of every row."""
    with open(os.path.join(DATA, "mlenergy_v3_requests.csv")) as f:
        return {(r["model"], r["task"], r["gpu"], r["num_gpus"], r["max_num_seqs"]):
                (int(r["num_requests"]), int(r["num_requests"]) * int(r["num_request_repeats"]))
                for r in csv.DictReader(f)}


def kv_limited_rows():
    sent = requests_sent()
    with open(os.path.join(DATA, "mlenergy_v3.csv")) as f:
        for r in csv.DictReader(f):
            if r["task"] != "lm-arena-chat" or r["model"] not in PRESETS:
                continue
            if float(r["avg_batch_size"]) >= KV_LIMITED * int(r["max_num_seqs"]):
                continue
            r["prompts"], r["requests"] = sent[(r["model"], r["task"], r["gpu"], r["num_gpus"], r["max_num_seqs"])]
            yield r


def steady_batch(turns_csv, concurrency, requests):
    """Mean number of admitted sequences over the benchmark's steady window."""
    with open(turns_csv) as f:
        rows = list(csv.DictReader(f))
    firsts = sorted(float(r["start_s"]) + float(r["ttft_s"]) for r in rows)
    ends = sorted(float(r["start_s"]) + float(r["e2e_s"]) for r in rows)
    begin_s, end_s = firsts[min(len(firsts), concurrency) - 1], ends[requests - concurrency - 2]
    if end_s <= begin_s:
        return float("nan")
    admitted_s = 0.0
    for r in rows:
        start = float(r["start_s"]) + float(r["queue_s"])
        done = float(r["start_s"]) + float(r["e2e_s"])
        admitted_s += max(0.0, min(done, end_s) - max(start, begin_s))
    return admitted_s / (end_s - begin_s)


def simulated_batch(binary, row, prompt_median, out):
    batch = int(row["max_num_seqs"])
    cv = float(row["output_len_cv"])
    sigma = math.sqrt(math.log1p(cv * cv))
    median = float(row["avg_output_len"]) / math.exp(sigma * sigma / 2)
    subprocess.run([binary, "run", SCENARIO, "-q", "-o", out,
                    "--set", f"model.preset={PRESETS[row['model']]}", "--set", f"cluster.gpu={GPUS[row['gpu']]}",
                    "--set", f"cluster.gpus_per_node={row['num_gpus']}", "--set", f"parallelism.tp={row['num_gpus']}",
                    "--set", f"serving.max_batch_seqs={batch}", "--set", f"requests.arrival.concurrency={batch}",
                    "--set", f"requests.count={row['requests']}", "--set", f"requests.unique_prompts={row['prompts']}",
                    "--set", "serving.prefix_caching=true",
                    "--set", f"requests.input_tokens={{median: {prompt_median}, sigma: {PROMPT_SIGMA}}}",
                    "--set", f"requests.output_tokens={{median: {median:.1f}, sigma: {sigma:.4f}}}"], check=True)
    return steady_batch(os.path.join(out, "turns.csv"), batch, row["requests"])


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build/convsim")
    estimates = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in kv_limited_rows():
            target = float(row["avg_batch_size"])
            label = f"{row['model']} {row['gpu']} x{row['num_gpus']} max_num_seqs {row['max_num_seqs']}"
            points = []
            for prompt_median in PROMPT_MEDIANS:
                got = simulated_batch(binary, row, prompt_median, os.path.join(tmp, "out"))
                points.append((prompt_median, got))
                print(f"  {label}: prompt median {prompt_median}: {got:.0f} sequences (measured {target:.0f})",
                      flush=True)
                if got < target:
                    break
            # Concurrency falls as prompts grow: interpolate where it crosses the measurement.
            for (m0, b0), (m1, b1) in zip(points, points[1:]):
                if (b0 - target) * (b1 - target) <= 0 and b0 != b1:
                    estimates.append(m0 + (target - b0) * (m1 - m0) / (b1 - b0))
                    print(f"  -> prompt median {estimates[-1]:.0f}")
                    break
            else:
                print(f"  -> no prompt median in {PROMPT_MEDIANS} reaches {target:.0f} sequences: left out")
    if not estimates:
        raise SystemExit("no estimate")
    estimates.sort()
    k = len(estimates)
    median = estimates[k // 2] if k % 2 else (estimates[k // 2 - 1] + estimates[k // 2]) / 2
    print(f"prompt lengths: lognormal median {median:.0f} (estimates "
          + ", ".join(f"{e:.0f}" for e in estimates) + f"), sigma {PROMPT_SIGMA}")


if __name__ == "__main__":
    main()
