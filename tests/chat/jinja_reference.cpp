#include "jinja_reference.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/json.h"

#ifndef PARLEY_CHAT_TEST_DIR
#error "PARLEY_CHAT_TEST_DIR must name tests/chat"
#endif

namespace parley::chat::testing {
namespace {

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::tm fixed_now() {
  std::tm tm{};
  tm.tm_year = 2024 - 1900;
  tm.tm_mon = 8;
  tm.tm_mday = 3;
  tm.tm_hour = 10;
  tm.tm_min = 30;
  // Fill in the weekday and day of the year.
  const std::time_t t = timegm(&tm);
  gmtime_r(&t, &tm);
  return tm;
}

std::optional<ReferenceRun> run_jinja_reference(const std::vector<ReferenceCase>& cases, std::string* why) {
  JsonFormat ascii;
  ascii.ensure_ascii = true;
  std::string request = R"({"now": "2024-09-03T10:30:00", "cases": [)";
  for (std::size_t i = 0; i < cases.size(); ++i) {
    if (i > 0) request += ", ";
    Dict context;
    for (const auto& [k, v] : cases[i].context) context.set(Value(k), v);
    auto source_json = to_json(Value(cases[i].source), ascii);
    auto context_json = to_json(Value::dict(std::move(context)), ascii);
    if (!source_json.ok() || !context_json.ok()) {
      *why = "case " + std::to_string(i) + " is not JSON-serialisable";
      return std::nullopt;
    }
    request += R"({"template": )" + *source_json + R"(, "context": )" + *context_json + "}";
  }
  request += "]}";

  static std::atomic<int> counter{0};
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("parley_jinja_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
                               .string();
  const std::string out_path = base + ".out";
  const std::string err_path = base + ".err";
  const std::string script = std::string(PARLEY_CHAT_TEST_DIR) + "/jinja_reference.py";
  const std::string command =
      "python3 " + shell_quote(script) + " > " + shell_quote(out_path) + " 2> " + shell_quote(err_path);
  FILE* pipe = popen(command.c_str(), "w");
  if (pipe == nullptr) {
    *why = "cannot start python3";
    return std::nullopt;
  }
  const bool wrote = std::fwrite(request.data(), 1, request.size(), pipe) == request.size();
  const int status = pclose(pipe);
  const std::string answer = read_all(out_path);
  const std::string errors = read_all(err_path);
  std::filesystem::remove(out_path);
  std::filesystem::remove(err_path);
  if (!wrote || status != 0) {
    *why = "python3 jinja_reference.py failed (is python3-jinja2 installed?): " + errors.substr(0, 2000);
    return std::nullopt;
  }
  auto parsed = value_from_json(answer);
  if (!parsed.ok() || !parsed->is_dict()) {
    *why = "unreadable answer from jinja_reference.py: " + parsed.status().to_string();
    return std::nullopt;
  }
  ReferenceRun run;
  if (const Value* v = parsed->dict().find("jinja2"); v != nullptr && v->is_string()) run.jinja2_version = v->str();
  const Value* results = parsed->dict().find("results");
  if (results == nullptr || !results->is_list() || results->items().size() != cases.size()) {
    *why = "jinja_reference.py answered the wrong number of results";
    return std::nullopt;
  }
  for (const Value& r : results->items()) {
    ReferenceResult out;
    const Value* ok = r.dict().find("ok");
    out.ok = ok != nullptr && ok->truthy();
    if (const Value* o = r.dict().find(out.ok ? "output" : "error"); o != nullptr && o->is_string()) {
      (out.ok ? out.output : out.error) = o->str();
    }
    run.results.push_back(std::move(out));
  }
  return run;
}

}  // namespace parley::chat::testing
