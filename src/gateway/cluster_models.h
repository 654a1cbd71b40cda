// ClusterModels: the models of a cluster of `parley worker`s as ServedModels whose engine is a
// Router (router/router.h) over a WorkerRegistry, for `parley gateway` and `serve --worker`.
// A model is served once some ready worker lists it: its vocabulary (tokenizer, chat template)
// comes from that worker (gateway/remote_models.h), so the gateway holds no weights.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "gateway/model_catalog.h"
#include "gateway/router_config.h"
#include "gateway/served_model.h"
#include "obs/metrics.h"
#include "router/router.h"

namespace parley {

struct ClusterOptions {
  RouterConfig router;
  std::string cluster_token;
  bool special_tokens_in_content = false;
};

class ClusterModels {
 public:
  // Checks the worker sources and the policy; starts the registry's poller (unless
  // health_interval_ms is 0: then poll() by hand).
  static Result<std::unique_ptr<ClusterModels>> create(ClusterOptions options);

  // Probes every worker now (the poller does it every health_interval_ms).
  void poll() { registry_->poll_once(); }
  // ServedModels for the models some ready worker serves that were not taken yet. A model whose
  // vocabulary cannot be fetched now is tried again at the next call.
  std::vector<std::unique_ptr<ServedModel>> take_new_models();
  // take_new_models() into `catalog` (a serving Gateway's): a model that first appears on a worker
  // after the gateway started is served from then on. Returns the ids added.
  std::vector<std::string> add_new_models(ModelCatalog& catalog);
  // Whether some ready worker serves one of the models taken (the gateway's /ready).
  bool ready() const;
  // Router metrics in `registry` (the gateway's) from now on; once.
  void attach_metrics(MetricsRegistry& registry);
  WorkerRegistry& registry() { return *registry_; }
  const RouterConfig& config() const { return options_.router; }

 private:
  explicit ClusterModels(ClusterOptions options) : options_(std::move(options)) {}

  ClusterOptions options_;
  std::shared_ptr<WorkerRegistry> registry_;
  mutable std::mutex mu_;
  // By model id. Not owned: the ServedModel (in the gateway's catalog) owns its router, so that
  // the gateway going ends the requests in flight (~Router waits for them) while the metrics and
  // accounts they record into still exist. ClusterModels may outlive the gateway.
  std::map<std::string, std::weak_ptr<Router>> routers_;
  std::set<std::string> failed_;  // vocabulary fetches that failed (logged once)
  std::shared_ptr<RouterMetrics> metrics_;
};

}  // namespace parley
