#include "net/server_connection.h"

#include <boost/asio/post.hpp>
#include <boost/beast/http/error.hpp>
#include <exception>
#include <utility>

#include "base/log.h"
#include "net/http_wire.h"
#include "net/url.h"

namespace parley::net_detail {

namespace {

// After our last byte we wait this long for the peer to close, reading and discarding: closing
// with unread input makes the kernel send RST, which can destroy the response in flight (a 413
// sent while the client is still uploading would be lost).
constexpr std::chrono::milliseconds kLingerTimeout{2000};
constexpr std::size_t kLingerMaxBytes = 1024 * 1024;
// A refused body that was declared is drained whole (within kLingerTimeout) up to this much.
constexpr std::uint64_t kLingerMaxDeclaredBytes = 256ull * 1024 * 1024;
constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";

std::string to_string(beast::string_view s) {
  return std::string(s.data(), s.size());
}

// Origin-form "/p%20ath?q" (or absolute-form "http://host/p?q", or "*") -> decoded path, raw query.
Status split_target(std::string_view target, std::string* path, std::string* query) {
  if (target == "*") {
    *path = "*";
    query->clear();
    return ok_status();
  }
  if (const std::size_t scheme = target.find("://"); scheme != std::string_view::npos && target.front() != '/') {
    const std::size_t start = target.find_first_of("/?", scheme + 3);
    target = start == std::string_view::npos ? std::string_view("/") : target.substr(start);
  }
  if (target.empty()) return invalid_argument_error("empty request target");
  if (target.front() == '?') return invalid_argument_error("request target has no path");
  if (target.front() != '/') return invalid_argument_error("request target must start with '/'");
  const std::size_t q = target.find('?');
  ASSIGN_OR_RETURN(*path, percent_decode(target.substr(0, q)));
  *query = q == std::string_view::npos ? std::string() : std::string(target.substr(q + 1));
  return ok_status();
}

// Splits a field value on commas into trimmed, lower-cased list elements.
std::vector<std::string> list_elements(std::string_view value) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= value.size()) {
    const std::size_t comma = std::min(value.find(',', start), value.size());
    std::string_view e = value.substr(start, comma - start);
    while (!e.empty() && (e.front() == ' ' || e.front() == '\t')) e.remove_prefix(1);
    while (!e.empty() && (e.back() == ' ' || e.back() == '\t')) e.remove_suffix(1);
    std::string lower(e);
    for (char& c : lower) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    out.push_back(std::move(lower));
    start = comma + 1;
  }
  return out;
}

class HeadDecisionImpl final : public HeadDecision {
 public:
  explicit HeadDecisionImpl(std::shared_ptr<AdmissionLink> link) : link_(std::move(link)) {}
  ~HeadDecisionImpl() override {
    if (decided_.exchange(true)) return;
    deliver([](Connection& c, const AdmissionLink* l) {
      c.refuse(l, 500, {{"Content-Type", "application/json"}},
               error_body_json(500, "the server could not decide about the request"));
    });
  }

  void admit(std::size_t max_body_bytes, std::any context) override {
    if (decided_.exchange(true)) return;
    deliver([max_body_bytes, context = std::move(context)](Connection& c, const AdmissionLink* l) mutable {
      c.admit(l, max_body_bytes, std::move(context));
    });
  }

  void refuse(int status, HttpHeaders headers, std::string body) override {
    if (decided_.exchange(true)) return;
    deliver(
        [status, headers = std::move(headers), body = std::move(body)](Connection& c, const AdmissionLink* l) mutable {
          c.refuse(l, status, std::move(headers), std::move(body));
        });
  }

 private:
  template <typename Fn>
  void deliver(Fn fn) {
    // Under the link's mutex: a connection still linked has not closed, so its loop is alive.
    std::lock_guard<std::mutex> lock(link_->mu);
    std::shared_ptr<Connection> c = link_->connection.lock();
    if (!c) return;
    auto shared_fn = std::make_shared<Fn>(std::move(fn));
    c->post([c, link = link_, shared_fn] { (*shared_fn)(*c, link.get()); });
  }

