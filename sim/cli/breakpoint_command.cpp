// `convsim breakpoint`: the value of a key at which the first failure appears, found
// by bisection. Every simulation runs in a child process (run_in_children): SimGrid
// allows one simulation per process.

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>

#include <fmt/format.h>

#include "sim/analysis/objectives.hpp"
#include "sim/cli/commands.hpp"
#include "sim/cli/json_file.hpp"
#include "sim/scenario/config_error.hpp"
#include "sim/scenario/slo_reader.hpp"

namespace fs = std::filesystem;


namespace convsim::cli {

using Json = nlohmann::ordered_json;


namespace {

struct ProbeFailure {
  std::string kind;
  double time_s = 0;
  double minute = 0;
  std::string cause;
  std::string cause_class;  // compute, memory bandwidth, ... when summary.json has it
};

struct Probe {
  double value = 0;
  std::string text;  // the value as passed to --set
  std::string dir;
  std::optional<ProbeFailure> failure;  // the first failure that counts
  std::vector<std::string> ignored;     // kinds of the other failures (with --kind)
};

std::string describe(const ProbeFailure& f) {
  const std::string cause_class = f.cause_class.empty() ? "" : fmt::format(" [{}]", f.cause_class);
  return fmt::format("{} at minute {:.2f} ({:.1f} s): {}{}", f.kind, f.minute, f.time_s, f.cause, cause_class);
}

Json probe_json(const Probe& p) {
  Json j = {{"value", p.value}, {"fails", p.failure.has_value()}, {"dir", p.dir}};
  if (p.failure) {
    j["failure"] = {{"kind", p.failure->kind},
                    {"time_s", p.failure->time_s},
                    {"minute", p.failure->minute},
                    {"cause", p.failure->cause}};
    if (!p.failure->cause_class.empty()) j["failure"]["cause_class"] = p.failure->cause_class;
  }
  return j;
}

class Bisection {
 public:
  Bisection(const BreakpointRequest& request, const Catalog& catalog)
      : request_(request), catalog_(catalog), base_(parse_overrides(request.sets)) {}

  // Whether the loader reads the key as an integer: it rejects a half value so.
  bool detect_integer() const {
    try {
      load(fmt::format("{:.12g}", std::floor(request_.from) + 0.5));
    } catch (const ConfigError& e) {
      return std::string(e.what()).find("expected an integer") != std::string::npos;
    }
    return false;
  }

  // Whether the key holds a number: the loader refuses a word there as not a number.
  bool detect_numeric() const {
    try {
      load("not-a-number");
    } catch (const ConfigError& e) {
      const std::string what = e.what();
      return what.find("expected a number") != std::string::npos ||
             what.find("expected an integer") != std::string::npos ||
             what.find("expected a finite number") != std::string::npos;
    }
    return false;
  }

  void set_integer(bool integer) { integer_ = integer; }
  void set_tolerance(double tolerance) { tolerance_ = tolerance; }
  bool integer() const { return integer_; }

  std::string text(double value) const {
    return integer_ ? fmt::format("{}", std::llround(value)) : fmt::format("{:.12g}", value);
  }

  // The scenario at one value of the varied key; a warning it gives is printed the
  // first time any value gives it.
  Scenario load(const std::string& value_text) const {
    std::vector<Override> overrides = base_;
    overrides.push_back(Override{request_.key_path, value_text});
    Scenario scenario = load_scenario(request_.scenario_path, overrides, catalog_);
    for (const std::string& w : scenario.warnings) {
      if (warned_.insert(w).second) std::cerr << w << '\n';
    }
    return scenario;
  }

  // Whether the scenario accepts the value (integer keys skip rejected values).
  bool valid(double value) {
    const auto [it, inserted] = valid_.emplace(std::llround(value), false);
    if (inserted) {
      try {
        load(text(value));
        it->second = true;
      } catch (const ConfigError&) {
        it->second = false;
      }
    }
    return it->second;
  }

  // Runs one probe per value, `jobs` at once; returns them in the order given.
  std::vector<Probe> run(const std::vector<double>& values, const std::string& dir) {
    std::vector<Probe> probes;
    std::vector<ChildTask> tasks;
    for (double value : values) {
      Probe p;
      p.value = value;
      p.text = text(value);
      p.dir = (fs::path(dir) / fmt::format("{}={}", request_.key_path, p.text)).string();
      probes.push_back(p);
    }
    for (const Probe& p : probes) {
      tasks.push_back({fmt::format("breakpoint[{}={}]", request_.key_path, p.text), [this, &p]() {
                         run_and_write(load(p.text), p.dir, RunOptions{});
                       }});
    }
    std::vector<bool> ran(probes.size(), false);
    const int failed =
        run_in_children(tasks, request_.jobs, [&](std::size_t index, bool ok) { ran[index] = ok; });
    // Reported in the order given, not in the order the children finish: the same
    // search prints the same lines whatever the scheduling of its `jobs` children.
    for (std::size_t index = 0; index < probes.size(); ++index) {
      Probe& p = probes[index];
      ++probes_run_;
      if (!ran[index]) continue;
      read_failure(p);
      std::string line = fmt::format("probe {:>2}  {}={}  ", probes_run_, request_.key_path, p.text);
      if (p.failure) {
        line += fmt::format("fails: {} at minute {:.2f}", p.failure->kind, p.failure->minute);
      } else {
        line += "passes";
        if (!p.ignored.empty()) line += fmt::format(" (other failures: {})", join(p.ignored));
      }
      std::cerr << line << std::endl;
    }
    if (failed > 0) throw std::runtime_error(fmt::format("{} probe(s) could not run (see above)", failed));
    for (const Probe& p : probes) all_.push_back(p);
    return probes;
  }

