#pragma once
// A replica's clock: where it reads the date and how it waits.
//
// Through SimGrid (the default), now() is the engine's clock and a wait is an
// Alarm: the actor blocks while the rest of the run goes on.
//
// Running ahead (run_ahead()), the replica keeps a date of its own and a wait is
// an addition to it: no timer, no context switch, nothing for SimGrid to do per
// iteration. Only a replica that nothing else in the run can affect may run ahead:
// its collectives computed (IterationRunner::set_exclusive), no handoff (whose
// deliveries come from other actors at any time), and with a router only up to
// the router's next routing (set_horizon); simulation.cpp decides. Its dates are
// then the ones SimGrid would reach: an Alarm's date is exactly now + duration
// (ClockTicks), the same addition. Before it does what other actors see (a KV-cache
// transfer, a request for the router's queue, a wait for deliveries), it pauses:
// SimGrid's clock is brought to its date (pause()), and it goes on through SimGrid
// until that is over (resume()). It pauses too when it stops, so that the run ends
// when its last replica does.

#include <functional>
#include <limits>
#include <mutex>

#include <simgrid/s4u.hpp>

#include "sim/cluster/alarm.hpp"

namespace convsim {

class ReplicaClock {
 public:
  // From now on, dates are the replica's own whenever it is not paused. From the
  // maestro before the run, or from the replica's actor.
  void run_ahead() {
    may_run_ahead_ = true;
    resume();
  }
  // Back to the replica's own dates after a pause (SimGrid's clock is the date).
  void resume() {
    if (!may_run_ahead_ || ahead_) return;
    now_s_ = simgrid::s4u::Engine::get_clock();
    ahead_ = true;
  }
  // SimGrid's clock brought to the replica's date, and dates from SimGrid until
  // resume(): before the replica does what other actors see at SimGrid's date (a
  // KV-cache transfer, a request handed to the router's queue, a wait for
  // deliveries), so that it happens at the replica's date. From the replica's
  // actor.
  void pause() {
    if (!ahead_) return;
    alarm_.sleep_until(now_s_);
    ahead_ = false;
  }
  bool ahead() const { return ahead_; }
  bool may_run_ahead() const { return may_run_ahead_; }

  double now() const { return ahead_ ? now_s_ : simgrid::s4u::Engine::get_clock(); }

  // Running ahead, only waits that end before horizon() are the replica's own:
  // one that reaches it pauses first and is waited out through SimGrid, where
  // what happens at the horizon (a router's deliveries) happens in order. Without
  // a horizon, every wait is (nothing else in the run can reach the replica).
  void set_horizon(std::function<double()> horizon) { horizon_ = std::move(horizon); }
  double horizon() const { return horizon_ ? horizon_() : std::numeric_limits<double>::infinity(); }
  bool has_horizon() const { return static_cast<bool>(horizon_); }

  // Until `time_s` (at once when it is not later than now). From the replica's
  // actor.
  void wait_until(double time_s) {
    if (ahead_ && time_s < horizon()) {
      if (time_s > now_s_) now_s_ = time_s;
      return;
    }
    pause();
    alarm_.sleep_until(time_s);
  }
  void wait_for(double duration_s) { wait_until(now() + duration_s); }

  // Until notified on `cv` or `time_s` (Alarm::wait_until). REQUIRES: not running
  // ahead (a notification comes from another actor, at SimGrid's date).
  void wait_until(std::unique_lock<simgrid::s4u::Mutex>& lock, simgrid::s4u::ConditionVariable& cv, double time_s) {
    alarm_.wait_until(lock, cv, time_s);
  }

 private:
  Alarm alarm_;
  std::function<double()> horizon_;
  bool may_run_ahead_ = false;
  bool ahead_ = false;
  double now_s_ = 0;
};

}  // namespace convsim
