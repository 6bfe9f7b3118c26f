#include "sim/engine/router.hpp"

#include <algorithm>
#include <limits>
#include <mutex>

namespace sg4 = simgrid::s4u;

namespace convsim {

Router::Router(ServingSpec::Routing policy, bool conversations, std::vector<RoutedReplica*> replicas,
               std::function<std::optional<Request>()> pull)
    : policy_(policy),
      conversations_(conversations),
      replicas_(std::move(replicas)),
      pull_(std::move(pull)),
      idle_(replicas_.size(), false) {
  if (pull_) next_arrival_ = pull_();
}

std::optional<Request> Router::take_due(double now_s) {
  const bool queued = !queue_.empty() && queue_.top().ready_s() <= now_s;
  const bool arrived = next_arrival_ && next_arrival_->ready_s() <= now_s;
  if (!queued && !arrived) return std::nullopt;
  if (arrived && (!queued || Later{}(queue_.top(), *next_arrival_))) {
    Request r = *next_arrival_;
    next_arrival_ = pull_();
    return r;
  }
  Request r = queue_.top();
  queue_.pop();
  return r;
}

int Router::choose(const Request& r) {
  const int n = static_cast<int>(replicas_.size());
  if (policy_ == ServingSpec::Routing::affinity) {
    return static_cast<int>((conversations_ ? r.session : r.id) % n);
  }
  // The policies below choose among the replicas up when the request is due; when
  // every replica is down, among all of them (the request waits for a repair).
  const double now_s = r.ready_s();
  if (policy_ == ServingSpec::Routing::prefix_affinity || policy_ == ServingSpec::Routing::least_loaded) {
    // prefix_affinity: the least work added (what it must prefill there, plus what is
    // queued there); least_loaded: the fewest requests queued or running.
    const auto cost = [&](int k) -> long {
      if (policy_ == ServingSpec::Routing::least_loaded) return replicas_[k]->load();
      return r.history_tokens + r.prompt_tokens - replicas_[k]->cached_prefix_tokens(r) + replicas_[k]->load_tokens();
    };
    int best = -1, fallback = -1;
    long best_cost = 0, fallback_cost = 0;
    for (int k = 0; k < n; ++k) {
      const long c = cost(k);
      if (fallback < 0 || c < fallback_cost) fallback = k, fallback_cost = c;
      if (!replicas_[k]->down_at(now_s) && (best < 0 || c < best_cost)) best = k, best_cost = c;
    }
    return best >= 0 ? best : fallback;
  }
  // round_robin: the next replica in turn that is up.
  for (int tried = 0; tried < n && replicas_[next_]->down_at(now_s); ++tried) next_ = (next_ + 1) % n;
  const int chosen = next_;
  next_ = (next_ + 1) % n;
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

double Router::next_event_s() const {
  double next_s = std::numeric_limits<double>::infinity();
  if (!queue_.empty()) next_s = queue_.top().ready_s();
  if (next_arrival_) next_s = std::min(next_s, next_arrival_->ready_s());
  return next_s;
}

void Router::operator()() {
  std::unique_lock<sg4::Mutex> lock(*mutex_);
  while (!finished_) {
    const double now = sg4::Engine::get_clock();
    while (const std::optional<Request> due = take_due(now)) {
      const Request& r = *due;
      const int replica = choose(r);
      if (conversations_) session_replica_[r.session] = replica;
      send(replica, r);
    }
    if (finished_) break;
    const double next_s = next_event_s();
    if (next_s == std::numeric_limits<double>::infinity()) {
      wake_->wait(lock);
    } else {
      alarm_.wait_until(lock, *wake_, next_s);
    }
  }
}

bool Router::idle(int replica) {
  if (!idle_[replica]) {
    idle_[replica] = true;
    ++idle_count_;
  }
  if (queue_.empty() && !next_arrival_ && idle_count_ == static_cast<int>(replicas_.size())) finish();
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
