#include "sim/engine/router.hpp"

#include <limits>
#include <mutex>

namespace sg4 = simgrid::s4u;

namespace convsim {

Router::Router(ServingSpec::Routing policy, bool conversations, std::vector<RoutedReplica*> replicas)
    : policy_(policy), conversations_(conversations), replicas_(std::move(replicas)), idle_(replicas_.size(), false) {}

int Router::choose(const Request& r) {
  if (policy_ == ServingSpec::Routing::least_loaded) {
    int best = 0;
    for (int k = 1; k < static_cast<int>(replicas_.size()); ++k) {
      if (replicas_[k]->load() < replicas_[best]->load()) best = k;
    }
    return best;
  }
  (void)r;
  const int chosen = next_;
  next_ = (next_ + 1) % static_cast<int>(replicas_.size());
  return chosen;
}

void Router::send(int replica, const Request& r) {
  if (idle_[replica]) {  // counted busy at once, so the run cannot end before it wakes
    idle_[replica] = false;
    --idle_count_;
  }
  replicas_[replica]->deliver(r);
}

void Router::push(const Request& r) {
  if (conversations_) {
    auto it = session_replica_.find(r.session);
    if (it != session_replica_.end()) {
      send(it->second, r);  // the session stays where its cache is
      return;
    }
  }
  queue_.push(r);
  wake_->notify_all();
}

void Router::operator()() {
  std::unique_lock<sg4::Mutex> lock(*mutex_);
  while (!finished_) {
    const double now = sg4::Engine::get_clock();
    while (!queue_.empty() && queue_.top().ready_s() <= now) {
      const Request r = queue_.top();
      queue_.pop();
      const int replica = choose(r);
      if (conversations_) session_replica_[r.session] = replica;
      send(replica, r);
    }
    if (finished_) break;
    if (queue_.empty()) {
      wake_->wait(lock);
    } else {
      wake_->wait_until(lock, queue_.top().ready_s());
    }
  }
}

bool Router::idle(int replica) {
  if (!idle_[replica]) {
    idle_[replica] = true;
    ++idle_count_;
  }
  if (queue_.empty() && idle_count_ == static_cast<int>(replicas_.size())) finish();
  return finished_;
}

void Router::busy(int replica) {
  if (idle_[replica]) {
    idle_[replica] = false;
    --idle_count_;
  }
}

void Router::finish() {
  finished_ = true;
  wake_->notify_all();
  for (RoutedReplica* r : replicas_) r->wake();
}

}  // namespace convsim