  std::shared_ptr<AdmissionLink> link_;
  std::atomic<bool> decided_{false};
};

}  // namespace

// ---- ServerCore ----

ServerCore::BodyRoom ServerCore::reserve_body(const std::string& address, std::size_t n) {
  std::lock_guard<std::mutex> lock(body_mu);
  std::size_t& mine = body_bytes_by_address[address];
  if (mine + n > options.max_body_bytes_per_address) {
    if (mine == 0) body_bytes_by_address.erase(address);
    return BodyRoom::kAddressFull;
  }
  if (body_bytes + n > options.max_body_bytes_in_flight) {
    if (mine == 0) body_bytes_by_address.erase(address);
    return BodyRoom::kServerFull;
  }
  mine += n;
  body_bytes += n;
  return BodyRoom::kOk;
}

void ServerCore::release_body(const std::string& address, std::size_t n) {
  std::lock_guard<std::mutex> lock(body_mu);
  body_bytes -= n;
  const auto it = body_bytes_by_address.find(address);
  if (it == body_bytes_by_address.end()) return;
  it->second -= n;
  if (it->second == 0) body_bytes_by_address.erase(it);
}

void ServerCore::add(const std::shared_ptr<Connection>& c) {
  std::lock_guard<std::mutex> lock(mu);
  connections.emplace(c.get(), c);
}

void ServerCore::begin_lingering() {
  {
    std::lock_guard<std::mutex> lock(mu);
    ++lingering;
  }
  changed.notify_all();
}

void ServerCore::remove(Connection* c, bool was_lingering) {
  std::shared_ptr<Connection> last;  // released outside the lock
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = connections.find(c);
    if (it == connections.end()) return;
    last = std::move(it->second);
    connections.erase(it);
    if (was_lingering) --lingering;
  }
  changed.notify_all();
}

std::vector<std::shared_ptr<Connection>> ServerCore::snapshot() {
  std::lock_guard<std::mutex> lock(mu);
  std::vector<std::shared_ptr<Connection>> out;
  out.reserve(connections.size());
  for (const auto& [ptr, c] : connections) out.push_back(c);
  return out;
}

// ---- lifetime ----

Connection::Connection(ServerCore& core, tcp::socket socket, bool counted)
    : core_(core),
      counted_(counted),
      executor_(socket.get_executor()),
      read_timer_(executor_),
      write_timer_(executor_) {
  if (core_.tls) {
    tls_.emplace(std::move(socket), *core_.tls);
  } else {
    plain_.emplace(std::move(socket));
  }
}

Connection::~Connection() {
  // Only reached without close_now() when the event loops are torn down with work queued.
  if (exchange_) {
    exchange_->mark_disconnected();
    exchange_->detach();
  }
}

tcp::socket& Connection::socket() {
  return tls_ ? tls_->next_layer() : *plain_;
}

void Connection::post(std::function<void()> fn) {
  asio::post(executor_, std::move(fn));
}

void Connection::start() {
  asio::post(executor_, [self = shared_from_this()] { self->begin(); });
}

void Connection::drain() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->phase_ == Phase::kHandshake || (self->phase_ == Phase::kIdle && self->input_.size() == 0)) {
      self->close_now();
    } else {
      self->keep_alive_ = false;  // the request or response in progress is the last one
    }
  });
}

void Connection::abort() {
  asio::post(executor_, [self = shared_from_this()] { self->close_now(); });
}

// ---- reading ----

void Connection::begin() {
  if (phase_ == Phase::kClosed) return;
  beast::error_code ec;
  socket().set_option(tcp::no_delay(true), ec);  // SSE events must not wait for Nagle
  const tcp::endpoint peer = socket().remote_endpoint(ec);
  if (!ec) remote_address_ = peer.address().to_string();
  if (tls_) {
    phase_ = Phase::kHandshake;
    arm_read_timer(options().header_timeout);
    tls_->async_handshake(asio::ssl::stream_base::server,
                          [self = shared_from_this()](const beast::error_code& e) { self->on_handshake(e); });
    return;
  }
  begin_requests();
}

