#pragma once
// Reads a conversation transcript (conversation.transcript) one turn at a time.
// CSV with the header `session,speaker,start_s,end_s,tokens,reply_tokens`:
//   session       the conversation the turn belongs to (any name)
//   speaker       who speaks (any name)
//   start_s       when the person starts speaking, seconds from the transcript's start
//   end_s         when they stop: the turn reaches the model then
//   tokens        tokens of what they said (>= 1)
//   reply_tokens  tokens of the model's reply to it; 0: the model does not reply,
//                 and the words join the prompt of the session's next reply
// Rows in order of end_s. A bad row is a ConfigError "FILE:LINE: column 'NAME': message".

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
  explicit TranscriptReader(std::string path);

  // The next row in file order, or nothing at the end of the file.
  std::optional<TranscriptRow> next();

 private:
  [[noreturn]] void fail(const std::string& column, const std::string& message) const;

  std::string path_;
  std::ifstream in_;
  long line_ = 0;
  double last_end_s_ = 0;
};

}  // namespace convsim
