// Transcript replay: the requests a transcript makes, worked out by hand from its rows.

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <fmt/format.h>

#include "sim/scenario/config_error.hpp"
#include "sim/workload/workload.hpp"
#include "tests/support/scenario_fixture.hpp"

using namespace convsim;
namespace fs = std::filesystem;

namespace {

std::string write_transcript(const std::string& name, const std::string& rows) {
  const fs::path path = fs::temp_directory_path() / fmt::format("convsim-{}-{}", ::getpid(), name);
  std::ofstream(path) << "session,speaker,start_s,end_s,tokens,reply_tokens\n" << rows;
  return path.string();
}

std::string transcript_scenario(const std::string& path, double time_scale) {
  return fmt::format(R"(
name: transcript
conversation: {{transcript: {}, time_scale: {}, system_prompt_tokens: 100}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
)",
                     path, time_scale);
}

}  // namespace

TEST_CASE("a transcript's turns become requests at their end times, with the session's history and unanswered words") {
  const std::string path = write_transcript("meeting.csv",
                                            "m1,ana,0,10,40,0\n"     // no reply: joins the next prompt
                                            "m1,ben,11,20,30,50\n"   // reply 0 of m1
                                            "m2,cara,12,21,25,60\n"  // reply 0 of m2
                                            "m1,ana,80,90,20,70\n");  // reply 1 of m1
  const double scale = 2;
  const Scenario s = test::scenario_from(transcript_scenario(path, scale));
  REQUIRE(s.conversation->sessions == 2);
  CHECK(s.conversation->duration_min == Approx(90 * scale / 60));
  Workload w(s);
  std::vector<Request> got;
  while (std::optional<Request> r = w.next_arrival()) got.push_back(*r);
  REQUIRE(got.size() == 3);
  // m1's first reply: the system prompt, ana's 40 and ben's 30 tokens.
  CHECK(got[0].session == 0);
  CHECK(got[0].turn == 0);
  CHECK(got[0].arrival_s == Approx(20 * scale));
  CHECK(got[0].human_speech_s == Approx(9 * scale));
  CHECK(got[0].history_tokens == 0);
  CHECK(got[0].prompt_tokens == 100 + 40 + 30);
  CHECK(got[0].output_tokens == 50);
  CHECK(s.conversation->speakers[static_cast<std::size_t>(got[0].speaker)].name == "ben");
  CHECK(got[1].session == 1);
  CHECK(got[1].prompt_tokens == 100 + 25);
  // m1's second reply: everything said and replied before it is history.
  CHECK(got[2].session == 0);
  CHECK(got[2].turn == 1);
  CHECK(got[2].arrival_s == Approx(90 * scale));
  CHECK(got[2].history_tokens == 170 + 50);
  CHECK(got[2].prompt_tokens == 20);
}

TEST_CASE("a transcript replays under every context policy, each reply's history as the policy shapes it") {
  // The rows above (system prompt 100): m1's first reply has 170 prompt tokens and
  // a 50-token reply, m2's 125 and 60, m1's second 20 and 70. Worked by hand:
  // - window 200: m1's second turn sees 220 + 20 > 200 tokens: its 20 and the last
  //   180 of the history, prefilled again (the cache cannot be reused);
  // - summary every 200 (64-token summary, 32-token instruction): before m1's second
  //   reply the model summarises its 220 tokens, and the reply sees the summary;
  // - retrieval of 4 chunks of 100 plus a 150-token window, after 0.2 s: the first
  //   reply sees 400 + 0, the second 400 + min(220, 150).
  const std::string path = write_transcript("policies.csv",
                                            "m1,ana,0,10,40,0\n"
                                            "m1,ben,11,20,30,50\n"
                                            "m2,cara,12,21,25,60\n"
                                            "m1,ana,80,90,20,70\n");
  auto requests = [&](const std::string& context) {
    const Scenario s = test::scenario_from(transcript_scenario(path, 1) + "context: " + context + "\n");
    Workload w(s);
    std::vector<Request> got;
    while (std::optional<Request> r = w.next_arrival()) got.push_back(*r);
    return got;
  };
  const auto window = requests("{policy: window, window_tokens: 200}");
  REQUIRE(window.size() == 3);
  CHECK(window[0].history_tokens == 0);
  CHECK(window[0].prompt_tokens == 170);
  CHECK(window[2].history_tokens == 200 - 20);
  CHECK(window[2].prompt_tokens == 20);
  CHECK_FALSE(window[2].cache_reusable);

  const auto summary =
      requests("{policy: summary, summary_every_tokens: 200, summary_tokens: 64, summary_instruction_tokens: 32}");
  REQUIRE(summary.size() == 4);
  CHECK(summary[2].kind == RequestKind::summary);
  CHECK(summary[2].session == 0);
  CHECK(summary[2].arrival_s == Approx(90));
  CHECK(summary[2].history_tokens == 170 + 50);
  CHECK(summary[2].prompt_tokens == 32);
  CHECK(summary[2].output_tokens == 64);
  CHECK(summary[3].kind == RequestKind::reply);
  CHECK(summary[3].arrival_s == Approx(90));
  CHECK(summary[3].id > summary[2].id);  // due together: the summary is served first
  CHECK(summary[3].history_tokens == 64);
  CHECK(summary[3].prompt_tokens == 20);
  CHECK(summary[3].output_tokens == 70);

  const auto retrieval = requests(
      "{policy: retrieval, retrieval_chunks: 4, retrieval_chunk_tokens: 100, window_tokens: 150, "
      "retrieval_latency_s: 0.2}");
  REQUIRE(retrieval.size() == 3);
  CHECK(retrieval[0].history_tokens == 400);
  CHECK(retrieval[0].host_delay_s == Approx(0.2));
  CHECK(retrieval[2].history_tokens == 400 + 150);
  CHECK(retrieval[2].prompt_tokens == 20);
}

