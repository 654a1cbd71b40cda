#include "apps/engine_flags.h"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>

#include "gateway/on_demand_config.h"

namespace parley::cli {

void add_model_flags(CLI::App* cmd, ModelFlags* f) {
  ServedModelOptions& e = f->engine;
  e.kv_cache_bytes >>= 20;  // the flag is in MiB
  cmd->add_option("--model", f->models, "GGUF model file to serve (repeatable; replaces the config's [[models]])");
  cmd->add_option("--model-id", f->ids,
                  "Id of the model at the same position (default: the file name without extension)");
  cmd->add_option("-t,--threads", e.threads, "CPU threads per model (0: all cores)")->capture_default_str();
  cmd->add_option("--ctx", e.n_ctx, "Context length per request, prompt and completion (0: the model's)")
      ->capture_default_str();
  cmd->add_option("--max-batch-tokens", e.max_batch_tokens, "Token budget of one engine step")->capture_default_str();
  cmd->add_option("--max-running", e.max_running, "Requests computed at once per model")->capture_default_str();
  cmd->add_option("--max-waiting", e.max_waiting, "Queued requests per model before 429")->capture_default_str();
  cmd->add_option("--target-itl-ms", e.target_itl_ms,
                  "Latency target of an engine step, ms: prompts are read in chunks small enough that running streams "
                  "get a token at least this often (negative: the backend's default, 250 on a CPU; 0: none)")
      ->check(CLI::Range(-1.0, 1e6));
  cmd->add_option("--max-prefill-per-tenant", e.max_prefill_per_tenant,
                  "Prompts one user may have in prefill at once (0: no bound)")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  cmd->add_option("--kv-cache-mib", e.kv_cache_bytes, "KV cache size per model, MiB")
      ->capture_default_str()
      ->check(CLI::Range(std::int64_t{1}, std::int64_t{1} << 24));
  add_kv_disk_flags(cmd, f);
  cmd->add_option("--kv-type", f->kv_type,
                  "KV cache element type per model: f16, or q8_0 (8-bit blocks: about half the memory per token)")
      ->check(CLI::IsMember({"f16", "q8_0"}, CLI::ignore_case));
  cmd->add_option("--models-dir", f->models_dir,
                  "Serve every GGUF file under this directory, each loaded on its first request (listed in "
                  "/v1/models with its size and whether it is loaded; new files appear without a restart)");
  cmd->add_option("--model-idle-unload", f->idle_unload,
                  "Unload a model loaded on demand once idle this long (90s, 15m, 2h; 0: never)");
  cmd->add_option("--models-memory-gib", f->memory_gib,
                  "Bound on the loaded models' weights plus KV caches, GiB: loading another unloads the least "
                  "recently used idle models first (0: none)")
      ->check(CLI::Range(0.0, 1e6));
}

Status apply_model_flags(const CLI::App& cmd, const ModelFlags& f, ServeConfig* c) {
  const auto given = [&cmd](const char* flag) { return cmd.count(flag) > 0; };
  if (!f.ids.empty() && f.ids.size() != f.models.size()) {
    return invalid_argument_error("give one --model-id per --model ({} ids for {} models)", f.ids.size(),
                                  f.models.size());
  }
  if (!f.models.empty()) {  // --model replaces the file's [[models]]
    c->models.clear();
    for (std::size_t i = 0; i < f.models.size(); ++i) {
      ServedModelOptions m = c->model_defaults;
      m.path = f.models[i];
      m.id = i < f.ids.size() ? f.ids[i] : "";
      c->models.push_back(std::move(m));
    }
  }
  if (given("--models-dir")) c->on_demand.dir = f.models_dir;
  if (given("--model-idle-unload")) {
    Result<std::chrono::milliseconds> d = parse_duration(f.idle_unload);
    if (!d.ok()) return d.status().with_context("--model-idle-unload");
    c->on_demand.idle_unload = *d;
  }
  if (given("--models-memory-gib")) c->on_demand.memory_gib = f.memory_gib;
  std::vector<ServedModelOptions*> all{&c->model_defaults};
  for (ServedModelOptions& m : c->models) all.push_back(&m);
  const ServedModelOptions& e = f.engine;
  for (ServedModelOptions* m : all) {
    if (given("--threads")) m->threads = e.threads;
    if (given("--ctx")) m->n_ctx = e.n_ctx;
    if (given("--max-batch-tokens")) m->max_batch_tokens = e.max_batch_tokens;
    if (given("--max-running")) m->max_running = e.max_running;
    if (given("--max-waiting")) m->max_waiting = e.max_waiting;
    if (given("--target-itl-ms")) m->target_itl_ms = e.target_itl_ms;
    if (given("--max-prefill-per-tenant")) m->max_prefill_per_tenant = e.max_prefill_per_tenant;
    if (given("--kv-cache-mib")) m->kv_cache_bytes = e.kv_cache_bytes << 20;
    apply_kv_disk_flags(cmd, f, c->data_dir, m);
    if (given("--kv-type")) {
      ASSIGN_OR_RETURN(m->kv_type, parse_kv_type(f.kv_type));
    }
    RETURN_IF_ERROR(validate_model_options(*m));
  }
  return {};
}

void add_kv_disk_flags(CLI::App* cmd, ModelFlags* f) {
  cmd->add_option("--kv-disk-gib", f->kv_disk_gib,
                  "KV disk tier per model, GiB: evicted prefix blocks are kept on disk and read back instead of "
                  "recomputed (0: off)")
      ->check(CLI::Range(0.0, 1e6));
  cmd->add_option("--kv-disk-dir", f->kv_disk_dir, "Directory of the KV disk tier (default: DATA/kv-tier)");
}

void apply_kv_disk_flags(const CLI::App& cmd, const ModelFlags& f, const std::string& data_dir,
                         ServedModelOptions* m) {
  if (cmd.count("--kv-disk-gib") > 0) m->kv_disk_bytes = static_cast<std::int64_t>(f.kv_disk_gib * double(1 << 30));
  if (cmd.count("--kv-disk-dir") > 0) m->kv_disk_dir = f.kv_disk_dir;
  if (m->kv_disk_bytes > 0 && m->kv_disk_dir.empty()) m->kv_disk_dir = data_dir + "/kv-tier";
}

namespace {

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return invalid_argument_error("cannot read the cluster token file {}", path);
  std::string token;
  std::getline(in, token);
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ' || token.back() == '\t')) token.pop_back();
  return token;
}

}  // namespace

Result<std::string> cluster_token(const std::string& token_file_flag, const ClusterConfig& config) {
  std::string token;
  std::string source;
  if (!token_file_flag.empty()) {
    ASSIGN_OR_RETURN(token, read_token_file(token_file_flag));
    source = token_file_flag;
  } else if (const char* env = std::getenv("PARLEY_CLUSTER_TOKEN"); env != nullptr && *env != '\0') {
    token = env;
    source = "PARLEY_CLUSTER_TOKEN";
  } else if (!config.token_file.empty()) {
    ASSIGN_OR_RETURN(token, read_token_file(config.token_file));
    source = config.token_file;
  } else {
    return std::string();
  }
  if (token.size() < 16 || token.find_first_of(" \t\r\n") != std::string::npos) {
    return invalid_argument_error("the cluster token from {} must be at least 16 characters with no spaces", source);
  }
  return token;
}

}  // namespace parley::cli
