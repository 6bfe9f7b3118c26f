#!/usr/bin/env python3
"""Fit the serving figures convsim cannot take from a datasheet, on every row of the
ML.ENERGY measurements (data/calibration/mlenergy_v3.csv), and the same figures
without each model in turn (leave-one-model-out folds).

What is fitted, and why it is a physical quantity:
- vLLM's CPU-side time per iteration, iteration_host_s + host_s_per_sequence * n
  (scheduling, input preparation, sampling, detokenisation of n sequences), one pair
  per GPU architecture: vLLM 0.11 runs a different host path on each, FlashAttention
  on Hopper and FlashInfer, whose attention metadata is planned on the host every
  step, on Blackwell (vllm/platforms/cuda.py). Fitted on the median ITL: a first
  pass simulates every row with no host time; the residual measured - simulated ITL
  is regressed on the measured mean batch (least absolute relative errors,
  coefficients >= 0: see fit_host), on each measured GPU's rows (host_by_gpu; GPUs of the same
  architecture take its pair) and on all rows (the pair for every other GPU).
- Per GPU model, the power coefficients of models/power.hpp: static_w (W while
  running kernels), j_per_hbm_byte, j_per_flop_bf16 (FP8 and FP4 by the ratio of the peaks) and
  collective_w. A second pass, with the fitted host time, gives each row's GPU
  seconds communicating, waiting on the host and idle, and its stretches of kernels
  (serving_segments.csv: GPU-seconds, HBM bytes and FLOPs of each). A prediction
  draws over each stretch the smaller of the terms' power and the board limit, so
  energy per output token is linear in the coefficients once it is known which
  stretches reach the limit: bounded least squares on its relative errors,
  alternated with that classification until it holds (fit_power). The tensor
  cores at their roof draw the board limit (lsq_at_roof: the clock model's premise,
  at most the catalog's rule). collective_w is bounded by
  HBM streaming at the scale-up link's rate both ways (2 x link bytes/s x J per HBM
  byte): what a GPU moving data in a collective can add. Rows measured at the board limit
  are kept: leaving them out would fit the lighter loads only and put every heavy
  load below its measured power.
  Rows at batch < 8 are absent from the data; every other batch is used.

Writes models/catalog/fits/serving.yaml (all rows and one fold per model) and puts
the all-rows figures into models/catalog/engines/{vllm,sglang,trtllm}.yaml and the
GPU presets (h100-sxm, b200; h200 takes h100-sxm's, the same GH100 die).

Usage: tools/fit_serving.py [build/convsim] [--jobs N]   (about a minute on 2 cores)
"""
import csv
import itertools
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATALOG = os.path.join(ROOT, "models", "catalog")
FITTED_GPUS = ["h100-sxm", "b200"]
# GPUs with no measurement take the fit of the measured GPU whose die they share:
# H200 and H20 are GH100 (same draw above the idle and per FLOP; HBM3e per byte taken as
# HBM3's); GB200, B300 and GB300 are Blackwell GPUs like the B200.
SAME_DIE = {"h200": "h100-sxm", "h20": "h100-sxm", "gb200": "b200", "b300": "b200", "gb300": "b200"}
POWER_KEYS = ["static_w", "j_per_hbm_byte", "j_per_flop_bf16", "collective_w"]
# The floor of the energy per HBM byte: the DRAM device access alone, about 3.9 pJ/bit
# for HBM2 (O'Connor et al., Fine-Grained DRAM, MICRO 2017); moving the byte across
# the chip comes on top, so no fit may go below it.
HBM_DEVICE_J_PER_BYTE = 3.9e-12 * 8


def read_yaml_number(text, key):
    m = re.search(rf"^\s*{key}:\s*([0-9.eE+-]+)", text, flags=re.M)
    return float(m.group(1)) if m else None


def set_yaml_number(text, key, value):
    return re.sub(rf"^(\s*{key}:\s*)([0-9.eE+-]+)", lambda m: f"{m.group(1)}{value:.6g}", text, count=1, flags=re.M)


def floor_digits(x, digits=4):
    """x rounded down to `digits` significant digits."""
    if x <= 0:
        return x
    scale = 10.0 ** (math.floor(math.log10(x)) - digits + 1)
    return math.floor(x / scale * (1 + 1e-12)) * scale