TEST_CASE("bad transcript rows are reported at their line, naming the column") {
  struct Case {
    std::string row;
    std::string message;
  };
  const Case cases[] = {
      {"m1,ana,5,4,10,10\n", "3: column 'end_s': 4 is before start_s 5"},
      {"m1,ana,1,2,10,10\n", "3: column 'end_s': 2 is earlier than the row before; rows must be in order of end_s"},
      {"m1,ana,9,10,-3,10\n", "3: column 'tokens': must be >= 1 tokens, got -3"},
      {"m1,ana,9,10,3,1.5\n", "3: column 'reply_tokens': expected an integer number of tokens, got '1.5'"},
      {"m1,,9,10,3,1\n", "3: column 'speaker': empty; name who speaks"},
      {"m1,ana,9,10,3\n", "3: expected 6 columns (session,speaker,start_s,end_s,tokens,reply_tokens), got 5"},
      {"\"m1,ana,9,10,3,1\n", "3: the quote opened at column 1 is not closed on this line"},
      {"\"m1\"x,ana,9,10,3,1\n", "3: text after the closing quote at column 4; a field with quotes must be quoted whole"},
      {"m\"1,ana,9,10,3,1\n", "3: a quote inside an unquoted field at column 2; quote the whole field and double the "
                              "quote (\"\")"},
  };
  for (const Case& c : cases) {
    const std::string path = write_transcript("bad.csv", "m1,ben,0,5,10,10\n" + c.row);
    std::string error = "no error";
    try {
      test::scenario_from(transcript_scenario(path, 1));
    } catch (const ConfigError& e) {
      error = e.what();
    }
    CHECK(error == path + ":" + c.message);
  }
}

TEST_CASE("transcript names quoted as RFC 4180 writes them keep their commas and quotes") {
  // A session named `sync, weekly` and a speaker named `Ana "A." Lee`, as Python's
  // csv module (and convsim's own turns.csv) quote them.
  const std::string path = write_transcript("quoted.csv", "\"sync, weekly\",\"Ana \"\"A.\"\" Lee\",0,5,10,20\n"
                                                          "\"sync, weekly\",ben,6,9,12,30\n");
  const Scenario s = test::scenario_from(transcript_scenario(path, 1));
  REQUIRE(s.conversation->sessions == 1);
  REQUIRE(s.conversation->speakers.size() == 2);
  CHECK(s.conversation->speakers[0].name == "Ana \"A.\" Lee");
  Workload w(s);
  std::vector<Request> got;
  while (std::optional<Request> r = w.next_arrival()) got.push_back(*r);
  REQUIRE(got.size() == 2);
  CHECK(got[0].prompt_tokens == 100 + 10);  // the system prompt and Ana's turn
  CHECK(got[1].prompt_tokens == 12);
}

