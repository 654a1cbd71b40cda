// EngineClient: how the gateway and the router talk to an inference engine, in process or
// remote. submit() either accepts a request (its events then arrive at the sink) or rejects it at
// once (queue full: kResourceExhausted; too long for the context: kInvalidArgument), so the API
// can answer 429/400 without waiting.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <memory>

#include "base/result.h"
#include "engine/engine_stats.h"
#include "engine/request.h"

namespace parley {

class EngineClient {
 public:
  virtual ~EngineClient() = default;
  virtual Result<RequestId> submit(GenerateRequest request, std::shared_ptr<RequestSink> sink) = 0;
  // Stops the request within one step and frees its KV blocks; its sink gets a kCancelled finish.
  // Unknown or finished ids are ignored.
  virtual void cancel(RequestId id) = 0;
  virtual EngineStats stats() const = 0;
};

}  // namespace parley
