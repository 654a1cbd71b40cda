// WorkerRegistry's sources and poller: the dns: specs, the health and load probes.
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <set>
#include <thread>

#include "base/log.h"
#include "net/http_client.h"
#include "router/worker_registry.h"
#include "router/worker_state.h"

namespace parley {

namespace {

struct DnsSpec {
  std::string name;
  int port = 0;
};

Result<DnsSpec> parse_dns_spec(std::string_view spec) {
  constexpr std::string_view kPrefix = "dns:";
  if (!spec.starts_with(kPrefix)) return invalid_argument_error("'{}' is not dns:NAME:PORT", spec);
  const std::string_view rest = spec.substr(kPrefix.size());
  const std::size_t colon = rest.rfind(':');
  DnsSpec d;
  if (colon == std::string_view::npos || colon == 0) return invalid_argument_error("'{}' is not dns:NAME:PORT", spec);
  d.name = std::string(rest.substr(0, colon));
  const std::string_view port = rest.substr(colon + 1);
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), d.port);
  if (ec != std::errc() || end != port.data() + port.size() || d.port < 1 || d.port > 65535) {
    return invalid_argument_error("'{}': the port must be 1-65535", spec);
  }
  return d;
}

std::string trim_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

}  // namespace

Result<std::vector<std::string>> resolve_all(const std::string& name) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = getaddrinfo(name.c_str(), nullptr, &hints, &res);
  if (rc != 0) return unavailable_error("cannot resolve '{}': {}", name, gai_strerror(rc));
  std::set<std::string> seen;
  std::vector<std::string> out;
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    char host[NI_MAXHOST];
    if (getnameinfo(a->ai_addr, a->ai_addrlen, host, sizeof host, nullptr, 0, NI_NUMERICHOST) != 0) continue;
    if (seen.insert(host).second) out.emplace_back(host);
  }
  freeaddrinfo(res);
  return out;
}

Result<std::shared_ptr<WorkerRegistry>> WorkerRegistry::create(WorkerRegistryOptions options) {
  for (std::string& url : options.urls) {
    url = trim_slash(url);
    if (!url.starts_with("http://") || url.size() <= 7) {
      return invalid_argument_error("worker URL '{}' must be http://host:port", url);
    }
  }
  for (const std::string& spec : options.dns) RETURN_IF_ERROR(parse_dns_spec(spec).status());
  if (options.urls.empty() && options.dns.empty())
    return invalid_argument_error("no worker: give a URL or dns:NAME:PORT");
  std::shared_ptr<WorkerRegistry> r(new WorkerRegistry(std::move(options)));
  {
    std::lock_guard<std::mutex> lock(r->mu_);
    std::set<std::string> seen;
    for (const std::string& url : r->options_.urls) {
      if (seen.insert(url).second) r->add_worker(url, "");
    }
  }
  if (r->options_.health_interval.count() > 0) r->poller_ = std::thread([p = r.get()] { p->run(); });
  return r;
}

void WorkerRegistry::run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    poll_once();
    lock.lock();
    cv_.wait_for(lock, options_.health_interval, [this] { return stopping_; });
  }
}

void WorkerRegistry::resolve_now() {
  for (const std::string& spec : options_.dns) {
    const DnsSpec d = *parse_dns_spec(spec);
    Result<std::vector<std::string>> addrs = options_.resolver(d.name);
    if (!addrs.ok()) {
      // Keep the workers known: a resolver hiccup must not empty the cluster.
      log_warn("router: {}: {}", spec, addrs.status().message());
      continue;
    }
    std::vector<std::string> urls;
    for (const std::string& a : *addrs) {
      const bool v6 = a.find(':') != std::string::npos;
      urls.push_back(fmt::format("http://{}{}{}:{}", v6 ? "[" : "", a, v6 ? "]" : "", d.port));
    }
    apply_dns(spec, urls);
  }
}

void WorkerRegistry::apply_dns(const std::string& spec, const std::vector<std::string>& urls) {
  std::vector<WorkerId> gone;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<std::string> want(urls.begin(), urls.end());
    for (const auto& [id, w] : workers_) {
      if (w->source != spec) continue;
      if (want.erase(w->url) == 0) gone.push_back(id);
    }
    for (const std::string& url : want) {
      const bool known =
          std::any_of(workers_.begin(), workers_.end(), [&](const auto& e) { return e.second->url == url; });
      if (!known) add_worker(url, spec);
    }
  }
  if (!gone.empty()) remove_workers(gone);
}

struct WorkerRegistry::Probe {
  bool reached = false;
  bool ready = false;
  std::optional<std::vector<WorkerModelInfo>> models;
  std::optional<WorkerStats> stats;
};

