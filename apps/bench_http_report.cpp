// The report of `parley bench http`: counts, tokens, throughput, latency distributions (in
// milliseconds), per turn and per tenant, errors by kind; as JSON and as a table.
#include <fmt/core.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <set>

#include "apps/bench_http.h"

namespace parley::cli::bench_http {
namespace {

namespace json = boost::json;

double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0.0;
  const double rank = p * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(rank);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - static_cast<double>(lo));
}

// {count, mean, p50, p90, p99, max} of values in seconds, reported in milliseconds.
json::object distribution_ms(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  double sum = 0;
  for (const double x : v) sum += x;
  const double mean = v.empty() ? 0.0 : sum / static_cast<double>(v.size());
  return {{"count", v.size()},
          {"mean", 1e3 * mean},
          {"p50", 1e3 * percentile(v, 0.50)},
          {"p90", 1e3 * percentile(v, 0.90)},
          {"p99", 1e3 * percentile(v, 0.99)},
          {"max", v.empty() ? 0.0 : 1e3 * v.back()}};
}

std::int64_t generated_of(const RequestRecord& r) {
  return r.completion_tokens >= 0 ? r.completion_tokens : r.content_chunks;
}

// Latency and token figures of a set of successful requests.
struct Figures {
  const LoadOptions* slo = nullptr;  // set: count the requests within the SLOs
  std::int64_t ok = 0, failed = 0, retried = 0, cancelled = 0, within_slo = 0;
  std::int64_t prompt = 0, generated = 0, cached = 0;
  std::int64_t usage_reported = 0, cached_reported = 0;
  std::vector<double> ttft, itl, tpot, e2e;
  std::map<std::string, std::int64_t> errors;
  std::map<std::string, std::string> error_examples;  // the first detail of each kind

  void add(const RequestRecord& r) {
    if (r.error == "cancelled") {
      ++cancelled;
      return;
    }
    if (!r.ok) {
      ++failed;
      ++errors[r.error];
      if (!error_examples.contains(r.error)) error_examples[r.error] = r.error_detail;
      if (r.retried) ++retried;
      return;
    }
    ++ok;
    if (r.completion_tokens >= 0) ++usage_reported;
    generated += generated_of(r);
    if (r.prompt_tokens > 0) prompt += r.prompt_tokens;
    if (r.cached_tokens >= 0) {
      ++cached_reported;
      cached += r.cached_tokens;
    }
    if (r.ttft_s >= 0) ttft.push_back(r.ttft_s);
    itl.insert(itl.end(), r.itl_s.begin(), r.itl_s.end());
    const std::int64_t n = generated_of(r);
    const double request_tpot = r.ttft_s >= 0 && n > 1 ? (r.e2e_s - r.ttft_s) / static_cast<double>(n - 1) : 0.0;
    if (r.ttft_s >= 0 && n > 1) tpot.push_back(request_tpot);
    if (slo != nullptr && (slo->slo_ttft_s <= 0 || (r.ttft_s >= 0 && r.ttft_s <= slo->slo_ttft_s)) &&
        (slo->slo_tpot_s <= 0 || request_tpot <= slo->slo_tpot_s)) {
      ++within_slo;
    }
    e2e.push_back(r.e2e_s);
  }

  json::object errors_json() const {
    json::object e;
    for (const auto& [kind, n] : errors) e[kind] = n;
    return e;
  }
};

json::object tenant_json(const std::string& name, const Figures& f, double wall) {
  return {{"tenant", name},
          {"requests_ok", f.ok},
          {"requests_failed", f.failed},
          {"generated_tokens", f.generated},
          {"generated_tok_s", wall > 0 ? static_cast<double>(f.generated) / wall : 0.0},
          {"ttft_ms", distribution_ms(f.ttft)},
          {"itl_ms", distribution_ms(f.itl)},
          {"errors", f.errors_json()}};
}

