#pragma once
// Text helpers of the loaders: did-you-mean suggestions and unknown-name messages,
// joining lists, splitting
// key paths, reading a file.

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace convsim {

// Numbers as YAML scalars: a leading '+' is allowed; ".inf", ".nan" and their
// spellings are not finite.
enum class NumberParse { ok, not_a_number, not_finite };
NumberParse parse_double(std::string_view text, double& out);
std::string_view without_plus(std::string_view s);

// The value of a finite number written as a YAML scalar ("5", "-0.5", "1e9"), or
// nullopt (words, ".inf", ".nan", "0x10").
std::optional<double> parse_number(std::string_view text);

// A number written without trailing zeros: 1 -> "1", 0.5 -> "0.5".
std::string format_number(double v);

// Levenshtein distance (insertions, deletions and substitutions cost one).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The closest candidate to a misspelled `word`, or "" when none is close: a
// candidate `word` is a prefix of, or one within edit distance 2 (and less than
// the length of `word`) of the candidate or of its part before the first '-'
// ("h100" for "h100-sxm"). Ties go to the earlier candidate.
std::string closest_match(std::string_view word, const std::vector<std::string>& candidates);

std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

// The names of a catalog folder's presets, in order.
template <typename Spec>
std::vector<std::string> names_of(const std::map<std::string, Spec>& presets) {
  std::vector<std::string> names;
  for (const auto& [name, spec] : presets) names.push_back(name);
  return names;
}

// "PATH: unknown WHAT 'NAME'; did you mean 'X'? available: A, B" (without the
// suggestion when none is close).
std::string unknown_name_message(const std::string& path, const std::string& what, const std::string& name,
                                 const std::vector<std::string>& known);

// "a.b.c" -> {"a", "b", "c"} (empty segments kept, for the caller to reject).
std::vector<std::string> split_key_path(std::string_view key_path);

// The fields of one line of a CSV file without quoted fields, split at every comma
// ("" gives one empty field).
std::vector<std::string> split_commas(const std::string& line);

// The fields of one line of a CSV file as RFC 4180 writes them (and convsim's own
// outputs do): a field in double quotes may hold commas, and "" inside it is one
// quote. Throws std::invalid_argument, saying what is wrong, for a quote that is not
// closed on the line or text after a closing quote (a field spanning lines is not
// read).
std::vector<std::string> split_csv_fields(const std::string& line);

// The whole file; fails with "FILE: cannot read file".
std::string read_text_file(const std::string& path);

}  // namespace convsim
