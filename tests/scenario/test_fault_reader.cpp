// The faults: list names parts the run uses: a GPU of the replicas, a node that holds
// some of them. A fault on anything else would change nothing, and is refused at
// its key (line and column counted in the inline YAML below, 1-based).

#include <string>

#include <catch2/catch.hpp>

#include "tests/support/scenario_fixture.hpp"

using namespace convsim;

namespace {

// Two nodes of one GPU each; the run's single replica (TP1) uses node 0 only.
std::string with_fault(const std::string& fault) {
  return "name: f\n"
         "conversation: {duration_min: 5, speakers: [{name: a, turn_words: 20}]}\n"
         "model: {preset: llama-3.1-8b}\n"
         "cluster: {gpu: h100-sxm, nodes: 2, gpus_per_node: 1}\n"
         "faults: [" +
         fault + "]\n";
}

}  // namespace

TEST_CASE("a fault on a node or GPU the replicas do not use is refused at its key") {
  // Node 1 holds no GPU of the run: 1 GPU used, 1 per node, so nodes [0, 0].
  CHECK(test::load_error_of(with_fault("{kind: node_lost, at_min: 1, node: 1, repair_min: 2}")) ==
        "test.yaml:5:45: faults[0].node must be in [0, 0], got 1");
  CHECK(test::load_error_of(with_fault("{kind: gpu_lost, at_min: 1, gpu: 1, repair_min: 2}")) ==
        "test.yaml:5:43: faults[0].gpu must be in [0, 0], got 1");
  // Node 0 holds the replica's GPU: accepted.
  CHECK(test::load_error_of(with_fault("{kind: node_lost, at_min: 1, node: 0, repair_min: 2}")) == "no error");
}
