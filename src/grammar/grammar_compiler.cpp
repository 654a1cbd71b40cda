#include "grammar/grammar_compiler.h"

#include <chrono>

#include "grammar/gbnf.h"
#include "grammar/regex.h"

namespace parley {

std::string GrammarSpec::cache_key() const {
  std::string key;
  switch (kind) {
    case GrammarKind::kJsonSchema:
      key = "json_schema";
      break;
    case GrammarKind::kJsonObject:
      key = "json_object";
      break;
    case GrammarKind::kRegex:
      key = "regex";
      break;
    case GrammarKind::kChoice:
      key = "choice";
      break;
    case GrammarKind::kGbnf:
      key = "gbnf";
      break;
  }
  if (kind == GrammarKind::kJsonSchema || kind == GrammarKind::kJsonObject) {
    key += fmt::format("|strict={}|ws={}|indent={}", json.strict,
                       json.whitespace == JsonWhitespace::kCompact ? "compact" : "flexible", json.max_indent);
  }
  // Lengths first, so that no two different specs give the same key.
  key += fmt::format("|{}:", text.size()) + text;
  for (const std::string& c : choices) key += fmt::format("|{}:", c.size()) + c;
  return key;
}

Result<Grammar> choice_grammar(const std::vector<std::string>& choices, const GrammarLimits& limits) {
  if (choices.empty()) return invalid_argument_error("the list of choices is empty");
  std::int64_t bytes = 0;
  Grammar g;
  const RuleId root = g.add_rule("root");
  std::vector<ExprId> branches;
  for (const std::string& c : choices) {
    bytes += static_cast<std::int64_t>(c.size());
    if (bytes > limits.max_source_bytes)
      return invalid_argument_error("the choices are longer than {} bytes", limits.max_source_bytes);
    if (c.empty()) return invalid_argument_error("a choice is empty");
    branches.push_back(g.literal(c));
  }
  g.set_rule(root, g.alt(std::move(branches)));
  g.set_root(root);
  return g;
}

Result<Grammar> build_grammar(const GrammarSpec& spec, const GrammarLimits& limits) {
  switch (spec.kind) {
    case GrammarKind::kJsonSchema:
      return json_schema_grammar(spec.text, spec.json, limits);
    case GrammarKind::kJsonObject:
      return json_object_grammar(spec.json);
    case GrammarKind::kRegex:
      return regex_grammar(spec.text, limits);
    case GrammarKind::kChoice:
      return choice_grammar(spec.choices, limits);
    case GrammarKind::kGbnf:
      return gbnf_grammar(spec.text, limits);
  }
  return invalid_argument_error("unknown grammar kind");
}

GrammarCompiler::GrammarCompiler(std::shared_ptr<const TokenVocabulary> vocab, const GrammarLimits& limits,
                                 std::size_t cache_capacity, std::int64_t cache_bytes)
    : vocab_(std::move(vocab)),
      limits_(limits),
      capacity_(std::max<std::size_t>(cache_capacity, 1)),
      max_bytes_(cache_bytes) {}

Result<CompiledGrammarPtr> GrammarCompiler::compile(const GrammarSpec& spec) {
  return compile_keyed(
      spec.cache_key(), [&]() { return build_grammar(spec, limits_); }, std::make_shared<const GrammarSpec>(spec));
}

void GrammarCompiler::evict() {
  // Grammars classify their nodes in the background: count what they hold now.
  stats_.bytes = 0;
  for (auto& [key, entry] : cache_) {
    const auto& r = entry.result;
    if (r.wait_for(std::chrono::seconds(0)) == std::future_status::ready && r.get().ok()) {
      entry.bytes = (*r.get())->stats().mask_bytes;
    }
    stats_.bytes += entry.bytes;
  }
  while (!lru_.empty() && (cache_.size() > capacity_ || (stats_.bytes > max_bytes_ && cache_.size() > 1))) {
    const auto it = cache_.find(lru_.back());
    stats_.bytes -= it->second.bytes;
    cache_.erase(it);
    lru_.pop_back();
  }
  stats_.entries = static_cast<std::int64_t>(cache_.size());
}

Result<CompiledGrammarPtr> GrammarCompiler::compile(const std::string& key,
                                                    const std::function<Result<Grammar>()>& build) {
  return compile_keyed(key, build, nullptr);
}

Result<CompiledGrammarPtr> GrammarCompiler::compile_keyed(const std::string& key,
                                                          const std::function<Result<Grammar>()>& build,
                                                          std::shared_ptr<const GrammarSpec> source) {
  std::promise<Result<CompiledGrammarPtr>> promise;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto it = cache_.find(key);
    if (it != cache_.end()) {
      ++stats_.hits;
      lru_.splice(lru_.begin(), lru_, it->second.lru);
      const std::shared_future<Result<CompiledGrammarPtr>> shared = it->second.result;
      lock.unlock();
      return shared.get();  // waits while another thread compiles it
    }
    ++stats_.misses;
    lru_.push_front(key);
    cache_.emplace(key, Entry{promise.get_future().share(), lru_.begin(), 0});
    evict();
  }
  // Compiled outside the lock.
  Result<CompiledGrammarPtr> result = [&]() -> Result<CompiledGrammarPtr> {
    ASSIGN_OR_RETURN(Grammar g, build());
    const bool keep_built = source == nullptr;
    ASSIGN_OR_RETURN(CompiledGrammarPtr c, compile_grammar(g, vocab_, limits_, std::move(source)));
    if (keep_built) {
      // compile_grammar() made this object (non-const) and nobody else has seen it yet.
      const_cast<CompiledGrammar&>(*c).built_ = std::make_shared<const BuiltGrammar>(BuiltGrammar{key, std::move(g)});
    }
    return c;
  }();
  promise.set_value(result);
  if (result.ok()) {
    std::lock_guard<std::mutex> lock(mutex_);
    evict();
  }
  return result;
}

GrammarCompiler::Stats GrammarCompiler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

}  // namespace parley