json::array by_turn(const LoadOptions& o, const LoadResult& result) {
  json::array turns;
  for (int t = 1; t <= o.turns; ++t) {
    Figures f;
    for (const auto& r : result.requests) {
      if (r.turn == t) f.add(r);
    }
    const auto per = [&](std::int64_t x) {
      return f.ok > 0 ? static_cast<double>(x) / static_cast<double>(f.ok) : 0.0;
    };
    const json::object ttft = distribution_ms(f.ttft);
    turns.push_back(json::object{{"turn", t},
                                 {"requests_ok", f.ok},
                                 {"requests_failed", f.failed},
                                 {"prompt_tokens_mean", per(f.prompt)},
                                 {"cached_tokens_mean", per(f.cached)},
                                 {"generated_tokens_mean", per(f.generated)},
                                 {"ttft_ms_mean", ttft.at("mean")},
                                 {"ttft_ms_p50", ttft.at("p50")}});
  }
  return turns;
}

json::object load_json(const LoadOptions& o, const ReportInfo& info) {
  json::object load{{"concurrency", o.concurrency},
                    {"conversations", o.duration.count() > 0 ? json::value(nullptr) : json::value(o.conversations)},
                    {"duration_s", o.duration.count() > 0 ? json::value(static_cast<double>(o.duration.count()) / 1e3)
                                                          : json::value(nullptr)},
                    {"turns", o.turns},
                    {"system_prompt_tokens", info.system_prompt_tokens},
                    {"system_prompt_words", info.system_prompt_words},
                    {"user_turn_words", o.user_turn_words},
                    {"max_tokens", o.max_tokens},
                    {"range_ratio", o.range_ratio},
                    {"warmup", info.warmup},
                    {"ignore_eos", o.ignore_eos},
                    {"tenants", o.tenants},
                    {"conversation_rate", o.conversation_rate},
                    {"think_time_ms", o.think_time.count()},
                    {"retries", o.retries},
                    {"seed", o.seed}};
  if (o.temperature >= 0) load["temperature"] = o.temperature;
  return load;
}

}  // namespace

json::object make_report(const LoadOptions& o, const ReportInfo& info, const LoadResult& result) {
  Figures all{.slo = &o};
  std::map<std::string, Figures> tenants;
  for (const auto& r : result.requests) {
    all.add(r);
    if (!r.tenant.empty()) tenants[r.tenant].add(r);
  }
  const double wall = result.wall_s;
  const auto rate = [&](double x) { return wall > 0 ? x / wall : 0.0; };
  json::object report{
      {"url", info.url},
      {"model", o.model},
      {"load", load_json(o, info)},
      {"wall_s", wall},
      {"interrupted", result.interrupted},
      {"conversations",
       json::object{{"started", result.conversations_started}, {"completed", result.conversations_completed}}},
      {"requests", json::object{{"sent", all.ok + all.failed + all.cancelled},
                                {"ok", all.ok},
                                {"failed", all.failed},
                                {"retried", all.retried},
                                {"cancelled", all.cancelled},
                                {"usage_reported", all.usage_reported}}},
      {"tokens", json::object{{"prompt", all.prompt}, {"cached", all.cached}, {"generated", all.generated}}},
      // null when the server never reported cached tokens (usage.prompt_tokens_details.cached_tokens)
      {"cached_prompt_share", all.cached_reported > 0 && all.prompt > 0
                                  ? json::value(static_cast<double>(all.cached) / static_cast<double>(all.prompt))
                                  : json::value(nullptr)},
      {"throughput", json::object{{"generated_tok_s", rate(static_cast<double>(all.generated))},
                                  {"total_tok_s", rate(static_cast<double>(all.generated + all.prompt))},
                                  {"requests_per_s", rate(static_cast<double>(all.ok))}}},
      {"ttft_ms", distribution_ms(all.ttft)},
      {"itl_ms", distribution_ms(all.itl)},
      {"tpot_ms", distribution_ms(all.tpot)},
      {"e2e_ms", distribution_ms(all.e2e)},
      // vLLM's goodput: successful requests within both SLOs (an SLO of 0 always holds), per second
      {"goodput", json::object{{"slo_ttft_ms", 1e3 * o.slo_ttft_s},
                               {"slo_tpot_ms", 1e3 * o.slo_tpot_s},
                               {"requests", all.within_slo},
                               {"requests_per_s", rate(static_cast<double>(all.within_slo))},
                               {"share", all.ok + all.failed > 0 ? static_cast<double>(all.within_slo) /
                                                                       static_cast<double>(all.ok + all.failed)
                                                                 : 0.0}}},
      {"errors", all.errors_json()},
      {"error_examples", json::value_from(all.error_examples)},
      {"by_turn", by_turn(o, result)}};
  json::array by_tenant;
  for (const auto& [name, f] : tenants) by_tenant.push_back(tenant_json(name, f, wall));
  report["by_tenant"] = std::move(by_tenant);
  return report;
}

