#pragma once
// Names that become folder names: the scenario's name (out/<name>/, and
// "<scenario>/<variant>" for a compare variant) and compare variant names
// (DIR/<variant>/). They must stay inside the output folder.

#include <string>

namespace convsim {

// "" when `name` may name a folder under an output folder, else what is wrong: it
// must be relative, every '/'-separated part a plain name (not empty, not "." or
// ".."), with no backslash or control character; with `allow_subfolders` false, no
// '/' at all.
std::string folder_name_problem(const std::string& name, bool allow_subfolders);

}  // namespace convsim
