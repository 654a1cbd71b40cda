#include "apps/model_info.h"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <map>

#include "gguf/gguf_file.h"
#include "model/hparams.h"
#include "tokenizer/detokenizer.h"
#include "tokenizer/vocab.h"

namespace parley::cli {
namespace {

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 4) {
    bytes /= 1024.0;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", bytes, units[u]) : fmt::format("{:.2f} {}", bytes, units[u]);
}

std::string human_count(double n) {
  if (n >= 1e9) return fmt::format("{:.2f} B", n / 1e9);
  if (n >= 1e6) return fmt::format("{:.2f} M", n / 1e6);
  if (n >= 1e3) return fmt::format("{:.2f} K", n / 1e3);
  return fmt::format("{:.0f}", n);
}

struct TypeTotals {
  int tensors = 0;
  std::int64_t elements = 0;
  std::uint64_t bytes = 0;
};

struct Summary {
  std::int64_t n_params = 0;
  std::uint64_t tensor_bytes = 0;
  std::map<std::string, TypeTotals> by_type;
};

Summary summarize(const GgufFile& f) {
  Summary s;
  for (const auto& t : f.tensors()) {
    s.n_params += t.n_elements();
    s.tensor_bytes += t.n_bytes;
    auto& tt = s.by_type[std::string(tensor_type_name(t.type))];
    ++tt.tensors;
    tt.elements += t.n_elements();
    tt.bytes += t.n_bytes;
  }
  return s;
}

std::string token_label(const Vocab& v, TokenId id) {
  if (id == kNoToken) return "none";
  return fmt::format("{} '{}'", id, sanitize_utf8(v.tokens[static_cast<std::size_t>(id)]));
}

boost::json::value value_to_json(const GgufValue& v) {
  switch (v.type()) {
    case GgufValueType::kString: return boost::json::value(sanitize_utf8(v.str()));
    case GgufValueType::kBool: return boost::json::value(*v.to_bool());
    case GgufValueType::kF32:
    case GgufValueType::kF64: return boost::json::value(*v.to_f64());
    case GgufValueType::kArray: {
      // Arrays can hold a whole vocabulary: give their shape, not their contents.
      boost::json::object o;
      o["array_of"] = std::string(gguf_value_type_name(v.arr().elem_type));
      o["count"] = v.arr().count;
      return o;
    }
    default:
      if (auto i = v.to_i64(); i.ok()) return boost::json::value(*i);
      return boost::json::value(*v.to_u64());
  }
}

}  // namespace

std::string model_info_text(const GgufFile& f) {
  std::string out;
  const Summary s = summarize(f);
  const std::string arch = f.get<std::string>(kKeyGeneralArchitecture, std::string("(none)")).value_or("(invalid)");
  out += fmt::format("file:          {} ({}, GGUF v{}, alignment {})\n", f.path(), human_bytes(static_cast<double>(f.file_size())),
                     f.version(), f.alignment());
  out += fmt::format("architecture:  {}\n", arch);
  if (auto name = f.get<std::string>(kKeyGeneralName); name.ok()) out += fmt::format("name:          {}\n", sanitize_utf8(*name));
  if (!f.tensors().empty()) {
    out += fmt::format("parameters:    {} in {} tensors, {} ({:.2f} bits per weight)\n", human_count(static_cast<double>(s.n_params)),
                       f.tensors().size(), human_bytes(static_cast<double>(s.tensor_bytes)),
                       s.n_params > 0 ? 8.0 * static_cast<double>(s.tensor_bytes) / static_cast<double>(s.n_params) : 0.0);
    for (const auto& [type, tt] : s.by_type) {
      out += fmt::format("  {:<8} {:>5} tensors {:>12} {:>12}\n", type, tt.tensors, human_count(static_cast<double>(tt.elements)),
                         human_bytes(static_cast<double>(tt.bytes)));
    }
  }

  if (Result<ModelHParams> h = read_hparams(f); h.ok()) {
    out += "hyperparameters:\n";
    out += fmt::format("  context length      {}\n  embedding length    {}\n  layers              {}\n", h->n_ctx_train,
                       h->n_embd, h->n_layer);
    out += fmt::format("  feed-forward length {}\n  attention heads     {} (kv heads {}, head size {})\n", h->n_ff,
                       h->n_head, h->n_head_kv, h->head_dim_k);
    out += fmt::format("  rope                base {}, {} dims{}\n", h->rope_freq_base, h->n_rot,
                       h->rope_scaling_type.empty() ? std::string()
                                                    : fmt::format(", scaling {} x{}", h->rope_scaling_type, h->rope_scaling_factor));
    out += fmt::format("  rms norm epsilon    {}\n  vocabulary          {}\n", h->rms_norm_eps, h->n_vocab);
  } else if (f.contains(arch_key(arch, "block_count"))) {
    out += fmt::format("hyperparameters: {}\n", h.status().message());
  }

  if (f.contains(kKeyTokenizerModel)) {
    if (Result<std::unique_ptr<Vocab>> v = load_vocab(f); v.ok()) {
      const Vocab& voc = **v;
      out += fmt::format("tokenizer:     {} ({}), pre-tokenizer {}, {} tokens{}\n", voc.model,
                         voc.kind == VocabKind::kSpm ? "SentencePiece BPE" : "byte-level BPE", voc.pre, voc.size(),
                         voc.kind == VocabKind::kBpe ? fmt::format(", {} merges", voc.merges.size()) : std::string());
      out += fmt::format("  bos {}  eos {}  add_bos {}  add_eos {}\n", token_label(voc, voc.bos), token_label(voc, voc.eos),
                         voc.add_bos, voc.add_eos);
      std::string eog;
      for (const TokenId id : voc.eog) eog += (eog.empty() ? "" : ", ") + token_label(voc, id);
      out += fmt::format("  end of generation   {}\n", eog.empty() ? "none" : eog);
      out += fmt::format("  chat template       {}\n",
                         voc.chat_template.empty() ? "none" : fmt::format("{} bytes", voc.chat_template.size()));
    } else {
      out += fmt::format("tokenizer:     unusable: {}\n", v.status().message());
    }
  }

  out += fmt::format("metadata ({} keys):\n", f.metadata().size());
  for (const auto& [key, value] : f.metadata()) {
    out += fmt::format("  {:<44} {:<7} {}\n", sanitize_utf8(key), gguf_value_type_name(value.type()),
                       sanitize_utf8(value.to_display_string(4)));
  }
  if (!f.tensors().empty()) {
    out += fmt::format("tensors ({}):\n  {:<36} {:<7} {:<20} {:>12} {:>14}\n", f.tensors().size(), "name", "type", "shape",
                       "bytes", "offset");
    for (const auto& t : f.tensors()) {
      out += fmt::format("  {:<36} {:<7} {:<20} {:>12} {:>14}\n", t.name, tensor_type_name(t.type), t.shape_string(),
                         t.n_bytes, f.data_offset() + t.offset);
    }
  }
  return out;
}