void Connection::on_handshake(const beast::error_code& ec) {
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    log_debug("http: TLS handshake with {} failed: {}", remote_address_, ec.message());
    close_now();
    return;
  }
  begin_requests();
}

void Connection::begin_requests() {
  phase_ = Phase::kIdle;
  if (!counted_) {
    reject(503, "the server is at its connection limit; retry later", {{"Retry-After", "1"}});
    start_read();
    return;
  }
  new_parser();
  arm_read_timer(options().header_timeout);  // the first request's head counts from accept
  start_read();
}

void Connection::new_parser() {
  parser_.emplace();
  expect_continue_ = false;
  parser_->header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(options().max_header_bytes, UINT32_MAX)));
  // No body limit yet: begin_body() checks a declared length against the route's limit once the
  // head is complete (the parser stops there), so a refusal knows how much body is coming and can
  // drain it (linger_for_body); chunked bodies get their limit there too.
  parser_->body_limit(boost::none);
}

void Connection::start_read() {
  if (reading_ || phase_ == Phase::kClosed || phase_ == Phase::kHandshake) return;
  // While a response is pending, input is only buffered; past a bound the client has to wait.
  if ((phase_ == Phase::kResponding || phase_ == Phase::kAdmitting) && input_.size() >= options().max_header_bytes) {
    return;
  }
  reading_ = true;
  auto handler = [self = shared_from_this()](const beast::error_code& ec, std::size_t n) { self->on_read(ec, n); };
  const auto buffer = asio::buffer(read_buffer_);
  if (tls_) {
    tls_->async_read_some(buffer, std::move(handler));
  } else {
    plain_->async_read_some(buffer, std::move(handler));
  }
}

void Connection::on_read(const beast::error_code& ec, std::size_t n) {
  reading_ = false;
  if (phase_ == Phase::kClosed) return;
  if (ec) {
    if (phase_ == Phase::kResponding && exchange_ && !exchange_->complete) {
      log_debug("http: {} went away during {}: {}", remote_address_, request_line_, ec.message());
    }
    close_now();
    return;
  }
  if (phase_ == Phase::kClosing) {
    discarded_ += n;
    if (discarded_ > linger_max_bytes_) {
      close_now();
      return;
    }
    start_read();
    return;
  }
  input_.commit(asio::buffer_copy(input_.prepare(n), asio::buffer(read_buffer_.data(), n)));
  switch (phase_) {
    case Phase::kIdle:
    case Phase::kHeader:
    case Phase::kBody:
      parse_input();
      break;
    default:
      break;  // kAdmitting: the body waits; kResponding: the next pipelined request does
  }
  start_read();
}

void Connection::parse_input() {
  while (phase_ == Phase::kIdle || phase_ == Phase::kHeader || phase_ == Phase::kBody) {
    if (input_.size() == 0) return;
    if (phase_ == Phase::kIdle) {
      phase_ = Phase::kHeader;
      if (!first_request_) arm_read_timer(options().header_timeout);
    }
    beast::error_code ec;
    const std::size_t used = parser_->put(input_.data(), ec);
    input_.consume(used);
    if (ec == http::error::need_more) return;
    if (ec == http::error::header_limit) {
      reject(431, fmt::format("request header fields larger than {} bytes", options().max_header_bytes));
      return;
    }
    if (ec == http::error::body_limit) {
      reject(413, fmt::format("request body larger than {} bytes", options().max_body_bytes));
      return;
    }
    if (ec) {
      reject(400, fmt::format("malformed HTTP request: {}", ec.message()));
      return;
    }
    if (phase_ == Phase::kHeader && parser_->is_header_done()) {
      if (!on_header_done()) return;
      if (core_.head_handler) {
        ask_head_handler();
        return;
      }
      if (!begin_body(options().max_body_bytes)) return;
    }
    // Chunked bodies count as they arrive (declared lengths were counted by begin_body).
    if (!reserve_body(parser_->get().body().size())) return;
    if (parser_->is_done()) {
      dispatch();
      return;
    }
    if (used == 0) return;
  }
}

