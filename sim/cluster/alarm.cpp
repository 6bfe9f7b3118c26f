#include "sim/cluster/alarm.hpp"

#include <cmath>
#include <limits>

#include <simgrid/kernel/Timer.hpp>
#include <simgrid/simix.hpp>

namespace sg4 = simgrid::s4u;
using simgrid::kernel::actor::simcall_answered;
using simgrid::kernel::timer::Timer;

namespace convsim {

Alarm::Alarm() : ring_(sg4::Semaphore::create(0)) {}

void Alarm::sleep_until(double time_s) {
  if (!(time_s > sg4::Engine::get_clock())) return;
  sg4::Semaphore* ring = ring_.get();
  // The timer's callback runs in the kernel, where the release takes effect at once.
  simcall_answered([time_s, ring] { Timer::set(time_s, [ring] { ring->release(); }); });
  ring_->acquire();
}

void Alarm::wait_until(std::unique_lock<sg4::Mutex>& lock, sg4::ConditionVariable& cv, double time_s) {
  if (time_s == std::numeric_limits<double>::infinity()) {
    cv.wait(lock);
    return;
  }
  if (!(time_s > sg4::Engine::get_clock())) return;
  // Notified first: the timer is cancelled, so it never wakes a later wait.
  bool rang = false;
  Timer* timer = simcall_answered([time_s, &cv, &rang] {
    return Timer::set(time_s, [&cv, &rang] {
      rang = true;
      cv.notify_all();
    });
  });
  cv.wait(lock);
  if (!rang) simcall_answered([timer] { timer->remove(); });
}

void ClockTicks::start() {
  stopped_ = false;
  arm(std::ldexp(1.0, -30));
}

void ClockTicks::arm(double date_s) {
  pending_ = Timer::set(date_s, [this, date_s] {
    pending_ = nullptr;
    if (!stopped_) arm(date_s * 2);
  });
}

void ClockTicks::stop() {
  simcall_answered([this] {
    stopped_ = true;
    if (pending_ != nullptr) pending_->remove();
    pending_ = nullptr;
  });
}

}  // namespace convsim
