#pragma once
// Routes requests to replicas when they are due (serving.routing round_robin,
// least_loaded or prefix_affinity; affinity, the default, places each session on
// replica session mod dp up front and needs no router, unless the requests arrive
// from a source pulled as the run goes, such as a trace, when the router applies
// it). A conversation's first request is routed, and the session then stays on
// that replica (its KV cache is there); every request of a plain stream is routed.
//
// A source's arrivals are pulled one at a time: the router holds the next one
// only, so a trace is read as the run reaches it.
//
// Replicas wait for work on a condition variable; the run ends when every replica
// is idle and nothing is queued.

#include <functional>
#include <map>
#include <optional>
#include <queue>
#include <vector>

#include <simgrid/s4u.hpp>

#include "sim/cluster/alarm.hpp"
#include "sim/scenario/scenario.hpp"
#include "sim/workload/workload.hpp"

namespace convsim {

class RoutedReplica {
 public:
  virtual ~RoutedReplica() = default;
  // Requests queued or running: what least_loaded compares.
  virtual int load() const = 0;
  // Tokens queued, being prefilled and still to decode: prefix_affinity's load.
  virtual long load_tokens() const = 0;
  // Tokens of the request's context the replica would not prefill now: held by its
  // prefix cache in HBM, or waiting in its host memory or NVMe to be read back.
  virtual long cached_prefix_tokens(const Request& request) const = 0;
  // Whether a lost GPU or node holds the replica down at `now_s` (until repaired):
  // the router's health check, as a load balancer's, sends nothing there then.
  virtual bool down_at(double now_s) const = 0;
  // Hands a due request to the replica and wakes it.
  virtual void deliver(const Request& request) = 0;
  // Wakes the replica (the run is over).
  virtual void wake() = 0;
};

class Router {
 public:
  // `pull` hands out the source's arrivals in order (nothing once exhausted); empty
  // when every request is pushed.
  Router(ServingSpec::Routing policy, bool conversations, std::vector<RoutedReplica*> replicas,
         std::function<std::optional<Request>()> pull = {});

  // Queues a request until it is due, or sends it straight to its session's replica.
  void push(const Request& request);
  // Whether push(request) queues it (and wakes the router, which then routes what
  // is due at SimGrid's date): it is not of a session already placed.
  bool queues(const Request& request) const {
    return !conversations_ || session_replica_.count(request.session) == 0;
  }

  // The router actor's body.
  void operator()();

  // Replica idle protocol: a replica with nothing to do calls idle(); it returns
  // true when the run is over (every replica idle, nothing queued).
  bool idle(int replica);
  void busy(int replica);
  bool finished() const { return finished_; }

  // The date of the router's next routing (the earliest queued or arriving
  // request; infinity when none): no replica gets a delivery from it before then,
  // unless a replica's push queues an earlier one.
  double next_event_s() const;

 private:
  struct Later {
    bool operator()(const Request& a, const Request& b) const {
      return a.ready_s() != b.ready_s() ? a.ready_s() > b.ready_s() : a.id > b.id;
    }
  };
  int choose(const Request& request);
  // The next request due by `now_s`, from the queue or the source, earliest first.
  std::optional<Request> take_due(double now_s);
  void send(int replica, const Request& request);
  void finish();

  ServingSpec::Routing policy_;
  bool conversations_;
  std::vector<RoutedReplica*> replicas_;
  std::priority_queue<Request, std::vector<Request>, Later> queue_;
  std::function<std::optional<Request>()> pull_;
  std::optional<Request> next_arrival_;  // the source's next, not yet due
  std::map<int, int> session_replica_;
  std::vector<bool> idle_;
  int idle_count_ = 0;
  int next_ = 0;  // round robin
  bool finished_ = false;
  simgrid::s4u::MutexPtr mutex_ = simgrid::s4u::Mutex::create();
  simgrid::s4u::ConditionVariablePtr wake_ = simgrid::s4u::ConditionVariable::create();
  // Its timed waits: a kernel timer reaches the date asked for exactly, whatever
  // other events came before (alarm.hpp), so routings fall on the requests' dates.
  Alarm alarm_;
};

}  // namespace convsim
