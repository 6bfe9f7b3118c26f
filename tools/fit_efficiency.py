#!/usr/bin/env python3
"""Fit the roofline efficiencies of a GPU on Vidur's measured H100 operator times.

Model (the same one convsim uses, see models/roofline.hpp):
    compute_s = flops / (peak_flops_per_s * eff_compute)
    memory_s = bytes / (hbm_bytes_per_s * eff_memory)
    time_s = (compute_s**p + memory_s**p)**(1/p) + kernel_overhead_s
where p (roofline_exponent) blends the two roofs near the ridge point (p = inf is
their max).
The operators are the linear layers of Llama-2-7B and Llama-2-70B (QKV, output,
MLP up and down projections) for 1..16384 tokens and tensor-parallel degree 1..8.
Fitted by a grid search minimising the median absolute relative error.

Usage: tools/fit_efficiency.py [data/calibration]
"""
import csv
import itertools
import os
import statistics
import sys

PEAK_FLOPS_PER_S = 989.4e12   # H100 SXM dense BF16, NVIDIA H100 datasheet
HBM_BYTES_PER_S = 3.35e12     # H100 SXM HBM3, NVIDIA H100 datasheet
ELEMENT_BYTES = 2             # BF16


def linear_ops(row):
    """Yield (name, flops, bytes, measured_s) for the row's matmuls."""
    d = int(row["n_embd"])
    heads = int(row["n_head"])
    kv_heads = int(row["n_kv_head"])
    ffn = int(row["n_expanded_embd"])
    tokens = int(row["num_tokens"])
    tp = int(row["num_tensor_parallel_workers"])
    head_dim = d // heads
    up_factor = 2 if row["use_gated_mlp"] == "True" else 1
    shapes = {
        "attn_pre_proj": (d, (heads + 2 * kv_heads) * head_dim // tp),
        "attn_post_proj": (heads * head_dim // tp, d),
        "mlp_up_proj": (d, up_factor * ffn // tp),
        "mlp_down_proj": (ffn // tp, d),
    }
    for name, (k, n) in shapes.items():
        flops = 2.0 * tokens * k * n
        moved = ELEMENT_BYTES * (k * n + tokens * (k + n))
        yield name, flops, moved, float(row[f"time_stats.{name}.median"]) * 1e-3


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "data/calibration"
    ops = []
    for name in ("vidur_h100_llama2_7b_mlp.csv", "vidur_h100_llama2_70b_mlp.csv"):
        with open(os.path.join(folder, name)) as f:
            for row in csv.DictReader(f):
                ops.extend(linear_ops(row))

    def blend(compute_s, memory_s, p):
        if p == float("inf"):
            return max(compute_s, memory_s)
        return (compute_s**p + memory_s**p) ** (1 / p)

    def errors(ec, em, overhead_s, p):
        return [abs(blend(fl / (PEAK_FLOPS_PER_S * ec), by / (HBM_BYTES_PER_S * em), p) + overhead_s - t) / t
                for _, fl, by, t in ops]

    grid_c = [x / 100 for x in range(60, 90, 2)]
    grid_m = [x / 100 for x in range(80, 100, 2)]
    grid_o = [x * 1e-6 for x in range(0, 11, 2)]
    grid_p = [2, 3, 4, 6, float("inf")]
    best = min(itertools.product(grid_c, grid_m, grid_o, grid_p),
               key=lambda p: statistics.median(errors(*p)))
    errs = sorted(errors(*best))
    print(f"operators: {len(ops)}")
    print(f"eff_compute: {best[0]:.2f}  eff_memory: {best[1]:.2f}  kernel_overhead_s: {best[2]:.1e}  "
          f"roofline_exponent: {best[3]}")
    print(f"relative error: median {statistics.median(errs):.3f}  p90 {errs[int(0.9 * len(errs))]:.3f}")


if __name__ == "__main__":
    main()