std::string model_info_json(const GgufFile& f) {
  namespace json = boost::json;
  const Summary s = summarize(f);
  json::object root;
  root["path"] = f.path();
  root["file_size"] = f.file_size();
  root["gguf_version"] = f.version();
  root["alignment"] = f.alignment();
  root["architecture"] = f.get<std::string>(kKeyGeneralArchitecture, std::string()).value_or("");
  root["name"] = sanitize_utf8(f.get<std::string>(kKeyGeneralName, std::string()).value_or(""));
  root["n_params"] = s.n_params;
  root["tensor_bytes"] = s.tensor_bytes;
  json::object types;
  for (const auto& [type, tt] : s.by_type) types[type] = {{"tensors", tt.tensors}, {"elements", tt.elements}, {"bytes", tt.bytes}};
  root["tensor_types"] = std::move(types);

  if (Result<ModelHParams> h = read_hparams(f); h.ok()) {
    root["hparams"] = {{"context_length", h->n_ctx_train}, {"embedding_length", h->n_embd},
                       {"block_count", h->n_layer},        {"feed_forward_length", h->n_ff},
                       {"head_count", h->n_head},          {"head_count_kv", h->n_head_kv},
                       {"head_dim", h->head_dim_k},        {"rope_dimension_count", h->n_rot},
                       {"rope_freq_base", h->rope_freq_base}, {"rms_norm_eps", h->rms_norm_eps},
                       {"vocab_size", h->n_vocab},         {"rope_scaling_type", h->rope_scaling_type},
                       {"rope_scaling_factor", h->rope_scaling_factor}};
  } else {
    root["hparams"] = nullptr;
    root["hparams_error"] = std::string(h.status().message());
  }
  if (f.contains(kKeyTokenizerModel)) {
    if (Result<std::unique_ptr<Vocab>> v = load_vocab(f); v.ok()) {
      const Vocab& voc = **v;
      json::array eog;
      for (const TokenId id : voc.eog) eog.push_back(id);
      root["tokenizer"] = {{"model", voc.model},        {"pre", voc.pre},
                           {"n_tokens", voc.size()},    {"n_merges", voc.merges.size()},
                           {"bos", voc.bos},            {"eos", voc.eos},
                           {"add_bos", voc.add_bos},    {"add_eos", voc.add_eos},
                           {"eog", std::move(eog)},     {"has_chat_template", !voc.chat_template.empty()}};
    } else {
      root["tokenizer"] = nullptr;
      root["tokenizer_error"] = std::string(v.status().message());
    }
  }
  json::object md;
  for (const auto& [key, value] : f.metadata()) md[sanitize_utf8(key)] = value_to_json(value);
  root["metadata"] = std::move(md);
  json::array tensors;
  for (const auto& t : f.tensors()) {
    json::array shape;
    for (int d = 0; d < t.n_dims; ++d) shape.push_back(t.ne[static_cast<std::size_t>(d)]);
    tensors.push_back({{"name", t.name},
                       {"type", std::string(tensor_type_name(t.type))},
                       {"shape", std::move(shape)},
                       {"n_bytes", t.n_bytes},
                       {"offset", f.data_offset() + t.offset}});
  }
  root["tensors"] = std::move(tensors);
  return json::serialize(root) + "\n";
}

}  // namespace parley::cli
