// `parley tokenize`: the token ids of a text, printed so that they can be diffed against other
// tools (one line of space-separated ids, or a JSON array).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "apps/cli.h"
#include "base/log.h"
#include "gguf/gguf_file.h"
#include "tokenizer/tokenizer.h"

namespace parley::cli {
namespace {

struct TokenizeArgs {
  std::string model;
  std::string text;
  std::string file;
  bool special = false;
  bool no_bos = false;
  bool json = false;
  bool pieces = false;
};

Result<std::string> read_all(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return errno_error("open", path, errno);
  std::string data;
  char buf[1 << 16];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return io_error("read {} failed", path);
  return data;
}

// A JSON string literal (invalid UTF-8 replaced, so the output is always valid JSON).
std::string json_string(std::string_view s) {
  std::string out = "\"";
  append_json_escaped(out, s);
  return out + "\"";
}

int run_tokenize(const TokenizeArgs& a) {
  std::string text = a.text;
  if (!a.file.empty()) {
    Result<std::string> data = read_all(a.file);
    if (!data.ok()) return fail("tokenize", data.status());
    text = std::move(*data);
  }
  Result<std::unique_ptr<GgufFile>> f = GgufFile::open(a.model);
  if (!f.ok()) return fail("tokenize", f.status());
  Result<std::unique_ptr<Tokenizer>> tok = Tokenizer::from_gguf(**f);
  if (!tok.ok()) return fail("tokenize", tok.status().with_context(a.model));
  const Vocab& v = (*tok)->vocab();

  std::vector<TokenId> ids = (*tok)->encode(text, {.add_special = !a.no_bos, .parse_special = a.special});
  if (a.no_bos && v.add_eos && v.eos != kNoToken) ids.push_back(v.eos);  // --no-bos drops BOS only

  std::string out;
  if (a.pieces) {
    if (a.json) out += "[";
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const std::string_view text_of = (*tok)->token_text(ids[i]);
      if (a.json) out += fmt::format("{}{{\"id\":{},\"text\":{}}}", i ? "," : "", ids[i], json_string(text_of));
      else out += fmt::format("{:>8} {}\n", ids[i], json_string(text_of));
    }
    if (a.json) out += "]\n";
  } else {
    out += a.json ? "[" : "";
    for (std::size_t i = 0; i < ids.size(); ++i) out += fmt::format("{}{}", i ? (a.json ? "," : " ") : "", ids[i]);
    out += a.json ? "]\n" : "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return kExitOk;
}

}  // namespace

void add_tokenize_command(CLI::App& app, int* exit_code) {
  auto args = std::make_shared<TokenizeArgs>();
  CLI::App* cmd = app.add_subcommand(
      "tokenize",
      "Print the token ids of a text with a model's tokenizer (no chat template). BOS/EOS are added as the model's "
      "add_bos/add_eos flags say.");
  cmd->add_option("--model", args->model, "GGUF model or vocabulary file")->required();
  auto* text_opt = cmd->add_option("TEXT", args->text, "Text to tokenize");
  auto* file_opt = cmd->add_option("--file", args->file, "Read the text from this file instead (bytes as they are)");
  text_opt->excludes(file_opt);
  cmd->add_flag("--special", args->special,
                "Parse control-token texts such as <|im_start|> or <s> in the input as the tokens themselves");
  cmd->add_flag("--no-bos", args->no_bos, "Do not add the BOS token");
  cmd->add_flag("--json", args->json, "Print a JSON array");
  cmd->add_flag("--pieces", args->pieces, "Print each id with its vocabulary text, one per line");
  cmd->callback([args, exit_code, text_opt, file_opt] {
    if (text_opt->count() == 0 && file_opt->count() == 0) throw CLI::RequiredError("TEXT or --file");
    *exit_code = run_tokenize(*args);
  });
}

}  // namespace parley::cli
