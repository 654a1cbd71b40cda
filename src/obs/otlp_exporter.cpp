#include "obs/otlp_exporter.h"

#include <boost/json.hpp>

#include "base/log.h"
#include "net/http_client.h"
#include "net/url.h"

namespace parley {
namespace {

namespace json = boost::json;

json::object string_attribute(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", json::object{{"stringValue", value}}}};
}

json::object span_json(const SpanRecord& s) {
  json::array attributes;
  for (const auto& [k, v] : s.attributes) attributes.push_back(string_attribute(k, v));
  for (const auto& [k, v] : s.int_attributes) {
    // OTLP JSON: 64-bit integers as decimal strings.
    attributes.push_back(json::object{{"key", k}, {"value", json::object{{"intValue", std::to_string(v)}}}});
  }
  json::object o{{"traceId", to_hex(s.context.trace_id)},
                 {"spanId", to_hex(s.context.span_id)},
                 {"name", s.name},
                 {"kind", static_cast<int>(s.kind)},
                 {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
                 {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
                 {"attributes", std::move(attributes)}};
  if (s.parent_span_id != SpanId{}) o["parentSpanId"] = to_hex(s.parent_span_id);
  // Status codes: 0 unset, 2 error.
  o["status"] = s.error ? json::object{{"code", 2}, {"message", s.status_message}} : json::object{{"code", 0}};
  return o;
}

}  // namespace

std::string otlp_traces_json(const std::vector<SpanRecord>& spans, const std::string& service_name) {
  json::array out;
  for (const SpanRecord& s : spans) out.push_back(span_json(s));
  json::object resource{{"attributes", json::array{string_attribute("service.name", service_name)}}};
  json::object scope_spans{{"scope", json::object{{"name", "parley"}}}, {"spans", std::move(out)}};
  json::object resource_spans{{"resource", std::move(resource)}, {"scopeSpans", json::array{std::move(scope_spans)}}};
  return json::serialize(json::object{{"resourceSpans", json::array{std::move(resource_spans)}}});
}

Result<std::unique_ptr<OtlpHttpExporter>> OtlpHttpExporter::create(OtlpExporterOptions options) {
  ASSIGN_OR_RETURN(Url url, parse_url(options.endpoint));
  if (url.scheme != "http") {
    return invalid_argument_error("the OTLP endpoint must be an http:// URL (put TLS in a collector beside it)");
  }
  std::string base = options.endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::unique_ptr<OtlpHttpExporter> e(new OtlpHttpExporter(std::move(options)));
  e->url_ = base + "/v1/traces";
  return e;
}

bool OtlpHttpExporter::export_batch(const std::vector<SpanRecord>& spans) {
  HttpClientRequest req;
  req.method = "POST";
  req.url = url_;
  req.headers = options_.headers;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = otlp_traces_json(spans, options_.service_name);
  req.timeout = options_.timeout;
  req.max_body_bytes = 1 << 20;
  HttpClient client;
  Result<HttpResponse> r = client.request(req);
  const bool ok = r.ok() && r->status >= 200 && r->status < 300;
  if (!ok && !warned_) {
    log_warn("traces: export to {} failed ({}); spans are dropped until it works", url_,
             r.ok() ? "HTTP " + std::to_string(r->status) : r.status().to_string());
  } else if (ok && warned_) {
    log_info("traces: export to {} works again", url_);
  }
  warned_ = !ok;
  return ok;
}

}  // namespace parley
