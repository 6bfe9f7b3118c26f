#pragma once
// How convsim stops on SIGINT and SIGTERM: promptly, with exit code 128 + the signal
// (130, 143), leaving no partial file under a final name and no child running.
//
// Both signals are blocked in every thread and taken by one thread waiting for
// them (sigwait), so no library's handler (SimGrid installs its own for SIGINT) can
// intercept them. That thread sends the signal on to the children of compare and
// breakpoint (all in one process group), waits for them, removes the temporary
// files of unfinished outputs (remove_unfinished_files) and ends the process.

#include <sys/types.h>

namespace convsim::cli {

// Call once at the start of main(), before any other thread exists.
void stop_on_signals();

// Whether a stop signal has been taken: the signal thread is ending the process
// (its children killed first). A thread that notices must not end the process with
// another exit code: wait_for_stop() parks it until the signal thread ends it.
bool stopping();
[[noreturn]] void wait_for_stop();

// The process group of the running children (0: none). run_in_children keeps it.
void set_children_group(pid_t group);

// In a child just forked by run_in_children: joins process group `group` (0: starts
// its own), asks for SIGTERM when the parent dies (a killed parent's children end
// too), and starts its own signal thread. Ends the child at once when the parent is
// already gone.
void prepare_child(pid_t group, pid_t parent);

}  // namespace convsim::cli
