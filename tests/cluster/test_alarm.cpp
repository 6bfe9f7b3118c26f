// Alarms: timed waits on kernel timers. Each TEST_CASE runs one simulation in its
// own process; values are collected inside the actors and checked after run().

#include <functional>
#include <limits>
#include <mutex>
#include <vector>

#include <catch2/catch.hpp>
#include <simgrid/s4u.hpp>

#include "sim/cluster/alarm.hpp"

namespace sg4 = simgrid::s4u;
using namespace convsim;

namespace {

// An engine with one host; `actors` run on it.
void run_actors(const std::vector<std::function<void()>>& actors) {
  int argc = 2;
  char arg0[] = "test";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  sg4::Engine engine(&argc, argv);
  engine.set_config("host/model:ptask_L07");
  sg4::NetZone* zone = sg4::create_full_zone("zone");
  sg4::Host* host = zone->create_host("host", 1e9);
  zone->seal();
  for (const auto& body : actors) sg4::Actor::create("actor", host, body);
  engine.run();
}

}  // namespace

TEST_CASE("an alarm wakes its actor at the date asked, and a date not later than now does not block") {
  const double first_s = 1.5, step_s = 0.25, past_s = 1.0;
  std::vector<double> woke_s;
  run_actors({[&] {
    Alarm alarm;
    alarm.sleep_until(first_s);
    woke_s.push_back(sg4::Engine::get_clock());
    alarm.sleep_for(step_s);
    woke_s.push_back(sg4::Engine::get_clock());
    alarm.sleep_until(past_s);
    woke_s.push_back(sg4::Engine::get_clock());
  }});
  REQUIRE(woke_s.size() == 3);
  CHECK(woke_s[0] == first_s);
  CHECK(woke_s[1] == first_s + step_s);
  CHECK(woke_s[2] == first_s + step_s);  // past: no wait
}

TEST_CASE("a timed wait on a condition variable ends at its notification or its date, whichever is first") {
  // The waiter waits until 2.0 but is notified at 1.0; then waits with no date
  // and is notified at 3.0 (the cancelled 2.0 must not wake it); then waits until
  // 4.0 with nobody notifying.
  const double notify1_s = 1.0, date1_s = 2.0, notify2_s = 3.0, date3_s = 4.0;
  std::vector<double> woke_s;
  sg4::MutexPtr mutex;
  sg4::ConditionVariablePtr cv;
  run_actors({[&] {
                mutex = sg4::Mutex::create();
                cv = sg4::ConditionVariable::create();
                Alarm alarm;
                std::unique_lock<sg4::Mutex> lock(*mutex);
                alarm.wait_until(lock, *cv, date1_s);
                woke_s.push_back(sg4::Engine::get_clock());
                alarm.wait_until(lock, *cv, std::numeric_limits<double>::infinity());
                woke_s.push_back(sg4::Engine::get_clock());
                alarm.wait_until(lock, *cv, date3_s);
                woke_s.push_back(sg4::Engine::get_clock());
              },
              [&] {
                Alarm alarm;
                alarm.sleep_until(notify1_s);
                cv->notify_all();
                alarm.sleep_until(notify2_s);
                cv->notify_all();
              }});
  REQUIRE(woke_s.size() == 3);
  CHECK(woke_s[0] == notify1_s);
  CHECK(woke_s[1] == notify2_s);
  CHECK(woke_s[2] == date3_s);
}

TEST_CASE("with clock ticks, an alarm reaches its date exactly even where SimGrid's now + (date - now) rounds") {
  // From now = 4.954350870919409, now + (61.46437453521167 - now) rounds to
  // 61.464374535211675 (worked out in double precision): the date an alarm reaches
  // without ticks depends on the event before it. Ticks at every power of two make
  // each step of the clock exact.
  const double now_s = 4.954350870919409, date_s = 61.46437453521167;
  REQUIRE(now_s + (date_s - now_s) != date_s);  // the rounding the ticks avoid
  std::vector<double> woke_s;
  ClockTicks ticks;
  run_actors({[&] {
    ticks.start();
    Alarm alarm;
    alarm.sleep_until(now_s);
    alarm.sleep_until(date_s);
    woke_s.push_back(sg4::Engine::get_clock());
    ticks.stop();
  }});
  REQUIRE(woke_s.size() == 1);
  CHECK(woke_s[0] == date_s);
}

TEST_CASE("stopped clock ticks leave no timer behind: the run ends at its last actor's date") {
  const double last_s = 3.0;
  double end_s = -1;
  ClockTicks ticks;
  int argc = 2;
  char arg0[] = "test";
  char arg1[] = "--log=root.thres:critical";
  char* argv[] = {arg0, arg1, nullptr};
  sg4::Engine engine(&argc, argv);
  sg4::NetZone* zone = sg4::create_full_zone("zone");
  sg4::Host* host = zone->create_host("host", 1e9);
  zone->seal();
  sg4::Actor::create("actor", host, [&] {
    Alarm alarm;
    alarm.sleep_until(last_s);
    ticks.stop();
  });
  ticks.start();
  engine.run();
  end_s = sg4::Engine::get_clock();
  CHECK(end_s == last_s);  // not the next tick, 4.0
}