namespace {

std::string write_file(const std::string& name, const std::string& text) {
  const fs::path path = fs::temp_directory_path() / fmt::format("convsim-{}-{}", ::getpid(), name);
  std::ofstream(path) << text;
  return path.string();
}

std::vector<Request> requests_of(const std::string& scenario) {
  const Scenario s = test::scenario_from(scenario);  // the workload's sources refer to it
  Workload w(s);
  std::vector<Request> got;
  while (std::optional<Request> r = w.next_arrival()) got.push_back(*r);
  return got;
}

std::string load_error(const std::string& scenario) {
  try {
    test::scenario_from(scenario);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("a JSON Lines transcript, and words in place of tokens, make the requests the CSV makes") {
  // The four rows of the first test case; ben's 30 tokens given as 20 words at 1.5 tokens a word.
  const std::string csv = write_transcript("same.csv",
                                           "m1,ana,0,10,40,0\n"
                                           "m1,ben,11,20,30,50\n"
                                           "m2,cara,12,21,25,60\n"
                                           "m1,ana,80,90,20,70\n");
  const std::string jsonl = write_file("same.jsonl",
                                       R"({"session": "m1", "speaker": "ana", "start_s": 0, "end_s": 10, "tokens": 40, "reply_tokens": 0}
{"session": "m1", "speaker": "ben", "start_s": 11, "end_s": 20, "words": 20, "reply_tokens": 50}

{"session": "m2", "speaker": "cara", "start_s": 12, "end_s": 21, "tokens": 25, "reply_tokens": 60}
{"session": "m1", "speaker": "ana", "start_s": 80, "end_s": 90, "tokens": 20, "reply_tokens": 70}
)");
  const std::string words = write_file("words.csv",
                                       "session,speaker,start_s,end_s,words,reply_tokens\n"
                                       "m1,ana,0,10,26.7,0\n"  // 26.7 x 1.5 = 40.05: 40 tokens
                                       "m1,ben,11,20,20,50\n"
                                       "m2,cara,12,21,16.6,60\n"  // 24.9: 25
                                       "m1,ana,80,90,13.4,70\n");  // 20.1: 20
  const auto with_words = [](const std::string& path) {
    return fmt::format(R"(
name: transcript
conversation: {{transcript: {}, tokens_per_word: 1.5, system_prompt_tokens: 100}}
model: {{preset: llama-3.1-8b}}
cluster: {{gpu: h100-sxm, nodes: 1, gpus_per_node: 1}}
)",
                       path);
  };
  const std::vector<Request> expected = requests_of(transcript_scenario(csv, 1));
  REQUIRE(expected.size() == 3);
  for (const std::string& path : {jsonl, words}) {
    INFO(path);
    const std::vector<Request> got = requests_of(with_words(path));
    REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
      CHECK(got[i].session == expected[i].session);
      CHECK(got[i].arrival_s == expected[i].arrival_s);
      CHECK(got[i].history_tokens == expected[i].history_tokens);
      CHECK(got[i].prompt_tokens == expected[i].prompt_tokens);
      CHECK(got[i].output_tokens == expected[i].output_tokens);
    }
  }
}

TEST_CASE("bad JSON Lines transcript rows are reported at their line, naming the key") {
  struct Case {
    std::string row;
    std::string message;
  };
  const Case cases[] = {
      {"[1, 2]", "2: expected a JSON object {session, speaker, start_s, end_s, tokens or words, reply_tokens}"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "end_s": 10, "reply_tokens": 1})",
       "2: key 'tokens': give exactly one of tokens and words"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "end_s": 10, "tokens": 3, "words": 2, "reply_tokens": 1})",
       "2: key 'tokens': give exactly one of tokens and words"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "tokens": 3, "reply_tokens": 1})", "2: key 'end_s': missing"},
      {R"({"session": "m1", "speaker": "ana", "start_s": "9", "end_s": 10, "tokens": 3, "reply_tokens": 1})",
       "2: key 'start_s': expected a number, got the string \"9\""},
      {R"({"session": "m1", "speaker": 4, "start_s": 9, "end_s": 10, "tokens": 3, "reply_tokens": 1})",
       "2: key 'speaker': expected a string"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "end_s": 10, "words": -2, "reply_tokens": 1})",
       "2: key 'words': expected a number of words > 0 (at most 1e9 tokens), got '-2'"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "end_s": 10, "tokens": 3, "reply": 1})",
       "2: key 'reply': unknown key; allowed: session, speaker, start_s, end_s, tokens, words, reply_tokens"},
      {R"({"session": "m1", "speaker": "ana", "start_s": 9, "end_s": 10, "tokens": 1e300, "reply_tokens": 1})",
       "2: key 'tokens': must be <= 1e9 tokens, got 1e+300"},
  };
  for (const Case& c : cases) {
    const std::string path = write_file(
        "bad.jsonl",
        R"({"session": 1, "speaker": "ben", "start_s": 0, "end_s": 5, "tokens": 10, "reply_tokens": 10})" "\n" +
            c.row + "\n");
    CHECK(load_error(transcript_scenario(path, 1)) == path + ":" + c.message);
  }
  const std::string words = write_file("bad-words.csv", "session,speaker,start_s,end_s,words,reply_tokens\nm1,ana,0,1,0,5\n");
  CHECK(load_error(transcript_scenario(words, 1)) ==
        words + ":2: column 'words': expected a number of words > 0 (at most 1e9 tokens), got '0'");
}

TEST_CASE("the example meeting transcript in scenarios/ loads") {
  const Scenario s = test::scenario_from(test::read_file(test::source_path("scenarios/meeting-transcript.yaml")),
                                         {{"conversation.transcript", test::source_path("scenarios/meeting-transcript.csv")}});
  CHECK(s.conversation->sessions == 1);
  CHECK(s.conversation->speakers.size() == 4);
}
