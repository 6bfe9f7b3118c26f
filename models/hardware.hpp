#pragma once
// Datasheet figures of GPUs and interconnects, plus the efficiencies and power
// coefficients fitted on measurements (see data/calibration/ and tools/).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "models/precision.hpp"

namespace convsim {

// Fractions of the datasheet peaks reached in practice, the fixed time every kernel
// pays, and how the two roofs blend near the ridge point. Fitted on Vidur's H100
// operator measurements by tools/fit_efficiency.py (median error 6.7%, p90 20% over
// 8,352 operators).
struct Efficiency {
  double compute = 0.72;
  double memory = 0.90;
  double kernel_overhead_s = 6.0e-6;      // matmul and attention kernels
  // A kernel takes (compute_s^p + memory_s^p)^(1/p): near the ridge point a GEMM
  // overlaps its tile loads with its tensor-core work only partly, so it runs slower
  // than either roof alone (Vidur's H100 linear layers at 128-384 tokens are 11-18%
  // above max(compute_s, memory_s)); far from the ridge the larger term dominates.
  // p = 2 is the fitted exponent; a very large p is the plain max().
  double roofline_exponent = 2.0;
  // Elementwise kernels (norms, rotary, activation, adds): the median time of Vidur's
  // H100 norm/rope/act/add measurements at 1..64 tokens is 2-6 us; 3 us is taken.
  double elementwise_kernel_s = 3.0e-6;
  // Attention over a paged KV cache streams at a lower fraction of HBM bandwidth than
  // a dense weight read: fitted on the inter-token latency of Llama-3.1-8B and 70B
  // on H100 at batch 8..256 (data/calibration/mlenergy_h100.csv), where decode
  // attention reads most of the bytes. With the blended roofline and the fitted
  // request lengths of scenarios/calibration/, ITL is within 12.5% at every batch
  // 8..512 of both models.
  double attention_memory = 0.90;
  // The routed experts' grouped GEMMs (vLLM's Triton fused-MoE kernel) stream expert
  // weights at a lower fraction of HBM bandwidth than a dense GEMM: small per-expert
  // tiles, token sorting and block padding. Each preset cites the kernel benchmark
  // its figure comes from; a preset without one takes `memory`.
  double experts_memory = 0.90;
  // The same kernel's fraction of the tensor-core peak once it is compute-bound (many
  // tokens per expert). vLLM's default fused-MoE config, the one every shape without
  // a tuned config file runs (64 x 64 x 32 tiles, no num_warps or num_stages), reaches
  // far less of it than a dense GEMM. Each preset cites its kernel benchmark; a preset
  // without one takes `compute`.
  double experts_compute = 0.72;
  // Softmax attention's kernels (FlashAttention and its kin) once compute-bound, as
  // prefill is: their fraction of the BF16 peak at long key lengths, and the fixed
  // work of each query tile in key positions, which brings short ones below it: a
  // kernel reaching e at key length L runs at attention_compute x L / (L + overhead).
  // Each preset cites its kernel measurements; a preset without them takes `compute`
  // and no overhead. The attention class's other kernels (state-space scans) share
  // the class's roofs.
  double attention_compute = 0.72;
  double attention_row_overhead_tokens = 0;
  // Dense GEMMs with FP8 weights and activations once compute-bound: their fraction of
  // the FP8 peak (twice the BF16 one on Hopper). Lower than a BF16 GEMM's of its own:
  // the FP8 tensor cores draw the board to its power limit, which lowers the clock, and
  // the scaling epilogues cost their share. Each preset cites its measurements; a
  // preset without them takes `compute`.
  double compute_fp8 = 0.72;
  // The same for dense GEMMs with FP4 weights (NVFP4, MXFP4) on FP4 tensor cores, of
  // the FP4 peak. A preset without measurements takes `compute`.
  double compute_fp4 = 0.72;
};

// GPU board power in physical units (see models/power.hpp):
//   busy:      static_w + j_per_hbm_byte * HBM bytes/s + j_per_flop(precision) * FLOP/s
//   host wait: static_w (clocks up, waiting for the engine's CPU side to launch work)
//   collective: static_w + collective_w (SMs spinning in NCCL/custom all-reduce kernels)
// each capped at the board limit. Fitted per GPU model on every batch size of the
// ML.ENERGY measurements by tools/fit_serving.py (no GPU borrows another's fit);
// the command and the resulting figures are in the preset. Defaults are the H100
// fit's order of magnitude, only for presets that have none.
struct PowerCoefficients {
  double static_w = 200;          // a clocked-up GPU running kernels, before data moves
  double j_per_hbm_byte = 160e-12;  // DRAM access + on-chip movement of one HBM byte
  double j_per_flop_bf16 = 0.25e-12; // one dense BF16 tensor-core FLOP
  // The tensor cores of every precision at their roof draw what BF16's do, at the same
  // board power: a preset's FP8 or FP4 FLOP costs j_per_flop_bf16 x the BF16 peak over
  // its own unless given (FP8 at 2x BF16's peak on H100 and B200: half; FP4 at 4x on
  // B200, 9 against 2.25 dense PFLOPS at 1,000 W: a quarter; at 6x on B300 and GB300:
  // a sixth). These defaults are for a preset with no power_coefficients at all.
  double j_per_flop_fp8 = 0.125e-12;
  double j_per_flop_fp4 = 0.0625e-12;
  double collective_w = 100;      // above static_w while waiting in a collective kernel
};

struct GpuSpec {
  std::string name;
  std::string description;
  std::map<Precision, double> peak_flops_per_s;  // dense tensor-core peak per precision
  double hbm_bytes = 0;
  double hbm_bytes_per_s = 0;
  double power_idle_w = 0;  // idle with an open CUDA context: a serving GPU between work
  // Idle with no process on it (nvidia-smi: P0, 0 MiB used, "GPU idle" clock event
  // reason active), the SM clock at its lowest: the draw no clock setting takes away,
  // the base of the clock-driven power in models/clocks.hpp. power_idle_w where the
  // preset gives no reading.
  double power_bare_idle_w = 0;
  double power_max_w = 0;  // board limit
  // The NVLink or Infinity Fabric generation its baseboard connects GPUs with: the
  // scale-up fabric a cluster of this GPU gets unless cluster.scale_up names another.
  std::string scale_up = "nvlink4";
  // The range of clocks and power limits a user may set (nvidia-smi -q: "Max Clocks
  // SM", "Min Power Limit"); 0 where the preset gives none, and then the scenario
  // cannot set a clock (or a cap). See models/clocks.hpp.
  double max_sm_clock_mhz = 0;
  double min_power_limit_w = 0;
  Efficiency efficiency;
  PowerCoefficients power;
  std::vector<std::string> sources;

