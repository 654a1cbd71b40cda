#include "gateway/serve_config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace parley {
namespace {

Result<ServeConfig> parse(std::string_view text) {
  return parse_serve_config(text, "/etc/parley", "parley.toml");
}

std::string error_of(std::string_view text) {
  Result<ServeConfig> c = parse(text);
  EXPECT_FALSE(c.ok()) << text;
  return c.ok() ? std::string() : c.status().to_string();
}

TEST(ServeConfig, EmptyFileGivesTheDefaults) {
  Result<ServeConfig> c = parse("");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const ServeConfig defaults;
  EXPECT_EQ(c->server.host, defaults.server.host);
  EXPECT_EQ(c->server.port, defaults.server.port);
  EXPECT_EQ(c->data_dir, "data");
  EXPECT_TRUE(c->models.empty());
  EXPECT_EQ(c->model_defaults.max_running, ServedModelOptions{}.max_running);
}

TEST(ServeConfig, EverySectionAndPerModelOverrides) {
  Result<ServeConfig> c = parse(R"(
[server]
host = "0.0.0.0"
port = 9000
io_threads = 4
max_body_mib = 2
max_connections = 100
data = "state"
tls_cert = "/certs/cert.pem"
tls_key = "key.pem"
web_dir = "web/dist"

[engine]
threads = 2
ctx = 4096
max_batch_tokens = 256
max_running = 8
max_waiting = 32
kv_cache_mib = 512

[limits]
max_messages = 100
max_stop = 2
max_n = 4

[[models]]
path = "models/a.gguf"
id = "alpha"

[[models]]
path = "/srv/b.gguf"
max_running = 2
kv_cache_mib = 64
special_tokens_in_content = true
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->server.host, "0.0.0.0");
  EXPECT_EQ(c->server.port, 9000);
  EXPECT_EQ(c->server.io_threads, 4);
  EXPECT_EQ(c->server.max_body_bytes, std::size_t{2} << 20);
  EXPECT_EQ(c->server.max_connections, 100u);
  EXPECT_EQ(c->data_dir, "/etc/parley/state");
  EXPECT_EQ(c->server.tls_cert_file, "/certs/cert.pem");
  EXPECT_EQ(c->server.tls_key_file, "/etc/parley/key.pem");
  EXPECT_EQ(c->web_dir, "/etc/parley/web/dist");
  EXPECT_EQ(c->gateway.limits.max_messages, 100u);
  EXPECT_EQ(c->gateway.limits.max_stop, 2u);
  EXPECT_EQ(c->gateway.limits.max_n, 4);
  ASSERT_EQ(c->models.size(), 2u);
  // The first model inherits [engine]; the second overrides two keys and keeps the rest.
  EXPECT_EQ(c->models[0].path, "/etc/parley/models/a.gguf");
  EXPECT_EQ(c->models[0].id, "alpha");
  EXPECT_EQ(c->models[0].threads, 2);
  EXPECT_EQ(c->models[0].n_ctx, 4096);
  EXPECT_EQ(c->models[0].max_running, 8);
  EXPECT_EQ(c->models[0].kv_cache_bytes, std::int64_t{512} << 20);
  EXPECT_EQ(c->models[1].path, "/srv/b.gguf");
  EXPECT_EQ(c->models[1].id, "");
  EXPECT_EQ(c->models[1].max_running, 2);
  EXPECT_EQ(c->models[1].kv_cache_bytes, std::int64_t{64} << 20);
  EXPECT_EQ(c->models[1].max_batch_tokens, 256);
  EXPECT_FALSE(c->models[0].special_tokens_in_content) << "control-token text in messages is plain by default";
  EXPECT_TRUE(c->models[1].special_tokens_in_content);
}

TEST(ServeConfig, ErrorsNameTheKeyAndItsLine) {
  // A typo is an error, not a silent default, and the message lists what the section knows.
  std::string e = error_of("[server]\nhots = \"x\"\n");
  EXPECT_NE(e.find("parley.toml:2:"), std::string::npos) << e;
  EXPECT_NE(e.find("server.hots"), std::string::npos) << e;
  EXPECT_NE(e.find("host, port"), std::string::npos) << e;

  e = error_of("[sever]\n");
  EXPECT_NE(e.find("'sever'"), std::string::npos) << e;

  e = error_of("[server]\nport = \"8080\"\n");
  EXPECT_NE(e.find("server.port must be an integer"), std::string::npos) << e;

  e = error_of("[server]\nport = 70000\n");
  EXPECT_NE(e.find("out of range [0, 65535]"), std::string::npos) << e;

  e = error_of("[engine]\nmax_running = 0\n");
  EXPECT_NE(e.find("engine.max_running = 0 is out of range"), std::string::npos) << e;

  e = error_of("[engine]\nbackend = \"tpu\"\n");
  EXPECT_NE(e.find("backend 'tpu'"), std::string::npos) << e;

  e = error_of("[[models]]\nid = \"x\"\n");
  EXPECT_NE(e.find("models[0] needs a path"), std::string::npos) << e;

  e = error_of("[[models]]\npath = \"a.gguf\"\nmax_runing = 3\n");
  EXPECT_NE(e.find("models[0].max_runing"), std::string::npos) << e;

  e = error_of("[[models]]\npath = \"a.gguf\"\nspecial_tokens_in_content = 1\n");
  EXPECT_NE(e.find("models[0].special_tokens_in_content must be true or false"), std::string::npos) << e;

  e = error_of("models = 3\n");
  EXPECT_NE(e.find("array of tables"), std::string::npos) << e;

  e = error_of("[server]\ntls_cert = \"c.pem\"\n");
  EXPECT_NE(e.find("go together"), std::string::npos) << e;
}

TEST(ServeConfig, SchedulingKeysAndRolePriorities) {
  Result<ServeConfig> c = parse(R"(
[engine]
target_itl_ms = 120
max_prefill_per_tenant = 3

[[models]]
path = "a.gguf"
target_itl_ms = 0

[priority]
user = "batch"
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->model_defaults.target_itl_ms, 120);
  EXPECT_EQ(c->model_defaults.max_prefill_per_tenant, 3);
  EXPECT_EQ(c->models.at(0).target_itl_ms, 0);  // no target for this model
  EXPECT_EQ(c->models.at(0).max_prefill_per_tenant, 3);
  EXPECT_EQ(c->gateway.role_priority.user, Priority::kBatch);
  EXPECT_EQ(c->gateway.role_priority.admin, Priority::kInteractive);

  const ServeConfig defaults = parse("").value();
  EXPECT_LT(defaults.model_defaults.target_itl_ms, 0) << "absent: the backend's default";
  EXPECT_EQ(defaults.gateway.role_priority.user, Priority::kInteractive);

  std::string e = error_of("[priority]\nuser = \"low\"\n");
  EXPECT_NE(e.find("priority.user must be"), std::string::npos) << e;
  e = error_of("[priority]\nguest = \"batch\"\n");
  EXPECT_NE(e.find("priority.guest"), std::string::npos) << e;
  e = error_of("[engine]\ntarget_itl_ms = -5\n");
  EXPECT_NE(e.find("engine.target_itl_ms"), std::string::npos) << e;
}

TEST(ServeConfig, KvDiskTierKeys) {
  Result<ServeConfig> c = parse(R"(
[engine]
kv_disk_gib = 1.5
kv_disk_dir = "/var/lib/parley/kv"

[[models]]
path = "a.gguf"
kv_disk_gib = 0
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->model_defaults.kv_disk_bytes, std::int64_t{3} << 29);
  EXPECT_EQ(c->model_defaults.kv_disk_dir, "/var/lib/parley/kv");
  ASSERT_EQ(c->models.size(), 1u);
  EXPECT_EQ(c->models[0].kv_disk_bytes, 0);          // off for this model
  EXPECT_EQ(ServedModelOptions{}.kv_disk_bytes, 0);  // off by default
  EXPECT_NE(error_of("[engine]\nkv_disk_gib = -1\n").find("kv_disk_gib"), std::string::npos);
}

// A relative kv_disk_dir is the config file's directory's, as every other path of the file.
TEST(ServeConfig, KvDiskDirIsResolvedAgainstTheConfigFile) {
  Result<ServeConfig> c = parse(R"(
[engine]
kv_disk_gib = 1
kv_disk_dir = "kv"

[[models]]
path = "a.gguf"
kv_disk_dir = "../cache/a-kv"

[[models]]
path = "b.gguf"

[[models]]
path = "c.gguf"
kv_disk_dir = "/srv/kv"
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->model_defaults.kv_disk_dir, "/etc/parley/kv");
  ASSERT_EQ(c->models.size(), 3u);
  EXPECT_EQ(c->models[0].kv_disk_dir, "/etc/cache/a-kv");
  EXPECT_EQ(c->models[1].kv_disk_dir, "/etc/parley/kv");  // the [engine] default
  EXPECT_EQ(c->models[2].kv_disk_dir, "/srv/kv");
}

TEST(ServeConfig, OnDemandSection) {
  Result<ServeConfig> c = parse(R"(
[on_demand]
dir = "models"
idle_unload = "15m"
memory_gib = 24
load_timeout = 90
max_waiters = 8
rescan = "10s"
pin_model_files = false
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const OnDemandConfig& o = c->on_demand;
  EXPECT_EQ(o.dir, "/etc/parley/models");
  EXPECT_EQ(o.idle_unload, std::chrono::minutes(15));
  EXPECT_DOUBLE_EQ(o.memory_gib, 24);
  EXPECT_EQ(o.load_timeout, std::chrono::seconds(90));
  EXPECT_EQ(o.max_waiters, 8);
  EXPECT_EQ(o.rescan, std::chrono::seconds(10));
  EXPECT_FALSE(o.pin_model_files);
  EXPECT_TRUE(o.enabled());
  EXPECT_EQ(o.pool_options().memory_bytes, std::int64_t{24} << 30);
  EXPECT_FALSE(parse("").value().on_demand.enabled());
  for (const char* bad :
       {"[on_demand]\nidle_unload = \"soon\"", "[on_demand]\nmemory_gib = -1", "[on_demand]\nmax_waiters = 0",
        "[on_demand]\ndirectory = \"m\"", "[on_demand]\nload_timeout = 0"}) {
    Result<ServeConfig> r = parse(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("on_demand"), std::string::npos) << r.status().message();
    }
  }
  EXPECT_EQ(parse_duration("90s").value(), std::chrono::seconds(90));
  EXPECT_EQ(parse_duration("2h").value(), std::chrono::hours(2));
  EXPECT_EQ(parse_duration("250ms").value(), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("0").value(), std::chrono::milliseconds(0));
  EXPECT_FALSE(parse_duration("15 minutes").ok());
  EXPECT_FALSE(parse_duration("-1s").ok());
}

TEST(ServeConfig, HostsOriginsAndBodyBudgets) {
  auto c = parse_serve_config(
      "[server]\nallowed_hosts = [\"chat.example.com\", \".corp.example\"]\n"
      "allowed_origins = [\"https://app.example.com\"]\nmax_body_in_flight_mib = 64\nmax_body_per_address_mib = 8\n"
      "[auth]\nlogin_per_hour_account = 30\n",
      "", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->gateway.allowed_hosts, (std::vector<std::string>{"chat.example.com", ".corp.example"}));
  EXPECT_EQ(c->gateway.allowed_origins, (std::vector<std::string>{"https://app.example.com"}));
  EXPECT_EQ(c->server.max_body_bytes_in_flight, std::size_t{64} << 20);
  EXPECT_EQ(c->server.max_body_bytes_per_address, std::size_t{8} << 20);
  EXPECT_EQ(c->accounts.auth.login_per_hour_account, 30);
  std::string e = error_of("[server]\nallowed_hosts = [\"bad host/\"]\n");
  EXPECT_NE(e.find("server.allowed_hosts"), std::string::npos) << e;
  EXPECT_NE(e.find("parley.toml:2:"), std::string::npos) << e;
  e = error_of("[server]\nallowed_origins = [\"app.example.com\"]\n");
  EXPECT_NE(e.find("is not an origin"), std::string::npos) << e;
  e = error_of("[server]\nallowed_hosts = \"x\"\n");
  EXPECT_NE(e.find("a list of strings"), std::string::npos) << e;
}

TEST(ServeConfig, MemoryTrimInterval) {
  auto c = parse_serve_config("", "", "parley.toml");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->gateway.memory_trim_interval, std::chrono::seconds(60));  // the default
  c = parse_serve_config("[server]\nmemory_trim_seconds = 15\n", "", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->gateway.memory_trim_interval, std::chrono::seconds(15));
  c = parse_serve_config("[server]\nmemory_trim_seconds = 0\n", "", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->gateway.memory_trim_interval.count(), 0);  // off
  const std::string e = error_of("[server]\nmemory_trim_seconds = -1\n");
  EXPECT_NE(e.find("server.memory_trim_seconds"), std::string::npos) << e;
}

