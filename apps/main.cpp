// parley: one binary, several roles. Subcommands are registered by the apps/cmd_*.cpp files.
#include <fmt/core.h>

#include <CLI/CLI.hpp>

#include "apps/cli.h"
#include "base/log.h"

namespace parley::cli {

int fail(std::string_view command, const Status& status) {
  fmt::print(stderr, "parley {}: {}\n", command, status.message().empty() ? status.to_string() : status.message());
  return kExitError;
}

}  // namespace parley::cli

int main(int argc, char** argv) {
  using namespace parley;
  CLI::App app{"Parley: a self-hostable chat service with its own inference engine.", "parley"};
  app.set_version_flag("--version", std::string("parley ") + PARLEY_VERSION);
  app.require_subcommand(1);
  app.fallthrough();

  std::string log_level = "info";
  std::string log_format = "text";
  app.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (env PARLEY_LOG_LEVEL)")
      ->capture_default_str();
  app.add_option("--log-format", log_format, "text (for people) or json (one object per line; env PARLEY_LOG_FORMAT)")
      ->capture_default_str();

  int exit_code = cli::kExitOk;
  cli::add_model_commands(app, &exit_code);
  cli::add_tokenize_command(app, &exit_code);
  cli::add_serve_command(app, &exit_code);
  cli::add_worker_command(app, &exit_code);
  cli::add_gateway_command(app, &exit_code);
  cli::add_chat_command(app, &exit_code);
  cli::add_generate_command(app, &exit_code);
  cli::add_bench_command(app, &exit_code);
  cli::add_admin_command(app, &exit_code);
  // Set after the subcommands are added, which would otherwise inherit it.
  app.footer(
      "Examples:\n"
      "  parley serve                                 the OpenAI-compatible server with the demo model\n"
      "  parley serve --model model.gguf --port 8080  ... with a real model\n"
      "  parley chat                                  chat with the server in the terminal\n"
      "  parley admin create-key --email me@example.com   an API key for the server's OpenAI API\n"
      "  parley model info model.gguf                 describe a GGUF model file\n"
      "  parley tokenize --model model.gguf 'Hello'   print the token ids of a text\n"
      "  parley generate --model model.gguf --prompt 'Once upon a time' -n 64\n"
      "  parley bench --model model.gguf -p 128 -n 32 -b 1,8   prefill/decode speed vs the machine's limits\n"
      "  parley model synth --arch llama --vocab-from builtin:bytes --layers 2 --embd 256 --heads 4 \\\n"
      "      --kv-heads 2 --ff 512 --out demo.gguf   write a small model with random weights\n"
      "Run `parley <command> --help` for the options of each command.");

  // Logging must be set up before the subcommand callbacks run, so parse in two steps.
  app.parse_complete_callback([&] {
    LogOptions opts = log_options_from_env({});
    if (app.count("--log-level") > 0) {
      if (Status st = parse_log_level(log_level, &opts.level); !st.ok())
        throw CLI::ValidationError("--log-level", std::string(st.message()));
    }
    if (app.count("--log-format") > 0) {
      if (Status st = parse_log_format(log_format, &opts.format); !st.ok())
        throw CLI::ValidationError("--log-format", std::string(st.message()));
    }
    init_logging(opts);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
