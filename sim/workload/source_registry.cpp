#include "sim/workload/source_registry.hpp"

#include <cassert>

#include "sim/workload/conversation_source.hpp"
#include "sim/workload/request_stream_source.hpp"
#include "sim/workload/trace_source.hpp"
#include "sim/workload/transcript_source.hpp"

namespace convsim {

const std::vector<SourceEntry>& request_sources() {
  static const std::vector<SourceEntry> entries = {
      {"conversation", [](const Scenario& s) { return std::make_unique<ConversationSource>(s); }},
      {"requests", [](const Scenario& s) { return std::make_unique<RequestStreamSource>(s); }},
      {"requests.trace", [](const Scenario& s) { return std::make_unique<TraceSource>(s); }},
      {"conversation.transcript", [](const Scenario& s) { return std::make_unique<TranscriptSource>(s); }},
  };
  return entries;
}

std::string source_name(const Scenario& scenario) {
  if (scenario.conversation) return scenario.conversation->transcript ? "conversation.transcript" : "conversation";
  return scenario.requests->trace ? "requests.trace" : "requests";
}

std::unique_ptr<RequestSource> make_request_source(const Scenario& scenario) {
  const std::string name = source_name(scenario);
  for (const SourceEntry& entry : request_sources()) {
    if (entry.name == name) return entry.make(scenario);
  }
  assert(false && "the loader only accepts known request sources");
  return nullptr;
}

}  // namespace convsim
