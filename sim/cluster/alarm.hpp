#pragma once
// Waiting for a simulated date without a model action.
//
// sg4::this_actor::sleep_for is an action of the host model. Under ptask_L07 (the
// model convsim runs, see platform.hpp) actions are updated in full: at every event
// of the simulation the solver revisits every running action, sleeps included, so N
// replicas waiting on their iterations make every event cost O(N) and a run
// O(N^2). An Alarm waits on a kernel timer instead (a heap of dates, O(log timers)
// per wait, nothing at other events); only real traffic goes through the solver.
//
// The date reached is the one asked for: a sleep's end goes through the solver's
// arithmetic (remaining duration decremented at every event), a timer's does not,
// so the two may differ in the last bits.
//
// Not for daemon actors: SimGrid kills the daemons when the last other actor ends,
// and a timer left behind would still move the clock on to its date.

#include <mutex>

#include <simgrid/kernel/Timer.hpp>
#include <simgrid/s4u.hpp>

namespace convsim {

class Alarm {
 public:
  Alarm();

  // Blocks the calling actor until simulated time `time_s`; returns at once when
  // `time_s` is not later than now. REQUIRES: called from an actor.
  void sleep_until(double time_s);
  void sleep_for(double duration_s) { sleep_until(simgrid::s4u::Engine::get_clock() + duration_s); }

  // Waits on `cv` (`lock` held) until it is notified or until `time_s`, whichever
  // comes first (infinity: notified only; not later than now: returns at once).
  void wait_until(std::unique_lock<simgrid::s4u::Mutex>& lock, simgrid::s4u::ConditionVariable& cv, double time_s);

 private:
  simgrid::s4u::SemaphorePtr ring_;
};

// Kernel timers at every power of two of simulated time (from 2^-30 s on), one
// pending at a time, while start()..stop().
//
// SimGrid moves its clock to a timer's date as now + (date - now), which rounds
// when now is below half the date: the date an Alarm reaches then depends on the
// event before it, that is on every other actor of the simulation. With a tick at
// every power of two between them, each step is between dates within a factor of
// two of each other, where the subtraction and the addition are exact (Sterbenz):
// the clock reaches every timer's date exactly, whoever else runs. A replica's
// records then do not depend on the other replicas simulated in the same process,
// which convsim run --shard needs (tested there).
class ClockTicks {
 public:
  // Arms the first tick. From the maestro before Engine::run(), or from an actor.
  void start();
  // Removes the pending tick (a tick left behind would move the clock on to its
  // date after the last actor ended). From an actor. Idempotent.
  void stop();

 private:
  void arm(double date_s);
  simgrid::kernel::timer::Timer* pending_ = nullptr;
  bool stopped_ = false;
};

}  // namespace convsim