TEST(ServeConfig, TomlSyntaxErrorsHaveAPosition) {
  const std::string e = error_of("[server]\nport = = 3\n");
  EXPECT_NE(e.find("parley.toml:2:"), std::string::npos) << e;
}

TEST(ServeConfig, OversizedDocumentsAreRefusedBeforeParsing) {
  const std::string big(kMaxConfigFileBytes + 1, '#');
  EXPECT_NE(error_of(big).find("more than a config file may have"), std::string::npos);
}

TEST(ServeConfig, LoadsAFileAndResolvesPathsAgainstItsDirectory) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "parley_serve_config_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / "parley.toml";
  {
    std::ofstream out(file);
    out << "[[models]]\npath = \"m.gguf\"\n";
  }
  Result<ServeConfig> c = load_serve_config(file.string());
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_EQ(c->models.size(), 1u);
  EXPECT_EQ(c->models[0].path, (dir / "m.gguf").string());

  Result<ServeConfig> missing = load_serve_config((dir / "nope.toml").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), ErrorCode::kNotFound);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace parley

namespace parley {
namespace {

TEST(ServeConfig, ModerationRulesAreReadStrictlyAndCompiled) {
  Result<ServeConfig> c = parse_serve_config(R"(
[moderation]
[[moderation.rules]]
name = "secrets-in"
kind = "detector"
detectors = ["secrets"]
stage = "input"
action = "redact"
)",
                                             "/etc/parley", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  ASSERT_TRUE(c->gateway.moderation);
  EXPECT_EQ(c->gateway.moderation->config().rules.size(), 1u);
  EXPECT_EQ(c->gateway.moderation->config().audit.excerpt_bytes, 0u);  // private by default
  // No [moderation]: nothing checked.
  EXPECT_FALSE(parse_serve_config("", "/etc/parley", "parley.toml")->gateway.moderation);
  // A wrong action names the file, line and key; a pattern that does not compile stops too.
  Result<ServeConfig> bad = parse_serve_config(R"(
[[moderation.rules]]
name = "x"
kind = "phrases"
phrases = ["a"]
action = "delete"
)",
                                               "/etc/parley", "parley.toml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("parley.toml:6"), std::string::npos) << bad.status().to_string();
  EXPECT_NE(bad.status().message().find("action"), std::string::npos) << bad.status().to_string();
  // With a guard model, errors in the rules still name their line.
  Result<ServeConfig> guarded = parse_serve_config(R"(
[moderation.guard]
model = "guard"
fail = "closed"

[[moderation.rules]]
name = "x"
kind = "phrases"
phrases = ["a"]
action = "delete"
)",
                                                   "/etc/parley", "parley.toml");
  ASSERT_FALSE(guarded.ok());
  EXPECT_NE(guarded.status().message().find("parley.toml:10"), std::string::npos) << guarded.status().to_string();
  Result<ServeConfig> guard =
      parse_serve_config("[moderation.guard]\nmodel = \"g\"\nfail = \"closed\"\n", "/etc/parley", "parley.toml");
  ASSERT_TRUE(guard.ok()) << guard.status().to_string();
  EXPECT_EQ(guard->gateway.guard.model, "g");
  EXPECT_TRUE(guard->gateway.guard.fail_closed);
  EXPECT_TRUE(guard->gateway.guard.input);
  EXPECT_FALSE(guard->gateway.guard.output);
  Result<ServeConfig> both =
      parse_serve_config("[moderation.guard]\nmodel = \"g\"\nstage = \"both\"\n", "/etc/parley", "parley.toml");
  ASSERT_TRUE(both.ok()) << both.status().to_string();
  EXPECT_TRUE(both->gateway.guard.input && both->gateway.guard.output);
  Result<ServeConfig> out =
      parse_serve_config("[moderation.guard]\nmodel = \"g\"\nstage = \"output\"\n", "/etc/parley", "parley.toml");
  ASSERT_TRUE(out.ok()) << out.status().to_string();
  EXPECT_TRUE(!out->gateway.guard.input && out->gateway.guard.output);
  EXPECT_FALSE(
      parse_serve_config("[moderation.guard]\nmodel = \"g\"\nstage = \"later\"\n", "/etc/parley", "parley.toml").ok());
  EXPECT_FALSE(
      parse_serve_config("[moderation.guard]\nmodel = \"g\"\nfail = \"sometimes\"\n", "/etc/parley", "parley.toml")
          .ok());
  Result<ServeConfig> slow = parse_serve_config(R"(
[[moderation.rules]]
name = "slow"
kind = "regex"
pattern = '(a+)+$'
)",
                                                "/etc/parley", "parley.toml");
  ASSERT_FALSE(slow.ok());
  EXPECT_NE(slow.status().message().find("slow"), std::string::npos) << slow.status().to_string();
}

