// The serving fits (sim/scenario/serving_fits.cpp): each GPU's power coefficients in
// models/catalog/fits/serving.yaml obey the rules and defaults of a GPU preset's own,
// against the catalog's GPU of that name.

#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/serving_fits.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

namespace fs = std::filesystem;

// Lines 1-5 of a fits file; the GPUs' coefficients follow from line 6, four spaces in.
const std::string kHead =
    "fitted_by: test\n"
    "all:\n"
    "  iteration_host_s: 0.0018\n"
    "  host_s_per_sequence: 2.3e-5\n"
    "  power:\n";

// A fits file holding `text`, removed at the end of the test.
class TempFits {
 public:
  explicit TempFits(const std::string& text) {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("convsim_fits_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + ".yaml");
    std::ofstream(path_, std::ios::binary) << text;
  }
  ~TempFits() {
    std::error_code ignored;
    fs::remove(path_, ignored);
  }
  TempFits(const TempFits&) = delete;
  TempFits& operator=(const TempFits&) = delete;
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string load_error(const TempFits& file) {
  try {
    load_serving_fits(file.path(), test::catalog());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("the shipped fits load against the shipped catalog, each fold's BF16 roof at most at the board limit") {
  const Catalog& catalog = test::catalog();
  const ServingFits fits = load_serving_fits(default_serving_fits_path(), catalog);
  REQUIRE_FALSE(fits.without.empty());
  auto check = [&](const FittedFigures& f) {
    REQUIRE(f.power.count("h100-sxm") == 1);
    REQUIRE(f.power.count("b200") == 1);
    for (const auto& [name, k] : f.power) {
      const GpuSpec& gpu = catalog.gpus.at(name);
      const double roof_flops_per_s = gpu.peak_flops_per_s.at(Precision::bf16) * gpu.efficiency.compute;
      INFO(name);
      CHECK(k.static_w >= gpu.power_idle_w);
      CHECK(k.static_w + k.j_per_flop_bf16 * roof_flops_per_s <= gpu.power_max_w * (1 + 5e-4));
    }
  };
  check(fits.all);
  for (const auto& [model, fold] : fits.without) check(fold);
}

TEST_CASE("a fit whose tensor cores at their roof would pass the board limit is refused at the coefficient") {
  // H100 SXM preset: BF16 peak x efficiency.compute is its roof; 130 W static plus
  // 9e-13 J per FLOP there passes 700 W.
  const GpuSpec& h100 = test::catalog().gpus.at("h100-sxm");
  const double roof = h100.peak_flops_per_s.at(Precision::bf16) * h100.efficiency.compute;
  const std::string line = "    h100-sxm: {static_w: 130, j_per_hbm_byte: 1.5e-10, j_per_flop_bf16: 9e-13, collective_w: 0}";
  const TempFits file(kHead + line + "\n");
  CHECK(load_error(file) ==
        fmt::format("{}:6:{}: j_per_flop_bf16 = 9e-13 J puts a GPU with its tensor cores at their bf16 roof ({:.4g} "
                    "FLOP/s) at static_w + j_per_flop_bf16 x FLOP/s = {:.1f} W, above power_max_w = 700 W: allowed "
                    "at most {:.4g} J",
                    file.path(), line.find("9e-13") + 1, roof, 130 + 9e-13 * roof, (700 - 130) / roof));
  REQUIRE(130 + 9e-13 * roof > 700 * (1 + 5e-4));  // the case is over the limit, not within rounding
}

TEST_CASE("a fit of a GPU the catalog does not have is refused at its name") {
  const TempFits file(kHead + "    h100: {static_w: 130, j_per_hbm_byte: 1.5e-10, j_per_flop_bf16: 5e-13, collective_w: 0}\n");
  CHECK(load_error(file) == fmt::format("{}:6:5: unknown key 'h100' in all.power; did you mean 'h100-sxm'?", file.path()));
}

TEST_CASE("a fit's FP8 and FP4 energies per FLOP follow its GPU's roofs unless given") {
  // B300: FP8 at 2x the BF16 peak, FP4 at 6x (the preset's peaks), each at its own
  // efficiency: each roof (peak x efficiency) draws what BF16's does.
  const GpuSpec& b300 = test::catalog().gpus.at("b300");
  REQUIRE(b300.peak_flops_per_s.at(Precision::fp8) == Approx(2 * b300.peak_flops_per_s.at(Precision::bf16)));
  REQUIRE(b300.peak_flops_per_s.at(Precision::nvfp4) == Approx(6 * b300.peak_flops_per_s.at(Precision::bf16)));
  const TempFits file(kHead + "    b300: {static_w: 250, j_per_hbm_byte: 1.4e-10, j_per_flop_bf16: 4e-13, collective_w: 0}\n");
  const ServingFits fits = load_serving_fits(file.path(), test::catalog());
  const PowerCoefficients& k = fits.all.power.at("b300");
  const Efficiency& e = b300.efficiency;
  CHECK(k.j_per_flop_fp8 == Approx(4e-13 * e.compute / (2 * e.compute_fp8)).epsilon(1e-12));
  CHECK(k.j_per_flop_fp4 == Approx(4e-13 * e.compute / (6 * e.compute_fp4)).epsilon(1e-12));
}

TEST_CASE("a fit's host figures for a GPU are the engine's on that GPU, the shared pair elsewhere") {
  const TempFits file(
      "fitted_by: test\n"
      "all:\n"
      "  iteration_host_s: 0.0009\n"
      "  host_s_per_sequence: 3.4e-5\n"
      "  host_by_gpu:\n"
      "    b200: {iteration_host_s: 0.0016, host_s_per_sequence: 3.1e-5}\n");
  const ServingFits fits = load_serving_fits(file.path(), test::catalog());
  for (const char* gpu : {"b200", "h100-sxm"}) {
    INFO(gpu);
    std::string yaml = test::kClusterHead;
    yaml.replace(yaml.find("h100-sxm"), 8, gpu);
    Scenario s = test::scenario_from(yaml);
    REQUIRE(s.serving.engine.name == "vllm");
    apply_fit(s, fits.all);
    const bool has_entry = std::string(gpu) == "b200";
    CHECK(s.serving.engine.iteration_host_s == (has_entry ? 0.0016 : 0.0009));
    CHECK(s.serving.engine.host_s_per_sequence == (has_entry ? 3.1e-5 : 3.4e-5));
  }
}

TEST_CASE("a fit's host figures name GPU presets") {
  const TempFits file(kHead.substr(0, kHead.find("  power:")) + "  host_by_gpu:\n"
                      "    b20: {iteration_host_s: 0.0016, host_s_per_sequence: 3.1e-5}\n");
  CHECK(load_error(file) == fmt::format("{}:6:5: unknown key 'b20' in all.host_by_gpu; did you mean 'b200'?", file.path()));
}

TEST_CASE("a fit names each GPU once") {
  const std::string entry = "    h100-sxm: {static_w: 130, j_per_hbm_byte: 1.5e-10, j_per_flop_bf16: 5e-13, collective_w: 0}\n";
  const TempFits file(kHead + entry + entry);
  CHECK(load_error(file) == fmt::format("{}:7:5: duplicate key 'h100-sxm' in all.power", file.path()));
}
