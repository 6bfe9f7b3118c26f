#pragma once
// Reads a conversation transcript (conversation.transcript) one turn at a time, as
// CSV or, for a file ending in .jsonl, JSON Lines.
// CSV, with the header `session,speaker,start_s,end_s,tokens,reply_tokens` (or
// `words` in place of `tokens`):
//   session       the conversation the turn belongs to (any name)
//   speaker       who speaks (any name)
//   start_s       when the person starts speaking, seconds from the transcript's start
//   end_s         when they stop: the turn reaches the model then
//   tokens        tokens of what they said (>= 1); or
//   words         words of what they said (> 0), tokens = words x tokens_per_word,
//                 rounded, at least 1
//   reply_tokens  tokens of the model's reply to it; 0: the model does not reply,
//                 and the words join the prompt of the session's next reply
// JSON Lines: one object a line with the same keys (`session` a string or an
// integer; exactly one of `tokens` and `words`), e.g.
//   {"session": "weekly-sync", "speaker": "ana", "start_s": 0, "end_s": 12.8, "words": 32, "reply_tokens": 0}
// Rows in order of end_s. A bad row is a ConfigError "FILE:LINE: column 'NAME': message"
// (CSV) or "FILE:LINE: key 'NAME': message" (JSON Lines).

#include <fstream>
#include <optional>
#include <string>

namespace convsim {

struct TranscriptRow {
  long line = 0;
  std::string session;
  std::string speaker;
  double start_s = 0;
  double end_s = 0;
  long tokens = 0;
  long reply_tokens = 0;
};

class TranscriptReader {
 public:
  // tokens_per_word converts a `words` count (conversation.tokens_per_word).
  explicit TranscriptReader(std::string path, double tokens_per_word = 1.33);

  // The next row in file order, or nothing at the end of the file.
  std::optional<TranscriptRow> next();

 private:
  // One row's cells, as text (CSV) or as JSON values turned to text, checked alike.
  struct Cells {
    std::string session, speaker, start_s, end_s, count, reply_tokens;
  };
  std::optional<Cells> next_csv();
  std::optional<Cells> next_json();
  TranscriptRow checked(const Cells& cells);
  [[noreturn]] void fail(const std::string& column, const std::string& message) const;

  std::string path_;
  double tokens_per_word_;
  bool json_ = false;
  bool words_ = false;  // CSV: a `words` column in place of `tokens`
  const char* field_ = "column";  // what a message calls a cell
  std::ifstream in_;
  long line_ = 0;
  double last_end_s_ = 0;
};

}  // namespace convsim
