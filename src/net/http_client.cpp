#include "net/http_client.h"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <exception>
#include <optional>
#include <vector>

#include "net/url.h"

namespace parley {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kMaxResponseHead = 64 * 1024;
constexpr std::size_t kBodyPiece = 16 * 1024;

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && std::string_view("!#$%&'*+-.^_`|~").find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_field_value(std::string_view s) {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

std::string to_string(beast::string_view s) {
  return std::string(s.data(), s.size());
}

Result<std::string> request_head(const HttpClientRequest& req, const Url& url) {
  if (!is_token(req.method)) return invalid_argument_error("bad HTTP method '{}'", req.method);
  std::string head = req.method + " " + url.target + " HTTP/1.1\r\n";
  bool has_host = false;
  bool has_agent = false;
  for (const auto& [name, value] : req.headers) {
    if (!is_token(name) || !is_field_value(value)) return invalid_argument_error("bad request header '{}'", name);
    // Framing and connection management are ours: a caller's value could desynchronise the stream.
    if (iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection")) continue;
    has_host = has_host || iequals(name, "Host");
    has_agent = has_agent || iequals(name, "User-Agent");
    head += name + ": " + value + "\r\n";
  }
  if (!has_host) head += "Host: " + url.authority() + "\r\n";
  if (!has_agent) head += "User-Agent: parley\r\n";
  if (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH") {
    head += "Content-Length: " + std::to_string(req.body.size()) + "\r\n";
  }
  head += "Connection: close\r\n\r\n";
  return head;
}

}  // namespace

namespace net_detail {

// One request on its own connection and event loop, run step by step on the calling thread.
class ClientCall {
 public:
  explicit ClientCall(const HttpClientRequest& req) : req_(req) {
    if (req_.cancel) {
      req_.cancel->set_interrupt_hook([this] {
        asio::post(loop_, [this] {
          cancelled_ = true;
          interrupt();
        });
      });
    }
  }
  ~ClientCall() {
    if (req_.cancel) req_.cancel->set_interrupt_hook(nullptr);
  }
  ClientCall(const ClientCall&) = delete;
  ClientCall& operator=(const ClientCall&) = delete;

  Result<HttpResponse> run(const HttpStreamCallbacks* callbacks);

 private:
  // Starts one asynchronous operation with `initiate(done)` and runs the loop until it is over;
  // the deadline interrupts it.
  template <typename Initiate>
  beast::error_code step(Clock::time_point deadline, Initiate&& initiate) {
    if (cancel_requested()) return asio::error::operation_aborted;
    beast::error_code result = asio::error::operation_aborted;
    timer_.expires_at(deadline);
    timer_.async_wait([this](const beast::error_code& ec) {
      if (ec) return;
      timed_out_ = true;
      interrupt();
    });
    initiate([this, &result](const beast::error_code& ec) {
      result = ec;
      timer_.cancel();
    });
    loop_.restart();
    loop_.run();
    return result;
  }

  void interrupt() {
    beast::error_code ignored;
    resolver_.cancel();
    socket_.close(ignored);
  }
  bool cancel_requested() const { return cancelled_ || (req_.cancel && req_.cancel->cancelled()); }
  Status failure(const beast::error_code& ec, std::string_view what) const;

  const HttpClientRequest& req_;
  asio::io_context loop_{1};
  tcp::resolver resolver_{loop_};
  tcp::socket socket_{loop_};
  asio::steady_timer timer_{loop_};
  beast::flat_buffer buffer_;
  bool cancelled_ = false;
  bool timed_out_ = false;
};

Status ClientCall::failure(const beast::error_code& ec, std::string_view what) const {
  if (cancel_requested()) return cancelled_error("{} {}: cancelled", req_.method, req_.url);
  if (timed_out_) return make_error(ErrorCode::kDeadlineExceeded, "{} {}: timed out {}", req_.method, req_.url, what);
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    return unavailable_error("{} {}: bad response ({}): {}", req_.method, req_.url, what, ec.message());
  }
  return unavailable_error("{} {}: {}: {}", req_.method, req_.url, what, ec.message());
}

Result<HttpResponse> ClientCall::run(const HttpStreamCallbacks* callbacks) {
  ASSIGN_OR_RETURN(const Url url, parse_url(req_.url));
  if (url.scheme != "http") return unimplemented_error("{}: HttpClient speaks plain http only", req_.url);
  ASSIGN_OR_RETURN(const std::string head, request_head(req_, url));
  const Clock::time_point deadline = Clock::now() + req_.timeout;

  // A literal address needs no resolver (which would start a thread for getaddrinfo).
  std::vector<tcp::endpoint> endpoints;
  beast::error_code ec;
  const asio::ip::address literal = asio::ip::make_address(url.host, ec);
  if (!ec) {
    endpoints.emplace_back(literal, url.port);
  } else {
    ec = step(deadline, [&](auto done) {
      resolver_.async_resolve(url.host, std::to_string(url.port),
                              [&endpoints, done](const beast::error_code& e, tcp::resolver::results_type r) {
                                for (const auto& entry : r) endpoints.push_back(entry.endpoint());
                                done(e);
                              });
    });
    if (ec) return failure(ec, "resolving " + url.host);
  }
  ec = step(deadline, [&](auto done) {
    asio::async_connect(socket_, endpoints, [done](const beast::error_code& e, const tcp::endpoint&) { done(e); });
  });
  if (ec) return failure(ec, "connecting");
  socket_.set_option(tcp::no_delay(true), ec);
  const std::array<asio::const_buffer, 2> out{asio::buffer(head), asio::buffer(req_.body)};
  ec = step(deadline, [&](auto done) {
    asio::async_write(socket_, out, [done](const beast::error_code& e, std::size_t) { done(e); });
  });
  if (ec) return failure(ec, "sending the request");

  std::optional<http::response_parser<http::buffer_body>> parser;
  while (true) {
    parser.emplace();
    parser->header_limit(kMaxResponseHead);
    parser->body_limit(boost::none);  // request() enforces its own cap; streams are unbounded
    if (req_.method == "HEAD") parser->skip(true);
    ec = step(deadline, [&](auto done) {
      http::async_read_header(socket_, buffer_, *parser, [done](const beast::error_code& e, std::size_t) { done(e); });
    });
    if (ec) return failure(ec, "reading the response head");
    const int status = static_cast<int>(parser->get().result_int());
    if (status < 100 || status >= 200 || status == 101) break;  // 1xx are interim: the real one follows
  }
  HttpResponse response;
  response.status = static_cast<int>(parser->get().result_int());
  response.reason = to_string(parser->get().reason());
  for (const auto& field : parser->get()) {
    response.headers.emplace_back(to_string(field.name_string()), to_string(field.value()));
  }
  if (callbacks != nullptr && callbacks->on_head && !callbacks->on_head(response)) {
    return cancelled_error("{} {}: cancelled by the caller", req_.method, req_.url);
  }

  std::array<char, kBodyPiece> piece;
  while (!parser->is_done()) {
    auto& body = parser->get().body();
    body.data = piece.data();
    body.size = piece.size();
    body.more = true;
    const Clock::time_point piece_deadline = callbacks != nullptr ? Clock::now() + req_.idle_timeout : deadline;
    ec = step(piece_deadline, [&](auto done) {
      http::async_read_some(socket_, buffer_, *parser, [done](const beast::error_code& e, std::size_t) { done(e); });
    });
    if (ec == http::error::need_buffer) ec = {};  // the piece is full: hand it over
    if (ec) return failure(ec, "reading the response body");
    const std::size_t n = piece.size() - parser->get().body().size;
    if (n == 0) continue;
    const std::string_view data(piece.data(), n);
    if (callbacks != nullptr) {
      if (callbacks->on_data && !callbacks->on_data(data)) {
        return cancelled_error("{} {}: cancelled by the caller", req_.method, req_.url);
      }
    } else {
      if (response.body.size() + n > req_.max_body_bytes) {
        return resource_exhausted_error("{} {}: response body larger than {} bytes", req_.method, req_.url,
                                        req_.max_body_bytes);
      }
      response.body.append(data);
    }
  }
  return response;
}

}  // namespace net_detail

namespace {

Result<HttpResponse> perform(const HttpClientRequest& req, const HttpStreamCallbacks* callbacks) {
  try {
    net_detail::ClientCall call(req);
    return call.run(callbacks);
  } catch (const std::exception& e) {
    // Asio reports resource exhaustion (no file descriptors, no memory) by throwing.
    return unavailable_error("{} {}: {}", req.method, req.url, e.what());
  }
}

}  // namespace

void HttpCancellation::cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (cancelled_) return;
  cancelled_ = true;
  if (interrupt_) interrupt_();
}

bool HttpCancellation::cancelled() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cancelled_;
}

void HttpCancellation::set_interrupt_hook(std::function<void()> interrupt) {
  std::lock_guard<std::mutex> lock(mu_);
  interrupt_ = std::move(interrupt);
}

Result<HttpResponse> HttpClient::request(const HttpClientRequest& request) const {
  return perform(request, nullptr);
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view url, HttpHeaders headers,
                                         std::string body, std::chrono::milliseconds timeout) const {
  HttpClientRequest req;
  req.method = std::string(method);
  req.url = std::string(url);
  req.headers = std::move(headers);
  req.body = std::move(body);
  req.timeout = timeout;
  return perform(req, nullptr);
}

Result<HttpResponse> HttpClient::stream(const HttpClientRequest& request, const HttpStreamCallbacks& callbacks) const {
  return perform(request, &callbacks);
}

}  // namespace parley