bool Connection::on_header_done() {
  const auto& req = parser_->get();
  request_line_ = to_string(req.method_string()) + " " + to_string(req.target());
  if (req.version() != 10 && req.version() != 11) {
    reject(505, "only HTTP/1.0 and HTTP/1.1 are supported");
    return false;
  }
  if (req.version() == 11 && req.find(http::field::host) == req.end()) {
    reject(400, "missing Host header");
    return false;
  }
  if (Status s = split_target(std::string_view(req.target().data(), req.target().size()), &path_, &query_); !s.ok()) {
    reject(400, fmt::format("bad request target: {}", s.message()));
    return false;
  }
  if (std::string why; const int status = bad_transfer_encoding(&why)) {
    reject(status, why);
    return false;
  }
  const auto expect = req[http::field::expect];
  if (!expect.empty()) {
    if (!iequals(std::string_view(expect.data(), expect.size()), "100-continue")) {
      reject(417, "only 'Expect: 100-continue' is supported");
      return false;
    }
    // The client holds the body back until it hears from us (begin_body, once it is wanted).
    expect_continue_ = req.version() == 11 && !parser_->is_done();
  }
  return true;
}

int Connection::bad_transfer_encoding(std::string* why) const {
  // RFC 9112 6.1 and 6.3: a request body's length is known only when "chunked" is the final
  // coding; anything else could make the server read the body as another request (smuggling).
  std::string value;
  for (const auto& field : parser_->get()) {
    if (field.name() != http::field::transfer_encoding) continue;
    if (!value.empty()) value += ',';
    value += to_string(field.value());
  }
  if (value.empty()) return 0;
  if (parser_->get().version() == 10) {
    *why = "Transfer-Encoding is not allowed in an HTTP/1.0 request";
    return 400;
  }
  const std::vector<std::string> codings = list_elements(value);
  if (codings.size() == 1 && codings[0] == "chunked") return 0;
  if (codings.back() == "chunked") {
    *why = "only the 'chunked' transfer coding is supported";
    return 501;
  }
  *why = "Transfer-Encoding must be 'chunked': the body length cannot be determined";
  return 400;
}

HttpRequest Connection::request_head() const {
  const auto& msg = parser_->get();
  HttpRequest request;
  request.method = to_string(msg.method_string());
  request.target = to_string(msg.target());
  request.path = path_;
  request.query = query_;
  request.version = static_cast<int>(msg.version());
  for (const auto& field : msg) request.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
  request.remote_address = remote_address_;
  return request;
}

void Connection::ask_head_handler() {
  phase_ = Phase::kAdmitting;
  arm_read_timer(options().header_timeout);  // the decision, like the head, must not take forever
  admission_ = std::make_shared<AdmissionLink>();
  admission_->connection = shared_from_this();
  auto decision = std::make_shared<HeadDecisionImpl>(admission_);
  const HttpRequest head = request_head();
  try {
    core_.head_handler(head, decision);
  } catch (const std::exception& e) {
    log_error("http: {}: the head handler threw: {}", request_line_, e.what());
    decision->refuse(500, {{"Content-Type", "application/json"}}, error_body_json(500, "internal server error"));
  } catch (...) {
    log_error("http: {}: the head handler threw", request_line_);
    decision->refuse(500, {{"Content-Type", "application/json"}}, error_body_json(500, "internal server error"));
  }
}

void Connection::detach_admission() {
  if (!admission_) return;
  {
    std::lock_guard<std::mutex> lock(admission_->mu);
    admission_->connection.reset();
  }
  admission_.reset();
}