TEST(ServeConfigTracing, TracingKeysAndTheirChecks) {
  Result<ServeConfig> c = parse_serve_config(R"(
[tracing]
otlp_endpoint = "http://collector:4318"
service_name = "parley-gw"
sample_ratio = 0.25
)",
                                             "/etc/parley", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->tracing.otlp_endpoint, "http://collector:4318");
  EXPECT_EQ(c->tracing.service_name, "parley-gw");
  EXPECT_DOUBLE_EQ(c->tracing.sample_ratio, 0.25);
  EXPECT_TRUE(parse_serve_config("", "/", "p").value().tracing.otlp_endpoint.empty());  // off by default

  for (const char* bad :
       {"[tracing]\notlp_endpoint = \"https://collector:4318\"\n", "[tracing]\notlp_endpoint = \"collector\"\n",
        "[tracing]\nsample_ratio = 1.5\n", "[tracing]\nendpoint = \"http://c:4318\"\n"}) {
    Result<ServeConfig> r = parse_serve_config(bad, "/", "parley.toml");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find("tracing."), std::string::npos) << r.status().to_string();
    }
  }
  // make_tracer: nothing without an endpoint, a tracer with one.
  EXPECT_EQ(make_tracer({}, "serve").value(), nullptr);
  auto t = make_tracer({.otlp_endpoint = "http://127.0.0.1:4318"}, "serve");
  ASSERT_TRUE(t.ok());
  ASSERT_NE(*t, nullptr);
  EXPECT_EQ((*t)->options().service_name, "parley-serve");
}

