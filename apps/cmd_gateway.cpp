// `parley gateway`: the user-facing server (API, accounts, conversations, web UI) whose models run
// on a cluster of `parley worker`s, routed by a policy (docs/scaling.md). No weights here.
//
// It starts even when no worker is up yet (Kubernetes starts pods in any order): /health answers
// at once, /ready is 503 until some worker serves a model, and every other request is 503 with
// Retry-After until then. The models are those of the first ready workers, and every model that
// a worker starts serving later (checked every second).
#include <fmt/format.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <ctime>
#include <set>

#include "apps/cli.h"
#include "apps/serve_common.h"
#include "base/log.h"
#include "gateway/cluster_models.h"
#include "gateway/gateway.h"
#include "net/http_server.h"

namespace parley::cli {
namespace {

// The Gateway once there is one; what to answer before.
class GatewaySlot {
 public:
  explicit GatewaySlot(ClusterModels* cluster) : cluster_(cluster) {}
  std::shared_ptr<Gateway> get() const {
    std::lock_guard<std::mutex> lock(mu_);
    return gateway_;
  }
  void set(std::shared_ptr<Gateway> g) {
    std::lock_guard<std::mutex> lock(mu_);
    gateway_ = std::move(g);
  }

  void admit(const HttpRequest& head, const std::shared_ptr<HeadDecision>& d) const {
    const HttpHeaders json{{"Content-Type", "application/json"}};
    std::shared_ptr<Gateway> g = get();
    if (head.path == "/ready" && (!g || !cluster_->ready())) {
      d->refuse(503, {{"Content-Type", "application/json"}, {"Retry-After", "5"}},
                R"({"status":"no inference worker is ready"})");
    } else if (g) {
      g->admit(head, d);
    } else if (head.path == "/health") {
      d->refuse(200, json, R"({"status":"ok"})");
    } else {
      d->refuse(503, {{"Content-Type", "application/json"}, {"Retry-After", "5"}},
                R"({"error":{"message":"No inference worker is ready yet; retry later.","type":"server_error",)"
                R"("param":null,"code":"service_unavailable"}})");
    }
  }
  void handle(HttpRequest req, const std::shared_ptr<HttpResponder>& r) const {
    if (std::shared_ptr<Gateway> g = get()) {
      g->handle(std::move(req), r);
      return;
    }
    r->respond(503, {{"Content-Type", "application/json"}, {"Retry-After", "5"}},
               R"({"error":{"message":"No inference worker is ready yet; retry later.","type":"server_error"}})");
  }

 private:
  ClusterModels* cluster_;
  mutable std::mutex mu_;
  std::shared_ptr<Gateway> gateway_;
};

Result<std::unique_ptr<ClusterModels>> open_cluster(const ServeArgs& args, const ServeConfig& c) {
  ClusterOptions o;
  o.router = c.router;
  if (!args.workers.empty() || !args.workers_dns.empty()) {
    o.router.workers = args.workers;
    if (!args.workers_dns.empty()) o.router.workers.push_back(args.workers_dns);
  }
  if (!args.route_policy.empty()) o.router.policy = args.route_policy;
  if (o.router.workers.empty()) {
    return invalid_argument_error("no worker: give --worker URL, --workers dns:NAME:PORT or [router] workers");
  }
  o.special_tokens_in_content = c.model_defaults.special_tokens_in_content;
  ASSIGN_OR_RETURN(o.cluster_token, cluster_token(args.token_file, c.cluster));
  return ClusterModels::create(std::move(o));
}

int run_gateway(const ServeArgs& args, const CLI::App& cmd) {
  Result<ServeConfig> config = build_config(args, cmd);
  if (!config.ok()) return fail("gateway", config.status());
  ServeConfig& a = *config;
  Result<std::shared_ptr<const StaticSite>> site = open_web_ui(a);
  if (!site.ok()) return fail("gateway", site.status());
  a.gateway.site = std::move(*site);
  Result<std::shared_ptr<Tracer>> tracer = make_tracer(a.tracing, "gateway");
  if (!tracer.ok()) return fail("gateway", tracer.status());
  a.gateway.tracer = *tracer;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Result<std::unique_ptr<Accounts>> accounts = open_accounts(a);
  if (!accounts.ok()) return fail("gateway", accounts.status());
  Result<std::unique_ptr<ClusterModels>> cluster = open_cluster(args, a);
  if (!cluster.ok()) return fail("gateway", cluster.status());
  log_info("routing with the {} policy over {}", (*cluster)->config().policy,
           fmt::join((*cluster)->config().workers, ", "));
  const AuthMode mode = (*accounts)->mode();
  announce_auth(a, mode, **accounts);

  auto slot = std::make_shared<GatewaySlot>(cluster->get());
  Result<std::unique_ptr<HttpServer>> server = HttpServer::start(
      a.server, [slot](HttpRequest req, std::shared_ptr<HttpResponder> r) { slot->handle(std::move(req), r); },
      [slot](const HttpRequest& head, std::shared_ptr<HeadDecision> d) { slot->admit(head, d); });
  if (!server.ok()) return fail("gateway", server.status());
  const std::uint16_t port = (*server)->port();
  log_event(LogLevel::kInfo, fmt::format("waiting for a ready worker on port {} (/ready is 503 until then)", port),
            {{"port", static_cast<std::int64_t>(port)}});

  int sig = 0;
  for (;;) {
    std::shared_ptr<Gateway> g = slot->get();
    const timespec wait{g ? 1 : 0, g ? 0 : 200'000'000};
    sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGINT || sig == SIGTERM) break;
    if (g) {
      (*cluster)->add_new_models(g->catalog());  // models that appear on workers later are served too
      continue;
    }
    std::vector<std::unique_ptr<ServedModel>> models = (*cluster)->take_new_models();
    if (models.empty()) continue;
    std::string ids;
    for (const auto& m : models) ids += (ids.empty() ? "" : ", ") + m->id();
    auto gateway = std::make_shared<Gateway>(std::move(models), a.gateway, std::move(*accounts));
    (*cluster)->attach_metrics(gateway->metrics_registry());
    slot->set(gateway);
    announce_listening(a, port, ids);
  }
  graceful_stop(**server, slot->get().get(), signals, sig, args.shutdown_grace_s);
  server->reset();
  slot->set(nullptr);
  log_info("stopped");
  return kExitOk;
}

}  // namespace

void add_gateway_command(CLI::App& app, int* exit_code) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "gateway",
      "Serve the OpenAI-compatible API, accounts, conversations and the web UI for models that run on `parley "
      "worker`s, routing each request to a worker (docs/scaling.md). Holds no weights; starts before any worker.");
  add_front_flags(cmd, a.get());
  cmd->add_option("--worker", a->workers, "A worker's URL (http://host:port); repeat for several");
  cmd->add_option("--workers", a->workers_dns,
                  "dns:NAME:PORT: every A/AAAA record of NAME is a worker, re-resolved periodically (a Kubernetes "
                  "headless service)");
  cmd->add_option("--route-policy", a->route_policy,
                  "affinity (default: where the prompt's prefix is cached, bounded by load), least_loaded (power of "
                  "two choices) or round_robin")
      ->check(CLI::IsMember({"affinity", "least_loaded", "round_robin"}));
  cmd->callback([a, cmd, exit_code] { *exit_code = run_gateway(*a, *cmd); });
}

}  // namespace parley::cli