void Connection::admit(const AdmissionLink* link, std::size_t max_body_bytes, std::any context) {
  if (phase_ != Phase::kAdmitting || admission_.get() != link) return;
  detach_admission();
  context_ = std::move(context);
  if (!begin_body(max_body_bytes)) return;
  if (parser_->is_done()) {
    dispatch();
    return;
  }
  parse_input();
  start_read();
}

void Connection::refuse(const AdmissionLink* link, int status, HttpHeaders headers, std::string body) {
  if (phase_ != Phase::kAdmitting || admission_.get() != link) return;
  detach_admission();
  send_final(status, std::move(headers), std::move(body));
}

bool Connection::begin_body(std::size_t max_body_bytes) {
  const std::size_t limit = std::min(max_body_bytes, options().max_body_bytes);
  const auto declared = parser_->content_length();
  if (declared && *declared > limit) {
    reject(413, fmt::format("request body larger than {} bytes", limit));
    return false;
  }
  parser_->body_limit(static_cast<std::uint64_t>(limit));  // chunked bodies, as they arrive
  if (declared && !reserve_body(static_cast<std::size_t>(*declared))) return false;
  if (expect_continue_ && !parser_->is_done()) queue_write(std::string(kContinue));
  expect_continue_ = false;
  phase_ = Phase::kBody;
  if (parser_->is_done()) {
    cancel_read_timer();
  } else {
    arm_read_timer(options().body_timeout);
  }
  return true;
}

bool Connection::reserve_body(std::size_t total) {
  if (total <= body_reserved_) return true;
  switch (core_.reserve_body(remote_address_, total - body_reserved_)) {
    case ServerCore::BodyRoom::kOk:
      body_reserved_ = total;
      return true;
    case ServerCore::BodyRoom::kAddressFull:
      reject(429, "too many request bytes in flight from this address; retry later", {{"Retry-After", "1"}});
      return false;
    case ServerCore::BodyRoom::kServerFull:
      reject(503, "the server is receiving too many request bytes; retry later", {{"Retry-After", "1"}});
      return false;
  }
  return false;
}

void Connection::release_body() {
  if (body_reserved_ == 0) return;
  core_.release_body(remote_address_, body_reserved_);
  body_reserved_ = 0;
}

void Connection::dispatch() {
  cancel_read_timer();
  release_body();  // the handler owns the body now
  http::request<http::string_body> msg = parser_->release();
  parser_.reset();
  keep_alive_ = msg.keep_alive() && !core_.draining.load();
  head_request_ = msg.method() == http::verb::head;
  http10_ = msg.version() == 10;

  HttpRequest request;
  request.method = to_string(msg.method_string());
  request.target = to_string(msg.target());
  request.path = std::move(path_);
  request.query = std::move(query_);
  request.version = static_cast<int>(msg.version());
  for (const auto& field : msg) request.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
  request.body = std::move(msg.body());
  request.remote_address = remote_address_;
  request.context = std::move(context_);
  context_.reset();

  phase_ = Phase::kResponding;
  exchange_ = std::make_shared<Exchange>(weak_from_this(), options().max_stream_buffer_bytes);
  auto responder = std::make_shared<ResponderImpl>(exchange_);
  try {
    core_.handler(std::move(request), responder);
  } catch (const std::exception& e) {
    responder->fail(fmt::format("the handler threw: {}", e.what()));
  } catch (...) {
    responder->fail("the handler threw");
  }
  start_read();  // keep a read outstanding: it is how a client leaving is noticed
}