json::object request_json(const RequestRecord& r) {
  json::array itl;
  for (const double x : r.itl_s) itl.push_back(1e3 * x);
  const auto opt = [](std::int64_t v) { return v >= 0 ? json::value(v) : json::value(nullptr); };
  json::object o{{"conversation", r.conversation},
                 {"turn", r.turn},
                 {"attempt", r.attempt},
                 {"ok", r.ok},
                 {"start_ms", 1e3 * r.start_s},
                 {"ttft_ms", r.ttft_s >= 0 ? json::value(1e3 * r.ttft_s) : json::value(nullptr)},
                 {"e2e_ms", 1e3 * r.e2e_s},
                 {"prompt_tokens", opt(r.prompt_tokens)},
                 {"completion_tokens", opt(r.completion_tokens)},
                 {"cached_tokens", opt(r.cached_tokens)},
                 {"content_chunks", r.content_chunks},
                 {"finish_reason", r.finish_reason},
                 {"http_status", r.http_status},
                 {"itl_ms", std::move(itl)}};
  if (!r.tenant.empty()) o["tenant"] = r.tenant;
  if (!r.ok) {
    o["error"] = r.error;
    o["error_detail"] = r.error_detail;
    o["retried"] = r.retried;
    if (r.retry_after_s >= 0) o["retry_after_s"] = r.retry_after_s;
  }
  return o;
}