  // Up to `jobs` values strictly between `pass` and `fail`, evenly spread, ordered
  // from `pass` towards `fail`; none when the interval holds no (valid) value.
  std::vector<double> interior(double pass, double fail) {
    const int n = request_.jobs;
    std::vector<double> out;
    auto inside = [pass, fail](double v) { return v > std::min(pass, fail) && v < std::max(pass, fail); };
    if (!integer_) {
      // Values rounded to a power of ten no larger than the tolerance read well
      // (0.25, not 0.250976563) and still split the interval.
      const double step = tolerance_ > 0 ? std::pow(10.0, std::floor(std::log10(tolerance_))) : 0.0;
      std::set<double> chosen;
      for (int j = 1; j <= n; ++j) {
        const double exact = pass + (fail - pass) * j / (n + 1);
        const double v = step > 0 ? std::round(exact / step) * step : exact;
        if (inside(v)) chosen.insert(v);
      }
      if (chosen.empty() && inside((pass + fail) / 2)) chosen.insert((pass + fail) / 2);
      for (const double v : chosen) {
        load(text(v));  // a real value the scenario rejects is an error
        out.push_back(v);
      }
      if (fail < pass) std::reverse(out.begin(), out.end());
      return out;
    }
    const long long lo = std::llround(std::min(pass, fail)), hi = std::llround(std::max(pass, fail));
    std::set<long long> chosen;
    for (int j = 1; j <= n; ++j) {
      const long long target = std::llround(pass + (fail - pass) * j / (n + 1));
      std::optional<long long> pick;
      for (long long d = 0; !pick && d <= hi - lo; ++d) {
        for (const long long c : {target - d, target + d}) {
          if (inside(static_cast<double>(c)) && !chosen.count(c) && valid(static_cast<double>(c))) {
            pick = c;
            break;
          }
        }
      }
      if (!pick) break;
      chosen.insert(*pick);
    }
    for (const long long c : chosen) out.push_back(static_cast<double>(c));
    if (fail < pass) std::reverse(out.begin(), out.end());
    return out;
  }

  const std::vector<Probe>& all() const { return all_; }

 private:
  void read_failure(Probe& p) const {
    const Json summary = read_json_file(fs::path(p.dir) / "summary.json");
    for (const Json& f : summary["failures"]) {
      ProbeFailure failure{f["kind"].get<std::string>(), f["time_s"].get<double>(), f["minute"].get<double>(),
                           f["cause"].get<std::string>(), f.value("cause_class", std::string())};
      if (!request_.kind.empty() && failure.kind != request_.kind) {
        p.ignored.push_back(failure.kind);
        continue;
      }
      if (!p.failure || failure.time_s < p.failure->time_s) p.failure = failure;
    }
  }