void Connection::linger_for_body() {
  // A client still uploading a refused body reads our answer only if we take its bytes until it
  // stops: closing with unread input resets the connection and destroys the answer. Discarding
  // costs no memory and the whole linger is bounded in time (kLingerTimeout), so a declared body
  // is drained whole, however far over the limit it is (up to kLingerMaxDeclaredBytes). The bytes
  // beyond it are a client's next request at most, which is refused with the connection anyway.
  if (!parser_ || !parser_->is_header_done()) return;
  if (const auto declared = parser_->content_length()) {
    const std::uint64_t bound = std::min(*declared, kLingerMaxDeclaredBytes);
    linger_max_bytes_ = std::max(kLingerMaxBytes, static_cast<std::size_t>(bound) + kLingerMaxBytes);
  }
}

void Connection::reject(int status, std::string_view message, const HttpHeaders& extra) {
  cancel_read_timer();
  detach_admission();
  release_body();
  linger_for_body();
  const bool head = parser_ && parser_->is_header_done() && parser_->get().method() == http::verb::head;
  log_debug("http: {} {} -> {} ({})", remote_address_, request_line_.empty() ? "-" : request_line_, status, message);
  phase_ = Phase::kClosing;
  close_after_flush_ = true;
  queue_write(format_error_response(status, message, extra, head));
}

void Connection::send_final(int status, HttpHeaders headers, std::string body) {
  cancel_read_timer();
  release_body();
  linger_for_body();
  if (status < 200 || status > 999) status = 500;
  const bool head = parser_ && parser_->get().method() == http::verb::head;
  log_debug("http: {} {} -> {} (refused from its head)", remote_address_, request_line_, status);
  phase_ = Phase::kClosing;
  close_after_flush_ = true;
  keep_alive_ = false;
  std::string bytes = format_response_head({.status = status,
                                            .headers = &headers,
                                            .framing = BodyFraming::kContentLength,
                                            .content_length = status_has_no_body(status) ? 0 : body.size(),
                                            .close = true});
  if (!head && !status_has_no_body(status)) bytes += body;
  queue_write(std::move(bytes));
}

// ---- timers and closing ----

void Connection::arm_read_timer(std::chrono::milliseconds timeout) {
  const std::uint64_t gen = ++read_timer_gen_;
  read_timer_.expires_after(timeout);
  read_timer_.async_wait([self = shared_from_this(), gen](const beast::error_code& ec) {
    if (ec || gen != self->read_timer_gen_) return;
    self->on_read_timeout();
  });
}

void Connection::cancel_read_timer() {
  ++read_timer_gen_;
  read_timer_.cancel();
}

void Connection::on_read_timeout() {
  switch (phase_) {
    case Phase::kHeader:
    case Phase::kBody:
      reject(408, "request timed out");
      break;
    case Phase::kAdmitting:
      reject(503, "the server is too busy to take this request; retry later", {{"Retry-After", "1"}});
      break;
    case Phase::kHandshake:
    case Phase::kIdle:  // nothing started: just close
    case Phase::kClosing:
      close_now();
      break;
    default:
      break;
  }
}

void Connection::begin_shutdown() {
  if (shutdown_started_ || phase_ == Phase::kClosed) return;
  shutdown_started_ = true;
  phase_ = Phase::kClosing;
  core_.begin_lingering();
  arm_read_timer(kLingerTimeout);
  if (tls_) {
    tls_->async_shutdown([self = shared_from_this()](const beast::error_code&) { self->close_now(); });
  } else {
    beast::error_code ec;
    plain_->shutdown(tcp::socket::shutdown_send, ec);
  }
  start_read();  // until the peer closes: see kLingerTimeout
}

void Connection::close_now() {
  if (phase_ == Phase::kClosed) return;
  const auto self = shared_from_this();
  phase_ = Phase::kClosed;
  detach_admission();
  release_body();
  if (exchange_) {
    exchange_->mark_disconnected();
    exchange_->detach();
    exchange_.reset();
  }
  ++read_timer_gen_;
  ++write_timer_gen_;
  read_timer_.cancel();
  write_timer_.cancel();
  beast::error_code ec;
  socket().close(ec);
  if (counted_) core_.active.fetch_sub(1);
  core_.remove(this, shutdown_started_);
}

}  // namespace parley::net_detail
