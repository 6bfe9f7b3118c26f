// Bad traces are reported as FILE:LINE: column 'NAME': message, before simulating.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/scenario/config_error.hpp"
#include "sim/scenario/trace_reader.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

std::string write_trace(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / fmt::format("convsim-{}-{}", ::getpid(), name);
  std::ofstream(path) << text;
  return path.string();
}

std::string load_error(const std::string& path, const std::string& format) {
  try {
    test::scenario_from(fmt::format(R"(
name: t
requests: {{trace: {}, format: {}}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
)",
                                    path, format));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

const char* kHeader = "TIMESTAMP,ContextTokens,GeneratedTokens\n";
const char* kGoodRow = "2023-11-16 18:15:46.6805900,374,44\n";

}  // namespace

TEST_CASE("malformed Azure rows are reported at their line, naming the column") {
  struct Case {
    std::string row;
    std::string message;
  };
  const Case cases[] = {
      {"2023-11-16 18:15:47.0,12\n", "3: expected 3 columns (TIMESTAMP,ContextTokens,GeneratedTokens), got 2"},
      {"2023-11-16 18:15:47.0,-5,10\n", "3: column 'ContextTokens': must be >= 1 tokens, got -5"},
      {"2023-11-16 18:15:47.0,5,ten\n", "3: column 'GeneratedTokens': expected an integer number of tokens, got 'ten'"},
      {"16/11/2023 18:15,5,10\n", "3: column 'TIMESTAMP': expected YYYY-MM-DD HH:MM:SS[.fffffff], got '16/11/2023 18:15'"},
      {"2023-11-16 18:15:40.0,5,10\n",
       "3: column 'TIMESTAMP': '2023-11-16 18:15:40.0' is earlier than the row before; rows must be in time order"},
  };
  for (const Case& c : cases) {
    const std::string path = write_trace("azure.csv", std::string(kHeader) + kGoodRow + c.row);
    CHECK(load_error(path, "azure") == path + ":" + c.message);
  }
  const std::string wrong_header = write_trace("header.csv", std::string("time,in,out\n") + kGoodRow);
  CHECK(load_error(wrong_header, "azure") ==
        wrong_header + ":1: expected the header TIMESTAMP,ContextTokens,GeneratedTokens, got 'time,in,out'");
}

TEST_CASE("malformed Mooncake rows are reported at their line, naming the key") {
  const std::string good = R"({"timestamp": 0, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]})";
  struct Case {
    std::string row;
    std::string message;
  };
  const Case cases[] = {
      {R"({"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [0, 1.5]})",
       "2: column 'hash_ids': hash_ids[1]: expected a non-negative integer, got 1.5"},
      {R"({"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [0, -1]})",
       "2: column 'hash_ids': hash_ids[1]: expected a non-negative integer, got -1"},
      {R"({"timestamp": 10, "input_length": -600, "output_length": 5, "hash_ids": [0]})",
       "2: column 'input_length': must be >= 1 tokens, got -600"},
      {R"({"timestamp": 10, "input_length": 600, "hash_ids": [0]})", "2: column 'output_length': missing"},
      {R"({"timestamp": 10, "input_length": 600, "output_length": 5, "hash_ids": [0, 1, 2]})",
       "2: column 'hash_ids': 3 blocks of 512 tokens for input_length 600 (at most 2)"},
      {R"({"timestamp": 10, "input_len": 600})",
       "2: column 'input_len': unknown key; allowed: timestamp, input_length, output_length, hash_ids"},
      {R"({"timestamp": 10, "input_length": 600)",
       "2: expected a JSON object {timestamp, input_length, output_length, hash_ids}"},
  };
  for (const Case& c : cases) {
    const std::string path = write_trace("mooncake.jsonl", good + "\n" + c.row + "\n");
    CHECK(load_error(path, "mooncake") == path + ":" + c.message);
  }
  const std::string late = write_trace("late.jsonl",
                                       R"({"timestamp": 50, "input_length": 600, "output_length": 5, "hash_ids": [0, 1]})"
                                       "\n" + good + "\n");
  CHECK(load_error(late, "mooncake") ==
        late + ":2: column 'timestamp': 0 is earlier than the row before; rows must be in time order");
}

TEST_CASE("a missing trace file and an unknown format are errors before simulating") {
  CHECK(load_error("/nonexistent/trace.csv", "azure") ==
        "/nonexistent/trace.csv: cannot open the trace file (no such regular file)");
  CHECK(load_error("/dev/zero", "mooncake") == "/dev/zero: cannot open the trace file (no such regular file)");
  const std::string path = write_trace("ok.csv", std::string(kHeader) + kGoodRow);
  CHECK_THAT(load_error(path, "splitwise"),
             Catch::Contains("requests.format: unknown value 'splitwise'") && Catch::Contains("azure, mooncake"));
}

TEST_CASE("a time_scale that stretches a trace's window past 100 days is refused at the key") {
  // Two rows 0.0 and 0.9 s apart (the second's clock minus the first's): at
  // time_scale 1e12 the last arrives at 0.9e12 s = 1.5e10 minutes, against 144,000.
  const std::string path =
      write_trace("stretched.csv", std::string(kHeader) + "2023-11-16 18:15:50.0000000,374,44\n" +
                                       "2023-11-16 18:15:50.9000000,396,109\n");
  std::string message = "no error";
  try {
    test::scenario_from(fmt::format("name: t\nrequests: {{trace: {}, format: azure, time_scale: 1e12}}\n"
                                    "model: {{preset: llama-3.1-8b}}\ncluster: {{gpu: h100-sxm}}\n",
                                    path));
  } catch (const ConfigError& e) {
    message = e.what();
  }
  INFO(message);
  CHECK_THAT(message, Catch::Contains("requests: the trace's last row in the window arrives at minute 1.5e+10") &&
                          Catch::Contains("at most 144000 minutes"));
  CHECK(message.rfind("test.yaml:2:", 0) == 0);
}

TEST_CASE("a trace is read row by row: the reader returns each row with its line") {
  const std::string path = write_trace("rows.csv", std::string(kHeader) + kGoodRow + "\n" +
                                                       "2023-11-16 18:15:50.9951690,396,109\n");
  TraceReader reader(path, TraceSpec::Format::azure);
  const auto first = reader.next();
  const auto second = reader.next();
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->line == 2);
  CHECK(second->line == 4);  // the blank line 3 is skipped
  CHECK(second->time_s == Approx(50.9951690 - 46.6805900).margin(1e-7));
  CHECK(second->input_tokens == 396);
  CHECK(!reader.next());
}