def set_power_block(text, k, note):
    # The energy per FLOP is written rounded down: a fit on the tensor cores' roof
    # constraint (lsq_at_roof) must not land above the board limit by rounding.
    block = (f"power_coefficients:        # {note}\n"
             f"  static_w: {k['static_w']:.4g}\n  j_per_hbm_byte: {k['j_per_hbm_byte']:.4g}\n"
             f"  j_per_flop_bf16: {floor_digits(k['j_per_flop_bf16']):.4g}\n  collective_w: {k['collective_w']:.4g}\n")
    return re.sub(r"power_coefficients:.*?\n(?=\S)", block, text, flags=re.S)


def run_validate(binary, catalog, out, jobs):
    env = dict(os.environ, CONVSIM_CATALOG=catalog)
    subprocess.run([binary, "validate", "--only", "serving", "--in-sample", "-j", str(jobs), "-o", out], env=env,
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "serving.csv")) as f:
        # Rows whose deployment stalls outside the GPUs (see flag_host_stalls in
        # sim/validation/serving_rows.hpp) say nothing about the GPUs or vLLM's host
        # time: they are reported apart and not fitted.
        rows = [r for r in csv.DictReader(f)
                if r["source"] == "mlenergy" and r["mode"] == "in_sample" and r["stalled"] == "0"]
    # Each row's stretches of kernels, apart: the prediction clips each one's power
    # at the board limit (simulate_row in sim/validation/serving_rows.hpp).
    segments = {}
    with open(os.path.join(out, "serving_segments.csv")) as f:
        for s in csv.DictReader(f):
            segments.setdefault((s["source"], s["line"]), []).append(
                (float(s["gpu_s"]), float(s["hbm_bytes"]), float(s["bf16_flops"]), float(s["fp8_flops"])))
    for r in rows:
        r["segments"] = segments.get((r["source"], r["line"]), [])
        total = sum(t for t, _, _, _ in r["segments"])
        compute = float(r["gpu_compute_s"])
        if abs(total - compute) > 1e-6 * max(compute, 1e-9):
            sys.exit(f"fit_serving: row {r['line']}: its stretches sum to {total} GPU-s, its compute to {compute}")
    return rows


