// Internal to src/net: one accepted connection of HttpServer (Beast/Asio inside), and the
// server-wide state connections share.
//
// A connection lives on one I/O thread (server_connection.cpp reads, admits and closes;
// server_connection_respond.cpp responds and writes): every member function below, except
// start(), drain(), abort() and post(), runs there, so there are no locks. It is kept alive by
// the server's registry while open and by its pending asynchronous operations; it never outlives
// the event loops (HttpServer::stop() closes all and lets the loops run dry before destroying them).
#pragma once

#include <any>
#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "net/exchange.h"
#include "net/http_server.h"

namespace parley::net_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

class Connection;

// How a HeadDecision reaches its connection from any thread: the connection detaches it (on its
// I/O thread, before the event loops can go away) once decided or closed.
struct AdmissionLink {
  std::mutex mu;
  std::weak_ptr<Connection> connection;  // guarded by mu
};

// Shared by the server and its connections; outlives both.
struct ServerCore {
  HttpServerOptions options;
  HttpHandler handler;
  HeadHandler head_handler;                 // may be empty: every request is admitted
  std::unique_ptr<asio::ssl::context> tls;  // null: plain HTTP
  std::atomic<bool> draining{false};
  std::atomic<std::size_t> active{0};  // connections counted against max_connections

  std::mutex mu;
  std::condition_variable changed;  // a connection left the registry or began to linger
  std::unordered_map<Connection*, std::shared_ptr<Connection>> connections;
  std::size_t lingering = 0;  // of those, done and waiting for the peer to close

  std::mutex body_mu;
  std::size_t body_bytes = 0;
  std::unordered_map<std::string, std::size_t> body_bytes_by_address;

  // Request bodies being received (HttpServerOptions::max_body_bytes_in_flight and _per_address).
  enum class BodyRoom { kOk, kServerFull, kAddressFull };
  BodyRoom reserve_body(const std::string& address, std::size_t n);
  void release_body(const std::string& address, std::size_t n);

  void add(const std::shared_ptr<Connection>& c);
  void begin_lingering();
  void remove(Connection* c, bool was_lingering);
  std::vector<std::shared_ptr<Connection>> snapshot();
};

class Connection final : public ResponseSink, public std::enable_shared_from_this<Connection> {
 public:
  // `counted`: within max_connections; otherwise it answers 503 and closes.
  Connection(ServerCore& core, tcp::socket socket, bool counted);
  ~Connection() override;

  // Any thread.
  void start();
  void drain();  // server stopping gracefully: close when idle, finish the response in flight
  void abort();  // close now
  void post(std::function<void()> fn) override;

  // A HeadHandler's decision about the current request (I/O thread; see net/http_admission.h).
  void admit(const AdmissionLink* link, std::size_t max_body_bytes, std::any context);
  void refuse(const AdmissionLink* link, int status, HttpHeaders headers, std::string body);

  // ResponseSink (I/O thread).
  void send_response(Exchange& x, int status, HttpHeaders headers, std::string body) override;
  void start_stream(Exchange& x, int status, HttpHeaders headers) override;
  void write_chunk(Exchange& x, std::string chunk, std::size_t counted) override;
  void finish_stream(Exchange& x) override;
  void fail_response(Exchange& x, std::string why) override;
  void drop_slow_reader(Exchange& x) override;

 private:
  enum class Phase {
    kHandshake,   // TLS handshake
    kIdle,        // waiting for the first byte of a request
    kHeader,      // reading a request head
    kAdmitting,   // the head is with the HeadHandler; the body waits
    kBody,        // reading a request body
    kResponding,  // the handler has the request; reading only to notice the client leaving
    kClosing,     // last bytes written or being written; draining input until the peer closes
    kClosed,
  };
  struct Pending {
    std::string data;
    std::size_t counted = 0;  // bytes of it counted in the exchange's queued_bytes
  };

  tcp::socket& socket();
  const HttpServerOptions& options() const { return core_.options; }
  bool is_current(const Exchange& x) const { return exchange_.get() == &x && phase_ == Phase::kResponding; }

  // Reading and parsing.
  void begin();
  void on_handshake(const beast::error_code& ec);
  void begin_requests();
  void new_parser();
  void start_read();
  void on_read(const beast::error_code& ec, std::size_t n);
  void parse_input();
  bool on_header_done();
  // 0 when the request's Transfer-Encoding is absent or "chunked"; else the status to refuse it
  // with (400 or 501) and why.
  int bad_transfer_encoding(std::string* why) const;
  HttpRequest request_head() const;
  void ask_head_handler();
  void detach_admission();
  // Starts reading the body, at most `max_body_bytes` (413 beyond); false when refused.
  bool begin_body(std::size_t max_body_bytes);
  // Counts `total` bytes of body against the server's and the address's budgets; false (and
  // refused) when they do not fit.
  bool reserve_body(std::size_t total);
  void release_body();
  void dispatch();
  void reject(int status, std::string_view message, const HttpHeaders& extra = {});
  // Before closing after a refusal: how much of the refused body to drain (linger_max_bytes_).
  void linger_for_body();
  // A complete final response, then close (refusals with the handler's own body).
  void send_final(int status, HttpHeaders headers, std::string body);

  // Writing.
  void queue_write(std::string data, std::size_t counted = 0);
  void flush();
  void on_written(const beast::error_code& ec);
  void on_outbox_drained();
  void finish_exchange();

  // Timers and closing.
  void arm_read_timer(std::chrono::milliseconds timeout);
  void cancel_read_timer();
  void on_read_timeout();
  void begin_shutdown();
  void close_now();

  ServerCore& core_;
  const bool counted_;
  const asio::any_io_executor executor_;
  std::optional<tcp::socket> plain_;
  std::optional<asio::ssl::stream<tcp::socket>> tls_;
  asio::steady_timer read_timer_;
  asio::steady_timer write_timer_;
  std::uint64_t read_timer_gen_ = 0;  // a timer callback from an older arming is stale
  std::uint64_t write_timer_gen_ = 0;

  Phase phase_ = Phase::kIdle;
  std::string remote_address_;
  beast::flat_buffer input_;  // received, not yet parsed
  // Reads land here, not in input_: parsing may shift input_'s storage while a read is pending.
  std::array<char, 8 * 1024> read_buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  bool first_request_ = true;
  bool reading_ = false;
  bool expect_continue_ = false;                // send 100 Continue when the body is wanted
  std::shared_ptr<AdmissionLink> admission_;    // while the HeadHandler decides
  std::any context_;                            // what it attached
  std::size_t body_reserved_ = 0;               // of the budgets, held by the request being read
  std::size_t discarded_ = 0;                   // input thrown away while closing
  std::size_t linger_max_bytes_ = 1024 * 1024;  // ... at most this much (see linger_for_body)

  // The request being answered.
  std::shared_ptr<Exchange> exchange_;
  std::string path_, query_;  // decoded when its head arrived
  bool keep_alive_ = false;
  bool head_request_ = false;
  bool http10_ = false;
  bool chunked_ = false;        // the streamed response uses chunked framing
  bool suppress_body_ = false;  // HEAD, 204, 304: the head goes out, body bytes do not
  std::string request_line_;    // "GET /path", for logs

  // Writing: outbox_ waits while in_flight_ is being written.
  std::vector<Pending> outbox_;
  std::vector<Pending> in_flight_;
  std::vector<asio::const_buffer> buffers_;
  bool writing_ = false;
  bool close_after_flush_ = false;
  bool abort_after_flush_ = false;  // an abandoned stream: send what was written, then cut
  bool shutdown_started_ = false;
};

}  // namespace parley::net_detail
