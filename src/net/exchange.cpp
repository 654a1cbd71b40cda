#include "net/exchange.h"

#include <exception>

#include "base/log.h"

namespace parley::net_detail {

bool Exchange::post(std::function<void(ResponseSink&)> fn) {
  std::lock_guard<std::mutex> lock(mu_);
  // Declared after the lock, so the strong reference dies before the lock is released (see the
  // header: detach() must be able to rely on no reference escaping).
  std::shared_ptr<ResponseSink> sink = sink_.lock();
  if (!sink) return false;
  sink->post([sink, fn = std::move(fn)] { fn(*sink); });
  return true;
}

void Exchange::detach() {
  std::lock_guard<std::mutex> lock(mu_);
  sink_.reset();
}

void Exchange::mark_disconnected() {
  if (complete) return;  // the client got (or is getting) the whole response
  disconnected.store(true);
  // Even if respond()/finish() was just called and is on its way here: a spurious callback
  // cancels nothing, a missing one could leave work running for nobody.
  fire_callback();
}

void Exchange::set_disconnect_callback(std::function<void()> callback) {
  if (complete) return;
  callback_ = std::move(callback);
  // Gone already (possibly after an earlier callback ran): this one runs now.
  if (disconnected.load()) fire_callback();
}

void Exchange::fire_callback() {
  if (!callback_) return;  // moved out below: each registered callback runs at most once
  std::function<void()> callback = std::move(callback_);
  callback_ = nullptr;
  try {
    callback();
  } catch (const std::exception& e) {
    log_error("http: on_disconnect callback threw: {}", e.what());
  } catch (...) {
    log_error("http: on_disconnect callback threw");
  }
}

ResponderImpl::~ResponderImpl() {
  fail("the handler released its responder without finishing the response");
}

void ResponderImpl::respond(int status, HttpHeaders headers, std::string body) {
  int expected = Exchange::kNone;
  if (!x_->stage.compare_exchange_strong(expected, Exchange::kDone)) {
    log_error("http: respond() after the response was already started");
    return;
  }
  x_->post([x = x_, status, headers = std::move(headers), body = std::move(body)](ResponseSink& sink) mutable {
    sink.send_response(*x, status, std::move(headers), std::move(body));
  });
}

void ResponderImpl::start_stream(int status, HttpHeaders headers) {
  int expected = Exchange::kNone;
  if (!x_->stage.compare_exchange_strong(expected, Exchange::kStreaming)) {
    log_error("http: start_stream() after the response was already started");
    return;
  }
  x_->post([x = x_, status, headers = std::move(headers)](ResponseSink& sink) mutable {
    sink.start_stream(*x, status, std::move(headers));
  });
}

bool ResponderImpl::write(std::string chunk) {
  if (x_->stage.load() != Exchange::kStreaming || x_->disconnected.load()) return false;
  if (chunk.empty()) return true;
  const std::size_t counted = chunk.size();
  const std::size_t queued = x_->queued_bytes.fetch_add(counted) + counted;
  if (queued > x_->max_queued_bytes) {
    // Flag it here, so that this writer stops at once; the connection cuts the client.
    x_->disconnected.store(true);
    x_->post([x = x_](ResponseSink& sink) { sink.drop_slow_reader(*x); });
    return false;
  }
  const bool posted = x_->post([x = x_, chunk = std::move(chunk), counted](ResponseSink& sink) mutable {
    sink.write_chunk(*x, std::move(chunk), counted);
  });
  if (!posted) {
    x_->queued_bytes.fetch_sub(counted);
    return false;
  }
  return true;
}

void ResponderImpl::finish() {
  int expected = Exchange::kStreaming;
  if (!x_->stage.compare_exchange_strong(expected, Exchange::kDone)) {
    if (expected != Exchange::kDone) log_error("http: finish() without start_stream()");
    return;
  }
  x_->post([x = x_](ResponseSink& sink) { sink.finish_stream(*x); });
}

bool ResponderImpl::disconnected() const {
  return x_->disconnected.load();
}

void ResponderImpl::on_disconnect(std::function<void()> callback) {
  if (!callback) return;
  const bool posted =
      x_->post([x = x_, callback](ResponseSink&) mutable { x->set_disconnect_callback(std::move(callback)); });
  // The connection is gone. If the response never got finished, the client never saw it whole.
  if (!posted && x_->stage.load() != Exchange::kDone) {
    x_->disconnected.store(true);
    callback();
  }
}

void ResponderImpl::fail(std::string why) {
  int stage = x_->stage.load();
  while (stage != Exchange::kDone) {
    if (x_->stage.compare_exchange_weak(stage, Exchange::kDone)) {
      x_->post([x = x_, why = std::move(why)](ResponseSink& sink) mutable { sink.fail_response(*x, std::move(why)); });
      return;
    }
  }
}

}  // namespace parley::net_detail
