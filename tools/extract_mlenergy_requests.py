#!/usr/bin/env python3
"""Write data/calibration/mlenergy_v3_requests.csv: how many requests each
ML.ENERGY v3 row's benchmark sent.

The benchmark (github.com/ml-energy/benchmark, mlenergy/benchmark/llm/benchmark.py)
sends num_requests x num_request_repeats requests at once to a server that runs
max_num_seqs of them; its steady window runs from the max_num_seqs-th first token to
the (N - max_num_seqs - 1)-th completion (RequestTracker), its avg_batch_size is the
running count averaged over that window, and its median ITL is over every token of
every request. num_requests is the task's workload_defaults
(configs/vllm/<task>/benchmark.yaml: 1,024 LMArena prompts, 198 GPQA questions);
num_request_repeats comes from the model's sweeps.yaml for its GPU (groups may be
limited to some num_gpus), or the task's sweep_defaults when it has none.

Usage: tools/extract_mlenergy_requests.py CONFIGS_DIR   (a checkout's configs/vllm)
"""
import csv
import os
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GPU_DIRS = {"H100": "H100", "B200": "B200"}


def repeats_for(groups, num_gpus, max_num_seqs):
    found = None
    for group in groups:
        if "num_gpus" in group and num_gpus not in group["num_gpus"]:
            continue
        if max_num_seqs in group.get("max_num_seqs", []):
            found = group["num_request_repeats"][0]
    return found


def main():
    configs = sys.argv[1]
    rows = list(csv.DictReader(open(os.path.join(ROOT, "data/calibration/mlenergy_v3.csv"))))
    out_path = os.path.join(ROOT, "data/calibration/mlenergy_v3_requests.csv")
    with open(out_path + ".tmp", "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["model", "task", "gpu", "num_gpus", "max_num_seqs", "num_requests", "num_request_repeats"])
        for r in rows:
            task, model, gpu = r["task"], r["model"], r["gpu"]
            bench = yaml.safe_load(open(os.path.join(configs, task, "benchmark.yaml")))
            sweeps = os.path.join(configs, task, model, GPU_DIRS[gpu], "sweeps.yaml")
            groups = yaml.safe_load(open(sweeps))["sweep"] if os.path.exists(sweeps) else bench["sweep_defaults"]
            repeats = repeats_for(groups, int(r["num_gpus"]), int(r["max_num_seqs"]))
            if repeats is None:
                sys.exit(f"{model} {task} {gpu} x{r['num_gpus']} max_num_seqs {r['max_num_seqs']}: not in {sweeps}")
            w.writerow([model, task, gpu, r["num_gpus"], r["max_num_seqs"], bench["workload_defaults"]["num_requests"],
                        repeats])
    os.replace(out_path + ".tmp", out_path)
    print(f"{len(rows)} rows in {out_path}")


if __name__ == "__main__":
    main()
