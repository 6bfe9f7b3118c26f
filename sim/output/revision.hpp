#pragma once
// The source revision convsim was built from: `git rev-parse --short=12 HEAD` at the
// last build (cmake/git_revision.cmake), "unknown" outside a git checkout. Recorded
// in summary.json, shard manifests and `convsim --version`.

namespace convsim {

const char* git_revision();

}  // namespace convsim