def solve(a, b):
    """Least squares a x = b by the normal equations (small systems)."""
    n = len(a[0])
    m = [[sum(r[i] * r[j] for r in a) for j in range(n)] + [sum(r[i] * y for r, y in zip(a, b))] for i in range(n)]
    for c in range(n):
        p = max(range(c, n), key=lambda r: abs(m[r][c]))
        m[c], m[p] = m[p], m[c]
        if abs(m[c][c]) < 1e-300:
            return None
        for r in range(n):
            if r != c:
                f = m[r][c] / m[c][c]
                m[r] = [x - f * y for x, y in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def bounded_lsq(a, b, bounds):
    """Least squares with each unknown in [low, high] (high may be None): every
    unknown at its lower bound, its upper bound or free, the best feasible set."""
    n = len(a[0])
    best, best_cost = None, float("inf")
    for states in itertools.product(range(3), repeat=n):
        if any(s == 1 and bounds[i][1] is None for i, s in enumerate(states)):
            continue
        fixed = [0.0] * n
        for i, st in enumerate(states):
            fixed[i] = bounds[i][0] if st == 0 else (bounds[i][1] if st == 1 else 0.0)
        free = [i for i, st in enumerate(states) if st == 2]
        rhs = [y - sum(r[i] * fixed[i] for i in range(n) if states[i] != 2) for r, y in zip(a, b)]
        x = fixed[:]
        if free:
            sol = solve([[r[i] for i in free] for r in a], rhs)
            if sol is None:
                continue
            for i, v in zip(free, sol):
                x[i] = v
        if any(x[i] < bounds[i][0] - 1e-9 * abs(bounds[i][0]) or
               (bounds[i][1] is not None and x[i] > bounds[i][1] + 1e-9 * abs(bounds[i][1])) for i in range(n)):
            continue
        cost = sum((sum(ri * xi for ri, xi in zip(r, x)) - y) ** 2 for r, y in zip(a, b))
        if cost < best_cost:
            best, best_cost = x, cost
    return best


def lsq_at_roof(a, b, bounds, c, limit):
    """bounded_lsq for (static_w, collective_w, j_per_hbm_byte, j_per_flop) with
    static_w + c * j_per_flop = limit: the tensor cores at their roof (c FLOP/s) draw
    the board limit at the maximum clock, the premise of the clock model
    (models/clocks.hpp) that sets the clock a power cap leaves. The measurements say
    so: ML.ENERGY's H100 rows at batch 192 and more run at 685-694 W of 700, its B200
    rows (Qwen3-32B, batch 64-512) at 945-976 W of 1,000; FP8 GEMMs on an H800 throttle at the limit, the clock
    falling from 1,980 to 1,575 MHz (DeepGEMM issue 120). Left free, the fit put
    the H100's roof at 561 W, so no cap between 561 and 700 W slowed it."""
    on = [[r[1], r[2], r[3] - c * r[0]] for r in a]
    rhs = [y - r[0] * limit for r, y in zip(a, b)]
    per_flop = (max(bounds[3][0], (limit - bounds[0][1]) / c), min(bounds[3][1], (limit - bounds[0][0]) / c))
    collective, per_byte, flop = bounded_lsq(on, rhs, [bounds[1], bounds[2], per_flop])
    return [limit - c * flop, collective, per_byte, flop]


def weighted_median(values, weights):
    """The t minimising sum(w |t - v|): the first value, in order, at which the running
    weight reaches half the total."""
    pairs = sorted(zip(values, weights))
    half, run = 0.5 * sum(weights), 0.0
    for v, w in pairs:
        run += w
        if run >= half:
            return v
    return pairs[-1][0]


def least_absolute(a, b):
    """(x0, x1) >= 0 minimising sum |a_i0 x0 + a_i1 x1 - b_i|, every a_i1 > 0. For a given
    x0 the best x1 is a weighted median; the cost left is convex in x0 (the minimum over
    x1 of a jointly convex function), so a golden-section search over x0 finds the optimum.
    Beyond the largest b_i / a_i0 every residual only grows, which bounds the search."""
    def best_x1(x0):
        x1 = weighted_median([(y - r[0] * x0) / r[1] for r, y in zip(a, b)], [r[1] for r in a])
        return max(0.0, x1)

    def cost(x0):
        x1 = best_x1(x0)
        return sum(abs(r[0] * x0 + r[1] * x1 - y) for r, y in zip(a, b))

    low, high = 0.0, max([0.0] + [y / r[0] for r, y in zip(a, b) if r[0] > 0])
    ratio = (math.sqrt(5) - 1) / 2
    for _ in range(200):
        m1, m2 = high - ratio * (high - low), low + ratio * (high - low)
        if cost(m1) <= cost(m2):
            high = m2
        else:
            low = m1
    x0 = 0.5 * (low + high)
    return x0, best_x1(x0)


def fit_host(rows):
    """measured ITL - simulated GPU-only ITL = host_fixed + host_per_seq * batch, on relative errors.
    The batch is the measured mean batch (the file's avg_batch_size, over the benchmark's window):
    most of a run's tokens, whose median the ITL is, are generated at it, while the simulated mean
    over the whole run counts the ramp and the drain too.
    Least absolute errors (a median regression), not least squares: what is asked of the figures
    is a median error, and a few measurements are out of order in batch, which squares would let
    pull the fit (Qwen3-8B on B200, chat: 10.3 ms at batch 32, 12.9 ms at 64, 12.1 ms at 128;
    Llama-3.1-405B on B200: 272 ms at batch 4,096 against 325 ms at 3,072)."""
    a, b = [], []
    for r in rows:
        measured = float(r["measured_itl_s"])
        a.append([1 / measured, float(r["measured_batch"]) / measured])
        b.append((measured - float(r["predicted_itl_s"])) / measured)
    return least_absolute(a, b)


def fit_host_all(rows):
    """The shared pair (every row) and each measured GPU's own, carried to the GPUs of
    its architecture, which vLLM serves with the same attention backend."""
    by_gpu = {g: fit_host([r for r in rows if r["gpu"] == g]) for g in FITTED_GPUS}
    for same, source in SAME_DIE.items():
        by_gpu[same] = by_gpu[source]
    return {"shared": fit_host(rows), "by_gpu": by_gpu}


def host_by_gpu_yaml(by_gpu, indent):
    pad = " " * indent
    out = f"{pad}host_by_gpu:\n"
    for gpu in sorted(by_gpu):
        fixed, per_seq = by_gpu[gpu]
        out += f"{pad}  {gpu}: {{iteration_host_s: {fixed:.6g}, host_s_per_sequence: {per_seq:.6g}}}\n"
    return out


def set_host(text, host, by_gpu=True):
    """An engine profile's text with the fitted host figures: the shared pair, and
    (by_gpu) the host_by_gpu block after it, replacing any there was."""
    text = set_yaml_number(text, "iteration_host_s", host["shared"][0])
    text = set_yaml_number(text, "host_s_per_sequence", host["shared"][1])
    text = re.sub(r"^host_by_gpu:\n(?: .*\n)*", "", text, flags=re.M)
    if by_gpu:
        text = re.sub(r"^(host_s_per_sequence:.*\n)", lambda m: m.group(1) + host_by_gpu_yaml(host["by_gpu"], 0),
                      text, count=1, flags=re.M)
    return text


def row_terms(r, spec, k=None):
    """A row's GPU energy per output token as the prediction computes it, in the power
    model's terms: (features, constant) with energy = features . (static_w,
    collective_w, j_per_hbm_byte, j_per_flop_bf16) + constant. A stretch of kernels
    whose power at the coefficients `k` would exceed the board limit draws the limit
    (a constant); without `k` no stretch is clipped."""
    tokens = float(r["output_tokens"])
    limit = spec["power_max_w"]
    active = float(r["gpu_host_s"]) + float(r["gpu_comm_s"])
    per_byte = per_flop = 0.0
    constant = spec["power_idle_w"] * float(r["gpu_idle_s"])
    for t, hbm_bytes, bf16_flops, fp8_flops in r["segments"]:
        # An FP8 FLOP costs j_per_flop_bf16 x the BF16 roof over the FP8 roof
        # (default_j_per_flop_fp8 in models/power.cpp).
        flops = bf16_flops + spec["fp8_per_bf16"] * fp8_flops
        if k is not None and k["static_w"] * t + k["j_per_hbm_byte"] * hbm_bytes + k["j_per_flop_bf16"] * flops > limit * t:
            constant += limit * t
        else:
            active += t
            per_byte += hbm_bytes
            per_flop += flops
    return [active / tokens, float(r["gpu_comm_s"]) / tokens, per_byte / tokens, per_flop / tokens], constant / tokens


def energy_per_token(r, spec, k):
    x, c = row_terms(r, spec, k)
    return c + sum(xi * k[key] for xi, key in zip(x, ["static_w", "collective_w", "j_per_hbm_byte", "j_per_flop_bf16"]))


def fit_power(rows, spec):
    """Measured GPU energy per output token (steady state) against the power model's
    terms, per output token of the simulated run: GPU-seconds running kernels or
    waiting on the host (static_w), GPU-seconds in collectives (collective_w), HBM
    bytes (j_per_hbm_byte) and FLOPs (j_per_flop_bf16; an FP8 FLOP at the roofs' ratio), plus the idle
    GPU-seconds at the preset's power_idle_w, all of them the steady window's (as the
    measurement's).

    The prediction draws, over each stretch of kernels, the smaller of the terms'
    power and the board limit. Energy per token is linear in the coefficients once it
    is known which stretches reach the limit, so the fit alternates: bounded least
    squares on relative errors with the stretches at the limit as constants, then
    the stretches at the limit recomputed from the coefficients, until they agree.
    (A fit of the sum alone, unclipped, overstates the heavy rows it leans on and came
    out low everywhere else: B200 in sample -5.4% median.)

    Why energy per token and not mean power: the bytes and FLOPs a token costs are
    fixed by the model's shapes, whatever the predicted time, and the energy a
    prediction reports is exactly this sum over the simulated activity, so a fit on
    it is the prediction's own equation (a fit of mean power at the measured token
    rate, which the prediction never sees, left every prediction 5-6% low in sample
    on both GPUs). Bounds keep every coefficient physical: a GPU running kernels draws
    at least its idle power; the tensor cores at their roof draw the board limit
    (static_w included: lsq_at_roof), and a collective's spinning kernels at most its
    dynamic range; a byte costs at least its DRAM access."""
    dynamic = spec["power_max_w"] - spec["power_idle_w"]

    def solve_at(k):
        a, b = [], []
        for r in rows:
            x, constant = row_terms(r, spec, k)
            measured = float(r["measured_energy_per_token_j"])  # all GPUs
            a.append([xi / measured for xi in x])
            b.append(1.0 - constant / measured)
        # A GPU in a collective reads what it sends and writes what it receives, each
        # through its HBM, at most at its scale-up link's rate in each direction: its
        # extra power is at most 2 x link bytes/s x the fitted energy per HBM byte (the
        # link's own energy is counted apart, per byte, by the fabric preset). The bound
        # depends on the fitted per-byte energy, so the fit is repeated until both agree.
        collective_max = dynamic
        for _ in range(20):
            bounds = [(spec["power_idle_w"], spec["power_max_w"] * 0.99), (0.0, collective_max),
                      (HBM_DEVICE_J_PER_BYTE, None), (0.0, dynamic / (spec["peak_bf16"] * spec["compute_efficiency"]))]
            roof = spec["peak_bf16"] * spec["compute_efficiency"]
            static, collective, per_byte, per_flop = lsq_at_roof(a, b, bounds, roof, spec["power_max_w"])
            streaming = min(dynamic, 2.0 * spec["link_bytes_per_s"] * per_byte)
            if collective <= streaming * (1 + 1e-6):
                break
            collective_max = streaming
        return {"static_w": static, "collective_w": collective, "j_per_hbm_byte": per_byte, "j_per_flop_bf16": per_flop}

    def cost(k):
        return sum((energy_per_token(r, spec, k) / float(r["measured_energy_per_token_j"]) - 1) ** 2 for r in rows)

    k = solve_at(None)
    best, best_cost = k, cost(k)
    for _ in range(50):
        k = solve_at(k)
        c = cost(k)
        if c < best_cost - 1e-15:
            best, best_cost = k, c
        else:
            break  # the stretches at the limit no longer change (or the cost stopped falling)
    return best


def carried(k, source, same):
    """The fit of `source` for a GPU of the same die: the same per-byte, per-FLOP and
    collective energies, and the same draw of running kernels above the idle
    (static_w - power_idle_w) on top of its own idle, which its board sets
    (GB200's 191.7 W against the B200's 164.9 W)."""
    out = dict(k)
    out["static_w"] = k["static_w"] - gpu_spec(source)["power_idle_w"] + gpu_spec(same)["power_idle_w"]
    return out


def gpu_spec(name):
    text = open(os.path.join(CATALOG, "gpus", name + ".yaml")).read()
    peak = re.search(r"^\s*bf16:\s*([0-9.eE+-]+)", text, flags=re.M)
    peak_fp8 = re.search(r"^\s*fp8:\s*([0-9.eE+-]+)", text, flags=re.M)
    compute = re.search(r"^\s*compute:\s*([0-9.eE+-]+)", text, flags=re.M)
    compute_fp8 = re.search(r"^\s*compute_fp8:\s*([0-9.eE+-]+)", text, flags=re.M)
    fabric = re.search(r"^scale_up:\s*(\S+)", text, flags=re.M).group(1)
    with open(os.path.join(CATALOG, "fabrics", fabric + ".yaml")) as f:
        link_bytes_per_s = read_yaml_number(f.read(), "bandwidth_bytes_per_s")
    efficiency = float(compute.group(1)) if compute else 0.72
    efficiency_fp8 = float(compute_fp8.group(1)) if compute_fp8 else efficiency
    roof_bf16 = float(peak.group(1)) * efficiency
    return {"power_idle_w": read_yaml_number(text, "power_idle_w"), "power_max_w": read_yaml_number(text, "power_max_w"),
            "peak_bf16": float(peak.group(1)), "compute_efficiency": efficiency,
            "fp8_per_bf16": roof_bf16 / (float(peak_fp8.group(1)) * efficiency_fp8) if peak_fp8 else 0.5,
            "link_bytes_per_s": link_bytes_per_s}


def figures_yaml(host, power, indent):
    pad = " " * indent
    fixed, per_seq = host["shared"]
    out = f"{pad}iteration_host_s: {fixed:.6g}\n{pad}host_s_per_sequence: {per_seq:.6g}\n"
    out += host_by_gpu_yaml(host["by_gpu"], indent) + f"{pad}power:\n"
    for gpu in sorted(power):
        k = power[gpu]
        out += f"{pad}  {gpu}: {{" + ", ".join(f"{key}: {k[key]:.6g}" for key in POWER_KEYS) + "}\n"
    return out


def main():
    args = [a for a in sys.argv[1:]]
    jobs = 2
    if "--jobs" in args:
        i = args.index("--jobs")
        jobs = int(args[i + 1])
        del args[i:i + 2]
    binary = args[0] if args else os.path.join(ROOT, "build", "convsim")
    work = tempfile.mkdtemp(prefix="convsim-fit-")
    try:
        catalog = os.path.join(work, "catalog")
        shutil.copytree(CATALOG, catalog)
        vllm = os.path.join(catalog, "engines", "vllm.yaml")
        text = open(vllm).read()
        text = set_host(text, {"shared": (0.0, 0.0)}, by_gpu=False)
        open(vllm, "w").write(text)
        print("pass 1: every row without host time", file=sys.stderr)
        first = run_validate(binary, catalog, os.path.join(work, "pass1"), jobs)
        folds = sorted({r["fold"] for r in first})
        host = {"all": fit_host_all(first)}
        for fold in folds:
            host[fold] = fit_host_all([r for r in first if r["fold"] != fold])
        text = set_host(text, host["all"])
        open(vllm, "w").write(text)
        print("pass 2: every row with the fitted host time", file=sys.stderr)
        second = run_validate(binary, catalog, os.path.join(work, "pass2"), jobs)
        power = {}
        for key in ["all"] + folds:
            rows = [r for r in second if key == "all" or r["fold"] != key]
            power[key] = {g: fit_power([r for r in rows if r["gpu"] == g], gpu_spec(g)) for g in FITTED_GPUS}
            for same, source in SAME_DIE.items():
                power[key][same] = carried(power[key][source], source, same)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    command = "tools/fit_serving.py " + " ".join(sys.argv[1:])
    out = ["# Written by tools/fit_serving.py: do not edit by hand; rerun it after changing the cost",
           "# or power model. `all` is fitted on every row of data/calibration/mlenergy_v3.csv (the",
           "# catalog's presets carry it); `without.<model>` on every row but that model's, which",
           "# `convsim validate` uses to predict that model's rows (leave-one-model-out).",
           f"fitted_by: \"{command.strip()}\"", "all:", figures_yaml(host["all"], power["all"], 2).rstrip(), "without:"]
    for fold in folds:
        out.append(f"  {fold}:")
        out.append(figures_yaml(host[fold], power[fold], 4).rstrip())
    os.makedirs(os.path.join(CATALOG, "fits"), exist_ok=True)
    with open(os.path.join(CATALOG, "fits", "serving.yaml"), "w") as f:
        f.write("\n".join(out) + "\n")
    for engine in ["vllm", "sglang", "trtllm"]:
        path = os.path.join(CATALOG, "engines", engine + ".yaml")
        # Only vLLM's host path is measured per GPU; SGLang and TensorRT-LLM take the shared pair.
        text = set_host(open(path).read(), host["all"], by_gpu=engine == "vllm")
        with open(path, "w") as f:
            f.write(text)
    for gpu, k in power["all"].items():
        path = os.path.join(CATALOG, "gpus", gpu + ".yaml")
        note = ("fitted by tools/fit_serving.py on ML.ENERGY v3" if gpu in FITTED_GPUS
                else f"{SAME_DIE[gpu]}'s fit above its own idle: the same die (tools/fit_serving.py)")
        text = open(path).read()
        with open(path, "w") as f:
            f.write(set_power_block(text, k, note))
    for gpu, (fixed, per_seq) in [("every GPU", host["all"]["shared"])] + [(g, host["all"]["by_gpu"][g])
                                                                        for g in FITTED_GPUS]:
        print(f"host ({gpu}): {fixed * 1e3:.3f} ms per iteration + {per_seq * 1e6:.1f} us per sequence")
    for gpu in FITTED_GPUS:
        k = power["all"][gpu]
        print(f"{gpu}: static {k['static_w']:.0f} W, {k['j_per_hbm_byte'] * 1e12:.0f} pJ/byte, "
              f"{k['j_per_flop_bf16'] * 1e12:.3f} pJ/FLOP (BF16), collective +{k['collective_w']:.0f} W")


if __name__ == "__main__":
    main()