void WorkerRegistry::poll_once() {
  const auto t = now();
  bool resolve = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!options_.dns.empty() && (!dns_done_ || t >= next_dns_)) {
      resolve = true;
      dns_done_ = true;
      next_dns_ = t + options_.dns_interval;
    }
  }
  if (resolve) resolve_now();
  struct Due {
    WorkerId id;
    std::string url;
    bool fetch_models;
    std::optional<std::uint64_t> blocks_since;  // when some policy wants the workers' placements
  };
  std::vector<Due> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const bool blocks = !block_watchers_.empty();
    for (auto& [id, w] : workers_) {
      if (w->circuit == Worker::Circuit::kOpen && t < w->open_until) continue;  // backing off
      // The model list is fetched when unknown, and again every 30 polls (a worker restarted with
      // other models keeps its address).
      due.push_back({id, w->url, !w->models_known || ++w->polls_since_models >= 30,
                     blocks ? std::optional<std::uint64_t>(w->blocks_seq) : std::nullopt});
    }
  }
  // In parallel on the probe pool (a worker that does not answer holds one of its threads for
  // probe_timeout, not the others); applied in the workers' order, so that the first vocabulary
  // digest seen for a model does not depend on which answered first.
  std::vector<Probe> results(due.size());
  std::vector<std::function<void()>> jobs;
  jobs.reserve(due.size());
  for (std::size_t i = 0; i < due.size(); ++i) {
    jobs.emplace_back([this, &d = due[i], &out = results[i]] { out = probe(d.url, d.fetch_models, d.blocks_since); });
  }
  probes_->run_all(std::move(jobs));
  for (std::size_t i = 0; i < due.size(); ++i) {
    std::optional<PlacementLog::Since> blocks;
    if (results[i].stats) blocks = results[i].stats->prefix_blocks;
    apply_probe(due[i].id, std::move(results[i]));
    if (blocks) hand_blocks(due[i].id, *blocks);
  }
}

WorkerRegistry::ProbePool::~ProbePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

std::size_t WorkerRegistry::ProbePool::threads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return threads_.size();
}

void WorkerRegistry::ProbePool::run_all(std::vector<std::function<void()>> jobs) {
  if (jobs.empty()) return;
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::size_t left = jobs.size();
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& job : jobs) {
      queue_.push_back([&done_mu, &done_cv, &left, job = std::move(job)] {
        job();
        // Notified under the lock: run_all() cannot return (and take these locals) before it is released.
        std::lock_guard<std::mutex> done(done_mu);
        if (--left == 0) done_cv.notify_all();
      });
    }
    while (threads_.size() < std::min(max_, jobs.size())) threads_.emplace_back([this] { loop(); });
  }
  cv_.notify_all();
  std::unique_lock<std::mutex> done(done_mu);
  done_cv.wait(done, [&left] { return left == 0; });
}

void WorkerRegistry::ProbePool::loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, nothing left
    std::function<void()> job = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    job();
    lock.lock();
  }
}

WorkerRegistry::Probe WorkerRegistry::probe(const std::string& url, bool fetch_models,
                                            std::optional<std::uint64_t> blocks_since) const {
  HttpClient http;
  HttpClientRequest req;
  req.timeout = options_.probe_timeout;
  req.max_body_bytes = 4 << 20;
  if (!options_.cluster_token.empty()) req.headers.emplace_back("Authorization", "Bearer " + options_.cluster_token);
  Probe p;
  req.url = url + "/ready";
  Result<HttpResponse> ready = http.request(req);
  p.reached = ready.ok();
  p.ready = ready.ok() && ready->status == 200;
  if (p.ready && fetch_models) {
    req.url = url + std::string(kInternalApiPrefix) + "/models";
    Result<HttpResponse> r = http.request(req);
    if (r.ok() && r->status == 200) {
      Result<std::vector<WorkerModelInfo>> m = parse_models(r->body, options_.engine.limits);
      if (m.ok()) p.models = std::move(*m);
      if (!m.ok()) log_warn("router: worker {}: bad model list: {}", url, m.status().message());
    }
  }
  if (p.reached) {
    req.url = url + std::string(kInternalApiPrefix) + "/stats";
    if (blocks_since) req.url += fmt::format("?blocks_since={}", *blocks_since);
    Result<HttpResponse> r = http.request(req);
    if (r.ok() && r->status == 200) {
      Result<WorkerStats> s = parse_worker_stats(r->body, options_.engine.limits);
      if (s.ok()) p.stats = std::move(*s);
    }
  }
  return p;
}

void WorkerRegistry::apply_probe(WorkerId id, Probe p) {
  std::lock_guard<std::mutex> lock(mu_);
  Worker* w = find(id);
  if (w == nullptr) return;
  if (!p.reached) {
    if (w->ready) log_warn("router: worker {} does not answer its health check", w->url);
    w->ready = false;
    fail(*w);
    return;
  }
  if (w->circuit != Worker::Circuit::kClosed) {
    log_info("router: worker {} answers its health check again", w->url);
    // Reachable again: in service, but the backoff is reset only by a request that succeeds (a
    // worker that answers its probes and fails its requests is ejected for longer each time).
    w->circuit = Worker::Circuit::kClosed;
    w->failures = 0;
    w->trial_in_flight = false;
  }
  if (p.ready != w->ready) log_info("router: worker {} is {}", w->url, p.ready ? "ready" : "not ready");
  w->ready = p.ready;
  if (p.models) update_models(*w, *p.models);
  if (p.stats) {
    w->draining = p.stats->draining;
    if (p.stats->prefix_blocks) w->blocks_seq = p.stats->prefix_blocks->seq;
    for (auto& [mid, st] : p.stats->models) {
      const auto m = w->models.find(mid);
      if (m == w->models.end()) continue;
      m->second.stats = st;
      if (m->second.client) m->second.client->set_stats(st);
    }
  }
}

}  // namespace parley