  const BreakpointRequest& request_;
  const Catalog& catalog_;
  std::vector<Override> base_;
  bool integer_ = false;
  double tolerance_ = 1;
  std::map<long long, bool> valid_;
  mutable std::set<std::string> warned_;  // warnings printed already
  std::vector<Probe> all_;
  int probes_run_ = 0;
};

// The failure kinds a run can report: the engine's, every objective's of `scenario`
// and the unstable queue.
std::vector<std::string> failure_kinds(const Scenario& scenario) {
  std::vector<std::string> kinds = {"memory", "context_limit", "fault", "unstable_queue"};
  for (const Objective& o : objectives_of(scenario)) kinds.push_back(o.failure_kind);
  return kinds;
}

// --kind as a failure kind: an objective's key (ttft_p99_s, ttft_s) names the kind of
// its failure points. Returns "" (with a message on stderr) when the scenario cannot
// report that kind.
std::string failure_kind(const std::string& kind, const Scenario& scenario) {
  const std::vector<Objective> objectives = objectives_of(scenario);
  for (const Objective& o : objectives) {
    if (kind == o.name) return o.failure_kind;
  }
  const std::vector<std::string> kinds = failure_kinds(scenario);
  if (std::find(kinds.begin(), kinds.end(), kind) != kinds.end()) return kind;
  std::string hint;
  if (const auto parsed = parse_percentile_key(kind.rfind("slo_", 0) == 0 ? kind.substr(4) + "_s" : kind)) {
    hint = fmt::format(" (a percentile objective must be in the scenario: add --set slo.{}=LIMIT)",
                       kind.rfind("slo_", 0) == 0 ? kind.substr(4) + "_s" : kind);
  } else if (const std::string suggestion = closest_match(kind, kinds); !suggestion.empty()) {
    hint = fmt::format(" (did you mean '{}'?)", suggestion);
  }
  std::cerr << fmt::format("breakpoint: --kind {}: this scenario reports no such failure{}; allowed: {}\n", kind, hint,
                           join(kinds));
  return "";
}

}  // namespace

int command_breakpoint(const BreakpointRequest& asked) {
  const Catalog catalog = open_catalog(default_catalog_dir());
  BreakpointRequest request = asked;
  if (!request.kind.empty()) {
    // The objectives are those of the scenario at --from (the varied key may be one).
    std::vector<Override> overrides = parse_overrides(request.sets);
    overrides.push_back(Override{request.key_path, fmt::format("{:.12g}", request.from)});
    request.kind = failure_kind(request.kind, load_scenario(request.scenario_path, overrides, catalog));
    if (request.kind.empty()) return kExitUsage;
  }
  Bisection search(request, catalog);
  if (!search.detect_numeric()) {
    std::cerr << fmt::format("breakpoint: --vary {} is not a numeric key (the scenario does not read a number "
                             "there); vary a numeric key such as conversation.sessions\n",
                             request.key_path);
    return kExitUsage;
  }
  search.set_integer(search.detect_integer());
  const std::string key = request.key_path;
  if (search.integer() && (request.from != std::floor(request.from) || request.to != std::floor(request.to))) {
    std::cerr << fmt::format("breakpoint: {} is an integer: --from and --to must be integers, got {:g} and {:g}\n",
                             key, request.from, request.to);
    return kExitUsage;
  }
  const Scenario scenario = search.load(search.text(request.from));  // errors in the scenario or in --from
  search.load(search.text(request.to));
  double tolerance = request.tolerance.value_or(std::fabs(request.to - request.from) / 1000);
  if (search.integer()) tolerance = std::max(1.0, std::floor(tolerance));
  search.set_tolerance(tolerance);
  const std::string dir = request.dir.empty()
                              ? (fs::path(default_output_dir(scenario)) / ("breakpoint-" + key)).string()
                              : request.dir;
  fs::create_directories(dir);
  const std::string what = request.kind.empty() ? "any failure" : "failure " + request.kind;
  std::cerr << fmt::format("breakpoint: {} from {} to {} ({}, {}, tolerance {:g})\n", key, search.text(request.from),
                           search.text(request.to), what, search.integer() ? "integer" : "real", tolerance);

  std::vector<double> ends = {request.from};
  if (request.to != request.from) ends.push_back(request.to);
  const std::vector<Probe> first = search.run(ends, dir);
  Probe pass = first.front(), fail = first.back();
  Json result = {{"scenario", scenario.name},
                 {"scenario_path", request.scenario_path},
                 {"sets", request.sets},
                 {"vary", key},
                 {"from", request.from},
                 {"to", request.to},
                 {"kind", request.kind},
                 {"integer", search.integer()},
                 {"tolerance", tolerance}};
  std::string report;
  if (pass.failure) {
    result["status"] = "fails_at_from";
    report = fmt::format("{} = {} (--from) already fails: {}\nnothing to bisect between {} and {}\n", key,
                         pass.text, describe(*pass.failure), search.text(request.from), search.text(request.to));
  } else if (!fail.failure) {
    result["status"] = "passes_at_to";
    report = fmt::format("{} = {} (--to) does not fail ({}): no breakpoint between {} and {}\n", key, fail.text,
                         what, search.text(request.from), search.text(request.to));
  } else {
    while (std::fabs(fail.value - pass.value) > tolerance) {
      const std::vector<double> values = search.interior(pass.value, fail.value);
      if (values.empty()) break;
      for (const Probe& p : search.run(values, dir)) {
        if (p.failure) {
          fail = p;
          break;
        }
        pass = p;
      }
    }
    result["status"] = "found";
    result["breakpoint"] = probe_json(fail);
    result["last_pass"] = probe_json(pass);
    report = fmt::format("{}: the first failure appears at {} (last passing value {}; {}, searched from {} to {})\n",
                         key, fail.text, pass.text, what, search.text(request.from), search.text(request.to));
    report += fmt::format("  at {}: {}\n", fail.text, describe(*fail.failure));
    if (!pass.ignored.empty()) report += fmt::format("  at {}: other failures: {}\n", pass.text, join(pass.ignored));
  }
  result["probes"] = Json::array();
  for (const Probe& p : search.all()) result["probes"].push_back(probe_json(p));
  write_file_atomically((fs::path(dir) / "breakpoint.json").string(), result.dump(2) + "\n");
  std::cout << report << fmt::format("{} probes; outputs in {}/\n", search.all().size(), dir);
  return 0;
}

}  // namespace convsim::cli
