// Connection, its second half: what a handler's responder does (a whole response, or a stream
// of chunks), and the outbox that writes it; server_connection.cpp reads and admits requests and
// closes connections. Same threading rules (server_connection.h).
#include <boost/asio/write.hpp>
#include <utility>

#include "base/log.h"
#include "net/http_wire.h"
#include "net/server_connection.h"

namespace parley::net_detail {

namespace {

// Pieces queued together below this size are joined into one write (one TLS record).
constexpr std::size_t kJoinLimit = 64 * 1024;

}  // namespace

// ---- the responder's operations ----

void Connection::send_response(Exchange& x, int status, HttpHeaders headers, std::string body) {
  if (!is_current(x) || x.head_sent) return;
  if (status < 200 || status > 999) {
    log_error("http: {}: handler responded with invalid status {}", request_line_, status);
    fail_response(x, "invalid status");
    return;
  }
  x.head_sent = true;
  x.complete = true;
  if (wants_close(headers) || core_.draining.load()) keep_alive_ = false;
  const bool no_body = head_request_ || status_has_no_body(status);
  std::string bytes = format_response_head({.status = status,
                                            .headers = &headers,
                                            .framing = BodyFraming::kContentLength,
                                            .content_length = body.size(),
                                            .close = !keep_alive_,
                                            .keep_alive_header = keep_alive_ && http10_});
  if (no_body || body.empty()) {
    queue_write(std::move(bytes));
  } else if (body.size() <= kJoinLimit) {
    bytes += body;
    queue_write(std::move(bytes));
  } else {
    queue_write(std::move(bytes));
    queue_write(std::move(body));
  }
}

void Connection::start_stream(Exchange& x, int status, HttpHeaders headers) {
  if (!is_current(x) || x.head_sent) return;
  if (status < 200 || status > 999) {
    log_error("http: {}: handler started a stream with invalid status {}", request_line_, status);
    fail_response(x, "invalid status");
    return;
  }
  x.head_sent = true;
  if (wants_close(headers) || core_.draining.load()) keep_alive_ = false;
  suppress_body_ = head_request_ || status_has_no_body(status);
  BodyFraming framing = BodyFraming::kChunked;
  if (status_has_no_body(status)) {
    framing = BodyFraming::kContentLength;
  } else if (http10_) {
    framing = BodyFraming::kUntilClose;  // HTTP/1.0 has no chunked encoding
    keep_alive_ = false;
  }
  chunked_ = framing == BodyFraming::kChunked;
  queue_write(format_response_head({.status = status,
                                    .headers = &headers,
                                    .framing = framing,
                                    .content_length = 0,
                                    .close = !keep_alive_,
                                    .keep_alive_header = keep_alive_ && http10_}));
}

void Connection::write_chunk(Exchange& x, std::string chunk, std::size_t counted) {
  if (!is_current(x) || !x.head_sent || x.complete || suppress_body_) {
    x.queued_bytes.fetch_sub(counted);
    return;
  }
  queue_write(chunked_ ? format_chunk(chunk) : std::move(chunk), counted);
}

void Connection::finish_stream(Exchange& x) {
  if (!is_current(x) || !x.head_sent || x.complete) return;
  x.complete = true;
  if (chunked_ && !suppress_body_) {
    queue_write(std::string(kLastChunk));
  } else if (!writing_) {
    flush();
  }
}

void Connection::fail_response(Exchange& x, std::string why) {
  if (!is_current(x) || x.complete) return;
  if (!x.head_sent) {
    log_error("http: {}: {}; answering 500", request_line_, why);
    x.head_sent = true;
    x.complete = true;
    keep_alive_ = false;
    queue_write(format_error_response(500, "internal server error", {}, head_request_));
    return;
  }
  log_error("http: {}: {}; cutting the stream", request_line_, why);
  x.complete = true;  // the handler is done with it: no on_disconnect
  abort_after_flush_ = true;
  if (!writing_) flush();
}

void Connection::drop_slow_reader(Exchange& x) {
  if (!is_current(x)) return;
  log_warn("http: {} reads {} too slowly (over {} bytes queued); disconnecting", remote_address_, request_line_,
           x.max_queued_bytes);
  close_now();
}

// ---- writing ----

void Connection::queue_write(std::string data, std::size_t counted) {
  if (phase_ == Phase::kClosed) return;
  outbox_.push_back({std::move(data), counted});
  if (!writing_) flush();
}

void Connection::flush() {
  if (outbox_.empty()) {
    on_outbox_drained();
    return;
  }
  writing_ = true;
  in_flight_.swap(outbox_);
  std::size_t total = 0;
  for (const Pending& p : in_flight_) total += p.data.size();
  if (in_flight_.size() > 1 && total <= kJoinLimit) {
    Pending joined;
    joined.data.reserve(total);
    for (Pending& p : in_flight_) {
      joined.data += p.data;
      joined.counted += p.counted;
    }
    in_flight_.clear();
    in_flight_.push_back(std::move(joined));
  }
  buffers_.clear();
  for (const Pending& p : in_flight_) buffers_.push_back(asio::buffer(p.data));

  const std::uint64_t gen = ++write_timer_gen_;
  write_timer_.expires_after(options().write_timeout);
  write_timer_.async_wait([self = shared_from_this(), gen](const beast::error_code& ec) {
    if (ec || gen != self->write_timer_gen_ || self->phase_ == Phase::kClosed) return;
    log_debug("http: write to {} timed out", self->remote_address_);
    self->close_now();
  });
  auto handler = [self = shared_from_this()](const beast::error_code& ec, std::size_t) { self->on_written(ec); };
  if (tls_) {
    asio::async_write(*tls_, buffers_, std::move(handler));
  } else {
    asio::async_write(*plain_, buffers_, std::move(handler));
  }
}

void Connection::on_written(const beast::error_code& ec) {
  writing_ = false;
  ++write_timer_gen_;
  write_timer_.cancel();
  std::size_t counted = 0;
  for (const Pending& p : in_flight_) counted += p.counted;
  if (counted > 0 && exchange_) exchange_->queued_bytes.fetch_sub(counted);
  in_flight_.clear();
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    log_debug("http: write to {} failed: {}", remote_address_, ec.message());
    close_now();
    return;
  }
  flush();
}

void Connection::on_outbox_drained() {
  if (abort_after_flush_) {
    close_now();  // no terminating chunk: the client must see the body as truncated
    return;
  }
  if (phase_ == Phase::kResponding) {
    if (exchange_ && exchange_->complete) finish_exchange();
  } else if (phase_ == Phase::kClosing && close_after_flush_) {
    begin_shutdown();
  }
}

void Connection::finish_exchange() {
  exchange_->detach();
  exchange_.reset();
  chunked_ = false;
  suppress_body_ = false;
  request_line_.clear();
  if (!keep_alive_ || core_.draining.load()) {
    phase_ = Phase::kClosing;
    close_after_flush_ = true;
    begin_shutdown();
    return;
  }
  phase_ = Phase::kIdle;
  first_request_ = false;
  new_parser();
  arm_read_timer(options().keep_alive_idle_timeout);
  parse_input();  // a pipelined request may be waiting already
  start_read();
}

}  // namespace parley::net_detail