namespace {

double num(const json::value& v) {
  return v.is_double() ? v.as_double() : v.is_int64() ? static_cast<double>(v.as_int64()) : 0.0;
}
std::int64_t integer(const json::value& v) {
  return v.is_int64() ? v.as_int64() : v.is_uint64() ? static_cast<std::int64_t>(v.as_uint64()) : 0;
}

std::string dist_row(std::string_view name, const json::value& d) {
  const auto& o = d.as_object();
  return fmt::format("  {:<10}{:>10.1f}{:>10.1f}{:>10.1f}{:>10.1f}{:>10.1f}{:>9}\n", name, num(o.at("mean")),
                     num(o.at("p50")), num(o.at("p90")), num(o.at("p99")), num(o.at("max")), integer(o.at("count")));
}

// The lines above the tables: endpoint, load, counts, tokens, throughput, goodput.
std::string summary_text(const json::object& r) {
  const auto& load = r.at("load").as_object();
  const auto& req = r.at("requests").as_object();
  const auto& tok = r.at("tokens").as_object();
  const auto& conv = r.at("conversations").as_object();
  const auto& tp = r.at("throughput").as_object();
  std::string out;
  out += fmt::format("endpoint      {} (model {})\n", json::value_to<std::string>(r.at("url")),
                     json::value_to<std::string>(r.at("model")));
  const std::string how_many = load.at("duration_s").is_null()
                                   ? fmt::format("{} conversations", integer(load.at("conversations")))
                                   : fmt::format("conversations for {:.0f} s", num(load.at("duration_s")));
  const std::int64_t sp_tokens = integer(load.at("system_prompt_tokens"));
  const std::int64_t sp_words = integer(load.at("system_prompt_words"));
  const std::string system = sp_words == 0   ? std::string("no system prompt")
                             : sp_tokens > 0 ? fmt::format("system prompt ~{} tokens ({} words)", sp_tokens, sp_words)
                                             : fmt::format("system prompt of {} words", sp_words);
  out += fmt::format("load          {} x {} turns, {} at a time, {}, {} words per user turn, max {} tokens\n", how_many,
                     integer(load.at("turns")), integer(load.at("concurrency")), system,
                     integer(load.at("user_turn_words")), integer(load.at("max_tokens")));
  out += fmt::format("run           {:.2f} s{}; conversations {} started, {} completed\n", num(r.at("wall_s")),
                     r.at("interrupted").as_bool() ? " (interrupted)" : "", integer(conv.at("started")),
                     integer(conv.at("completed")));
  out += fmt::format("requests      {} ok, {} failed ({} retried), {} cancelled\n", integer(req.at("ok")),
                     integer(req.at("failed")), integer(req.at("retried")), integer(req.at("cancelled")));
  const json::value& share = r.at("cached_prompt_share");
  out += fmt::format("tokens        {} prompt ({}), {} generated\n", integer(tok.at("prompt")),
                     share.is_null() ? std::string("cached: not reported")
                                     : fmt::format("{} cached: {:.1f}%", integer(tok.at("cached")), 100 * num(share)),
                     integer(tok.at("generated")));
  out += fmt::format("throughput    {:.1f} generated tok/s, {:.1f} total tok/s, {:.2f} requests/s\n",
                     num(tp.at("generated_tok_s")), num(tp.at("total_tok_s")), num(tp.at("requests_per_s")));
  const auto& gp = r.at("goodput").as_object();
  std::string slos;
  if (num(gp.at("slo_ttft_ms")) > 0) slos += fmt::format(" ttft {:g} ms", num(gp.at("slo_ttft_ms")));
  if (num(gp.at("slo_tpot_ms")) > 0)
    slos += fmt::format("{} tpot {:g} ms", slos.empty() ? "" : " and", num(gp.at("slo_tpot_ms")));
  if (!slos.empty()) {
    out += fmt::format("goodput       {:.2f} requests/s within{} ({:.1f}% of requests)\n", num(gp.at("requests_per_s")),
                       slos, 100 * num(gp.at("share")));
  }
  return out;
}

// Latency distributions, then per turn and per tenant.
std::string tables_text(const json::object& r) {
  std::string out;
  out +=
      fmt::format("\n  {:<10}{:>10}{:>10}{:>10}{:>10}{:>10}{:>9}\n", "(ms)", "mean", "p50", "p90", "p99", "max", "n");
  out += dist_row("ttft", r.at("ttft_ms"));
  out += dist_row("itl", r.at("itl_ms"));
  out += dist_row("tpot", r.at("tpot_ms"));
  out += dist_row("e2e", r.at("e2e_ms"));
  out += fmt::format("\n  {:<6}{:>8}{:>8}{:>14}{:>14}{:>14}\n", "turn", "ok", "failed", "prompt tok", "cached tok",
                     "ttft p50 ms");
  for (const auto& t : r.at("by_turn").as_array()) {
    const auto& o = t.as_object();
    out += fmt::format("  {:<6}{:>8}{:>8}{:>14.1f}{:>14.1f}{:>14.1f}\n", integer(o.at("turn")),
                       integer(o.at("requests_ok")), integer(o.at("requests_failed")), num(o.at("prompt_tokens_mean")),
                       num(o.at("cached_tokens_mean")), num(o.at("ttft_ms_p50")));
  }
  const auto& tenants = r.at("by_tenant").as_array();
  if (!tenants.empty()) {
    out += fmt::format("\n  {:<16}{:>8}{:>8}{:>12}{:>14}{:>14}{:>14}\n", "tenant", "ok", "failed", "gen tok/s",
                       "ttft p50 ms", "ttft p99 ms", "itl p99 ms");
    for (const auto& t : tenants) {
      const auto& o = t.as_object();
      out += fmt::format("  {:<16}{:>8}{:>8}{:>12.1f}{:>14.1f}{:>14.1f}{:>14.1f}\n",
                         json::value_to<std::string>(o.at("tenant")), integer(o.at("requests_ok")),
                         integer(o.at("requests_failed")), num(o.at("generated_tok_s")), num(o.at("ttft_ms").at("p50")),
                         num(o.at("ttft_ms").at("p99")), num(o.at("itl_ms").at("p99")));
    }
  }
  return out;
}

std::string errors_text(const json::object& r) {
  std::string out;
  out += "\nerrors        ";
  const auto& errors = r.at("errors").as_object();
  if (errors.empty()) out += "none";
  bool first = true;
  for (const auto& [kind, n] : errors) {
    out += fmt::format("{}{}: {}", first ? "" : ", ", std::string_view(kind), integer(n));
    first = false;
  }
  out += "\n";
  for (const auto& [kind, detail] : r.at("error_examples").as_object()) {
    if (!detail.as_string().empty())
      out += fmt::format("  {}: {}\n", std::string_view(kind), std::string_view(detail.as_string()));
  }
  return out;
}

}  // namespace

std::string format_report(const json::object& r) {
  return summary_text(r) + tables_text(r) + errors_text(r);
}

}  // namespace parley::cli::bench_http