  // The operating point a run sets (models/clocks.hpp at_operating_point): a power
  // limit below the board limit, and the fraction of max_sm_clock_mhz compute-bound
  // kernels run at (the peaks above already scaled by it). A preset has neither.
  std::optional<double> power_cap_w;
  double compute_clock_fraction = 1.0;

  // Peak of the matmul precision, falling back to BF16 where the GPU has no
  // faster path for it (e.g. FP8 on an A100).
  double peak_for(Precision matmul) const;
  // The most the GPU draws (nvidia-smi's "Enforced Power Limit"): the board limit,
  // or the run's cap if lower.
  double power_limit_w() const;
};

enum class FabricKind { scale_up, scale_out };

struct FabricSpec {
  std::string name;
  std::string description;
  FabricKind kind = FabricKind::scale_up;
  double bandwidth_bytes_per_s = 0;  // per GPU, per direction
  double latency_s = 0;              // one-way, small message, GPU to GPU
  // Switches that reduce (NVLink SHARP): the rate of a multimem all-reduce, buffer
  // bytes per second per GPU, where each port carries the buffer once each way and
  // the switch's reduction sets the pace. 0: the fabric has none.
  double multicast_allreduce_bytes_per_s = 0;
  double energy_j_per_byte = 0;
  // Switch power (NVSwitch, PCIe switch, InfiniBand or Ethernet switch) per port in
  // use, drawn all run long; scale-up fabrics also say how many ports each GPU uses
  // (its NVLink links). See models/system_power.hpp.
  double switch_w_per_port = 0;
  int switch_ports_per_gpu = 1;
  // Optical module (transceiver) power per port end of a scale-out link, drawn while
  // the link is up whatever it carries. See models/system_power.hpp.
  double optics_w_per_port = 0;
  std::vector<std::string> sources;
};

}  // namespace convsim
