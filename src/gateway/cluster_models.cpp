#include "gateway/cluster_models.h"

#include "base/log.h"
#include "gateway/remote_models.h"

namespace parley {

Result<std::unique_ptr<ClusterModels>> ClusterModels::create(ClusterOptions options) {
  RETURN_IF_ERROR(make_route_policy(options.router.policy).status());
  std::unique_ptr<ClusterModels> c(new ClusterModels(std::move(options)));
  ASSIGN_OR_RETURN(c->registry_,
                   WorkerRegistry::create(registry_options(c->options_.router, c->options_.cluster_token)));
  return c;
}

std::vector<std::unique_ptr<ServedModel>> ClusterModels::take_new_models() {
  std::vector<std::unique_ptr<ServedModel>> out;
  for (const ClusterModel& m : registry_->models()) {
    if (m.ready_workers == 0) continue;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (routers_.count(m.id) != 0) continue;
    }
    const WorkerEndpoint from{m.source_url, options_.cluster_token};
    Result<std::shared_ptr<const GgufFile>> vocab = fetch_worker_vocab(from, m.id);
    if (!vocab.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      if (failed_.insert(m.id).second) log_warn("model '{}': {} (will retry)", m.id, vocab.status().to_string());
      continue;
    }
    // The vocabulary size bounds the token ids the workers may send back.
    if (Result<const GgufArray*> tokens = (*vocab)->get_array("tokenizer.ggml.tokens"); tokens.ok()) {
      registry_->set_model_vocab(m.id, static_cast<std::int32_t>((*tokens)->count));
    }
    RoutePolicyOptions po;
    po.load_bound_eps = options_.router.load_bound_eps;
    po.index_blocks_per_worker = static_cast<std::size_t>(options_.router.index_blocks_per_worker);
    auto policy = make_route_policy(options_.router.policy, po);
    if (!policy.ok()) continue;  // checked in create()
    auto router = std::make_shared<Router>(registry_, std::shared_ptr<RoutePolicy>(std::move(*policy)),
                                           RouterOptions{.model = m.id, .max_tries = options_.router.max_tries});
    ServedModelFront front;
    front.id = m.id;
    front.n_ctx = m.n_ctx;
    front.created = m.created;
    front.demo = m.demo;
    front.special_tokens_in_content = options_.special_tokens_in_content;
    front.source =
        fmt::format("{} routing over the cluster's workers (vocabulary from {})", options_.router.policy, m.source_url);
    Result<std::unique_ptr<ServedModel>> served = ServedModel::with_engine(front, *vocab, router);
    if (!served.ok()) {
      log_warn("model '{}': {}", m.id, served.status().to_string());
      continue;
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (metrics_) router->set_metrics(metrics_);
    routers_.emplace(m.id, router);
    out.push_back(std::move(*served));
  }
  return out;
}

std::vector<std::string> ClusterModels::add_new_models(ModelCatalog& catalog) {
  std::vector<std::string> added;
  for (std::unique_ptr<ServedModel>& m : take_new_models()) {
    const std::string id = m->id();
    if (Status st = catalog.add(std::shared_ptr<ServedModel>(std::move(m))); !st.ok()) {
      log_warn("model '{}': {}", id, st.message());
      continue;
    }
    log_info("model '{}' is served from now on (it appeared on a worker after this gateway started)", id);
    added.push_back(id);
  }
  return added;
}

bool ClusterModels::ready() const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const ClusterModel& m : registry_->models()) {
    if (m.ready_workers > 0 && routers_.count(m.id) != 0) return true;
  }
  return false;
}

void ClusterModels::attach_metrics(MetricsRegistry& registry) {
  std::lock_guard<std::mutex> lock(mu_);
  if (metrics_) return;
  metrics_ = std::make_shared<RouterMetrics>(registry, registry_);
  for (auto& [id, weak] : routers_) {
    if (std::shared_ptr<Router> r = weak.lock()) r->set_metrics(metrics_);
  }
}

}  // namespace parley
