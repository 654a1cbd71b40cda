// Wiring shared by the `parley` subcommands. Each command file registers its subcommands on the
// root CLI11 app; the callback of the chosen one runs the command and stores its exit code.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.h"
#include "base/status.h"

namespace parley::store {
class Store;
}  // namespace parley::store

namespace CLI {
class App;
}  // namespace CLI

namespace parley::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;

// Registration functions, one per command file.
void add_model_commands(CLI::App& app, int* exit_code);
void add_tokenize_command(CLI::App& app, int* exit_code);
void add_generate_command(CLI::App& app, int* exit_code);
void add_serve_command(CLI::App& app, int* exit_code);
void add_worker_command(CLI::App& app, int* exit_code);   // `parley worker`
void add_gateway_command(CLI::App& app, int* exit_code);  // `parley gateway`
void add_chat_command(CLI::App& app, int* exit_code);
void add_bench_command(CLI::App& app, int* exit_code);
void add_admin_command(CLI::App& app, int* exit_code);
// `parley admin moderation ...` under `admin` (cmd_admin_moderation.cpp); `open` opens the store
// as the other admin commands do.
using AdminStoreOpener = std::function<Result<std::unique_ptr<store::Store>>()>;
void add_admin_moderation_command(CLI::App& admin, int* exit_code, AdminStoreOpener open);
// `parley admin models ...` under `admin` (cmd_admin_models.cpp): a running server's admin API.
void add_admin_models_command(CLI::App& admin, int* exit_code);
// `parley bench serve`, a subcommand of `bench`.
CLI::App* add_bench_serve_command(CLI::App& bench, int* exit_code);
CLI::App* add_bench_resume_command(CLI::App& bench, int* exit_code);
CLI::App* add_bench_http_command(CLI::App& bench, int* exit_code);  // `parley bench http`

// Prints "parley <command>: <status message>" to stderr and returns kExitError.
int fail(std::string_view command, const Status& status);

}  // namespace parley::cli
