// `parley admin models ...`: models loaded on demand in a running `parley serve` (its admin API,
// /api/admin/models: docs/api.md). Unlike the rest of `parley admin` this talks to the server, not
// the store: which models are loaded lives in the server's process.
//
// The API key (an admin's, with the admin scope) comes from --api-key-file or PARLEY_API_KEY; a
// server in local mode (authentication off) needs none.
#include <fmt/core.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>

#include "apps/cli.h"
#include "net/http_client.h"

namespace parley::cli {
namespace {

struct ModelsArgs {
  std::string url = "http://127.0.0.1:8080";
  std::string key_file;
  std::string id;
};

Result<std::string> api_key(const ModelsArgs& a) {
  if (!a.key_file.empty()) {
    std::ifstream in(a.key_file);
    if (!in) return invalid_argument_error("cannot read the API key file {}", a.key_file);
    std::string key;
    std::getline(in, key);
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    return key;
  }
  const char* env = std::getenv("PARLEY_API_KEY");
  return std::string(env != nullptr ? env : "");
}

Status call(const ModelsArgs& a, const std::string& method, const std::string& path) {
  ASSIGN_OR_RETURN(const std::string key, api_key(a));
  HttpHeaders headers;
  if (!key.empty()) headers.emplace_back("Authorization", "Bearer " + key);
  HttpClientRequest req;
  req.method = method;
  req.url = a.url + path;
  req.headers = std::move(headers);
  req.timeout = std::chrono::minutes(10);  // a load may take minutes
  ASSIGN_OR_RETURN(const HttpResponse r, HttpClient().request(req));
  if (r.status != 200) return unavailable_error("{} {}: HTTP {}: {}", method, path, r.status, r.body);
  fmt::print("{}\n", r.body);
  return ok_status();
}

}  // namespace

void add_admin_models_command(CLI::App& admin, int* exit_code) {
  auto a = std::make_shared<ModelsArgs>();
  CLI::App* m = admin.add_subcommand(
      "models", "Models loaded on demand in a running server (--url): list, load, unload, pin, unpin (docs/api.md)");
  m->require_subcommand(1);
  m->add_option("--url", a->url, "The server's address")->capture_default_str();
  m->add_option("--api-key-file", a->key_file,
                "File holding an admin API key (else PARLEY_API_KEY; none in local mode)");
  CLI::App* list = m->add_subcommand("list", "Every model with its state, memory, streams (JSON)");
  list->callback([a, exit_code] {
    if (Status st = call(*a, "GET", "/api/admin/models"); !st.ok()) *exit_code = fail("admin models list", st);
  });
  for (const char* action : {"load", "unload", "pin", "unpin"}) {
    CLI::App* cmd = m->add_subcommand(action, fmt::format("{} a model (POST /api/admin/models/ID/{})", action, action));
    cmd->add_option("id", a->id, "The model's id")->required();
    cmd->callback([a, exit_code, action] {
      const std::string path = fmt::format("/api/admin/models/{}/{}", a->id, action);
      if (a->id.find_first_of("/?#% ") != std::string::npos) {
        *exit_code = fail("admin models", invalid_argument_error("model id '{}' is not valid here", a->id));
        return;
      }
      if (Status st = call(*a, "POST", path); !st.ok()) *exit_code = fail(std::string("admin models ") + action, st);
    });
  }
}

}  // namespace parley::cli
