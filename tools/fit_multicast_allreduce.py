#!/usr/bin/env python3
"""Fit the multicast (NVLink SHARP) all-reduce rate of the NVLink fabric presets
(multicast_allreduce_bytes_per_s in models/catalog/fabrics/nvlink4.yaml, nvlink5.yaml).

    python3 tools/fit_multicast_allreduce.py

convsim times a multimem all-reduce of S bytes as 3 latency steps plus S at the
fabric's multicast rate (sim/cluster/collectives.hpp). On nvlink4 the rate is the
least-squares fit, through the origin, of (measured time - 3 x latency_s) against S
over vLLM's measured 8 x H100 multimem times from 4 to 64 MiB. On nvlink5 no multimem
time was found; the rate is nvlink4's scaled by NCCL's NVLS all-reduce bus bandwidth
at 8 GiB on 8 x B200 against 8 x H100. It prints both and the YAML lines; it writes
nothing into the catalog.
"""

MIB = 1024 * 1024
NVLINK4_LATENCY_S = 2.6e-6  # nvlink4.yaml latency_s
LATENCY_STEPS = 3

# vllm-project/vllm PR 42324, H100 (SM 9.0) table, symm_mem_multimem column, ms per
# all-reduce (BF16, CUDA graphs, world size 8).
H100_MULTIMEM_MS = [(4, 0.027), (8, 0.046), (16, 0.087), (32, 0.165), (47.84, 0.244), (64, 0.320)]

# NCCL NVLS all-reduce busbw at 8 GiB, GB/s: 8 x B200 (stas00/ml-engineering
# network/README.md, NCCL 2.27.7); 8 x H100 (Azure/AI-benchmarking-guide, ND H100 v5).
NVLS_BUSBW_B200 = 838.0
NVLS_BUSBW_H100 = 478.87


def main():
    xs = [mib * MIB for mib, _ in H100_MULTIMEM_MS]
    ys = [ms * 1e-3 - LATENCY_STEPS * NVLINK4_LATENCY_S for _, ms in H100_MULTIMEM_MS]
    rate = sum(x * x for x in xs) / sum(x * y for x, y in zip(xs, ys))
    print("nvlink4: least squares over", len(xs), "points")
    for (mib, ms), x in zip(H100_MULTIMEM_MS, xs):
        model_ms = (LATENCY_STEPS * NVLINK4_LATENCY_S + x / rate) * 1e3
        print(f"  {mib:6.2f} MiB: measured {ms:.3f} ms, model {model_ms:.4f} ms ({100 * (model_ms / ms - 1):+.1f}%)")
    nvlink5 = rate * NVLS_BUSBW_B200 / NVLS_BUSBW_H100
    print(f"nvlink4.yaml  multicast_allreduce_bytes_per_s: {rate / 1e9:.1f}e+9")
    # Three significant digits: it rests on the assumption that torch's multimem kernel
    # reaches the same share of NCCL's NVLS rate on B200 as on H100.
    print(f"nvlink5.yaml  multicast_allreduce_bytes_per_s: {nvlink5 / 1e9:.0f}.0e+9")


if __name__ == "__main__":
    main()