TEST(ServeConfigConversations, CheckpointKeysAndErrors) {
  Result<ServeConfig> c = parse("[conversations]\ncheckpoint_interval_ms = 250\nstale_stream_s = 30\n");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->gateway.checkpoints.checkpoint_interval.count(), 250);
  EXPECT_EQ(c->gateway.checkpoints.stale_after.count(), 30);
  const ServeConfig d = parse("").value();  // the defaults: every second, 60 s
  EXPECT_EQ(d.gateway.checkpoints.checkpoint_interval.count(), 1000);
  EXPECT_EQ(d.gateway.checkpoints.stale_after.count(), 60);
  EXPECT_EQ(
      parse("[conversations]\ncheckpoint_interval_ms = 0\n").value().gateway.checkpoints.checkpoint_interval.count(),
      0);  // off
  EXPECT_NE(error_of("[conversations]\ncheckpoint_interval_ms = -1\n").find("out of range"), std::string::npos);
  EXPECT_NE(error_of("[conversations]\nstale_stream_s = \"1m\"\n").find("must be an integer"), std::string::npos);
  EXPECT_NE(error_of("[conversations]\ncheckpoint_interval_ms = 1000\nstale_stream_s = 2\n").find("twice"),
            std::string::npos);
  EXPECT_NE(error_of("[conversations]\ncheckpoint = 1\n").find("unknown key conversations.checkpoint"),
            std::string::npos);
}

