// OtlpHttpExporter: sends spans to an OpenTelemetry collector over OTLP/HTTP with the JSON
// encoding (POST {endpoint}/v1/traces, Content-Type: application/json; trace and span ids as
// hex strings, as the OTLP JSON mapping requires). Any collector, Jaeger or Tempo with an OTLP
// HTTP receiver (port 4318 by convention) takes it.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "obs/trace.h"

namespace parley {

struct OtlpExporterOptions {
  std::string endpoint;  // http://host:port (the collector's OTLP/HTTP receiver); /v1/traces is added
  std::string service_name = "parley";
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. an Authorization for the collector
  std::chrono::milliseconds timeout{5000};
};

// The request body for `spans` (one resource, one scope).
std::string otlp_traces_json(const std::vector<SpanRecord>& spans, const std::string& service_name);

class OtlpHttpExporter final : public SpanExporter {
 public:
  // kInvalidArgument: not an http:// URL.
  static Result<std::unique_ptr<OtlpHttpExporter>> create(OtlpExporterOptions options);
  bool export_batch(const std::vector<SpanRecord>& spans) override;

 private:
  explicit OtlpHttpExporter(OtlpExporterOptions options) : options_(std::move(options)) {}
  OtlpExporterOptions options_;
  std::string url_;
  bool warned_ = false;  // one log line per failure streak
};

}  // namespace parley
