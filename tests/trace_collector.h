// A SpanExporter for tests: keeps every exported span; find() looks one up by name.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "obs/trace.h"

namespace parley::testing {

class SpanCollector {
 public:
  // A tracer that exports into this collector (which must outlive it).
  std::shared_ptr<Tracer> tracer(TracerOptions options = {}) {
    return Tracer::create(std::move(options), std::make_unique<Exporter>(this));
  }
  std::vector<SpanRecord> spans() const {
    std::lock_guard lock(mu_);
    return spans_;
  }
  std::vector<SpanRecord> named(std::string_view name) const {
    std::vector<SpanRecord> out;
    for (const SpanRecord& s : spans()) {
      if (s.name == name) out.push_back(s);
    }
    return out;
  }
  std::optional<SpanRecord> find(std::string_view name) const {
    auto all = named(name);
    if (all.empty()) return std::nullopt;
    return all.front();
  }

 private:
  struct Exporter final : SpanExporter {
    explicit Exporter(SpanCollector* c) : c(c) {}
    bool export_batch(const std::vector<SpanRecord>& batch) override {
      std::lock_guard lock(c->mu_);
      c->spans_.insert(c->spans_.end(), batch.begin(), batch.end());
      return true;
    }
    SpanCollector* c;
  };
  mutable std::mutex mu_;
  std::vector<SpanRecord> spans_;
};

}  // namespace parley::testing