TEST(ServeConfigRouter, KeysAndErrors) {
  Result<ServeConfig> c = parse_serve_config(R"(
[router]
policy = "least_loaded"
workers = ["http://10.0.0.7:8081", "dns:workers.parley.svc:8081"]
health_interval_ms = 500
dns_interval_ms = 10000
probe_timeout_ms = 1000
eject_after = 5
eject_base_ms = 2000
eject_max_ms = 30000
max_tries = 2
load_bound_eps = 0.25
index_blocks_per_worker = 4096
)",
                                             "", "parley.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  const RouterConfig& r = c->router;
  EXPECT_EQ(r.policy, "least_loaded");
  EXPECT_EQ(r.workers, (std::vector<std::string>{"http://10.0.0.7:8081", "dns:workers.parley.svc:8081"}));
  EXPECT_EQ(r.health_interval_ms, 500);
  EXPECT_EQ(r.eject_after, 5);
  EXPECT_EQ(r.max_tries, 2);
  EXPECT_DOUBLE_EQ(r.load_bound_eps, 0.25);
  EXPECT_EQ(r.index_blocks_per_worker, 4096);
  const WorkerRegistryOptions o = registry_options(r, "token");
  EXPECT_EQ(o.urls, std::vector<std::string>{"http://10.0.0.7:8081"});
  EXPECT_EQ(o.dns, std::vector<std::string>{"dns:workers.parley.svc:8081"});
  EXPECT_EQ(o.eject_max.count(), 30000);

  EXPECT_EQ(parse_serve_config("", "", "x").value().router.policy, "affinity");  // the default
  for (const char* bad :
       {"[router]\npolicy = \"random\"\n", "[router]\nworkers = [\"10.0.0.7:8081\"]\n", "[router]\nmax_tries = 0\n",
        "[router]\nload_bound_eps = -1\n", "[router]\npolcy = \"x\"\n"}) {
    Result<ServeConfig> b = parse_serve_config(bad, "", "parley.toml");
    ASSERT_FALSE(b.ok()) << bad;
    EXPECT_NE(b.status().message().find("router."), std::string::npos) << b.status().message();
    EXPECT_NE(b.status().message().find("parley.toml:2"), std::string::npos) << b.status().message();
  }
}

TEST(ServeConfig, KvTypeIsPerModelAndChecked) {
  Result<ServeConfig> c = parse(R"(
[engine]
kv_type = "q8_0"

[[models]]
path = "a.gguf"

[[models]]
path = "b.gguf"
kv_type = "F16"
)");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(ServedModelOptions{}.kv_type, TensorType::kF16);
  EXPECT_EQ(c->models[0].kv_type, TensorType::kQ8_0);
  EXPECT_EQ(c->models[1].kv_type, TensorType::kF16);
  const std::string e = error_of("[engine]\nkv_type = \"q4_0\"\n");
  EXPECT_NE(e.find("KV type 'q4_0' is not one of: f16, q8_0"), std::string::npos) << e;
}

}  // namespace
}  // namespace parley
