#include "net/http_server.h"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <exception>
#include <future>
#include <optional>
#include <thread>

#include "base/check.h"
#include "base/log.h"
#include "net/server_connection.h"

namespace parley {

using namespace net_detail;  // NOLINT(google-build-using-namespace): this file is the wrapper

namespace {
// The server whose I/O thread this is, to catch stop() called from a handler.
thread_local const HttpServer::Impl* t_io_server = nullptr;
constexpr std::chrono::milliseconds kAcceptRetry{100};
constexpr std::chrono::seconds kCloseWait{5};
}  // namespace

struct HttpServer::Impl {
  // Declaration order is destruction order reversed: the core outlives the loops, the loops
  // outlive the sockets and timers bound to them.
  ServerCore core;
  std::vector<std::unique_ptr<asio::io_context>> loops;
  std::optional<tcp::acceptor> acceptor;  // on loops[0]
  std::optional<asio::steady_timer> accept_retry;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  std::size_t next_loop = 0;  // acceptor thread only
  std::atomic<bool> stopping{false};
  std::mutex stop_mu;
  bool stopped = false;

  Status listen();
  void run_loop(std::size_t index);
  void accept_next();
  void on_accept(const beast::error_code& ec, tcp::socket socket);
  void stop(std::chrono::milliseconds grace);
};

namespace {

Status validate(const HttpServerOptions& o) {
  if (o.io_threads < 1 || o.io_threads > 256)
    return invalid_argument_error("io_threads must be 1..256, not {}", o.io_threads);
  if (o.max_header_bytes < 256) return invalid_argument_error("max_header_bytes must be at least 256");
  if (o.max_connections < 1) return invalid_argument_error("max_connections must be at least 1");
  if (o.max_stream_buffer_bytes < 1) return invalid_argument_error("max_stream_buffer_bytes must be at least 1");
  using ms = std::chrono::milliseconds;
  for (ms t : {o.header_timeout, o.body_timeout, o.keep_alive_idle_timeout, o.write_timeout}) {
    if (t <= ms(0)) return invalid_argument_error("timeouts must be positive");
  }
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    return invalid_argument_error("TLS needs both a certificate and a key file");
  }
  return ok_status();
}

Result<std::unique_ptr<asio::ssl::context>> make_tls_context(const HttpServerOptions& o) {
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
  beast::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1,
                   ec);
  if (!ec) ctx->use_certificate_chain_file(o.tls_cert_file, ec);
  if (ec) return invalid_argument_error("TLS certificate {}: {}", o.tls_cert_file, ec.message());
  ctx->use_private_key_file(o.tls_key_file, asio::ssl::context::pem, ec);
  if (ec) return invalid_argument_error("TLS key {}: {}", o.tls_key_file, ec.message());
  return ctx;
}

}  // namespace

Status HttpServer::Impl::listen() {
  const HttpServerOptions& o = core.options;
  beast::error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(o.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, o.port);
  } else {
    tcp::resolver resolver(*loops[0]);
    const auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec || results.empty()) return io_error("cannot resolve '{}': {}", o.host, ec ? ec.message() : "no address");
    endpoint = results.begin()->endpoint();
  }
  acceptor.emplace(*loops[0]);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return io_error("cannot listen on {}:{}: {}", o.host, o.port, ec.message());
  port = acceptor->local_endpoint(ec).port();
  if (ec) return io_error("cannot read the bound port: {}", ec.message());
  accept_retry.emplace(*loops[0]);
  return ok_status();
}

void HttpServer::Impl::run_loop(std::size_t index) {
  t_io_server = this;
  const std::string name = "parley-io-" + std::to_string(index);
  pthread_setname_np(pthread_self(), name.c_str());
  while (true) {
    try {
      loops[index]->run();
      return;
    } catch (const std::exception& e) {
      // Our completion handlers do not throw; if one did, the loop must go on serving others.
      log_error("http: I/O thread {} caught: {}", index, e.what());
    } catch (...) {
      log_error("http: I/O thread {} caught an unknown exception", index);
    }
  }
}

void HttpServer::Impl::accept_next() {
  // Round robin over the loops: each connection stays on the loop it was accepted for.
  const asio::any_io_executor target = loops[next_loop++ % loops.size()]->get_executor();
  acceptor->async_accept(target,
                         [this](const beast::error_code& ec, tcp::socket socket) { on_accept(ec, std::move(socket)); });
}

void HttpServer::Impl::on_accept(const beast::error_code& ec, tcp::socket socket) {
  if (stopping.load()) return;
  if (ec) {
    if (ec == asio::error::operation_aborted) return;
    // Typically EMFILE: back off instead of spinning on a listen queue we cannot drain.
    log_warn("http: accept failed: {}", ec.message());
    accept_retry->expires_after(kAcceptRetry);
    accept_retry->async_wait([this](const beast::error_code& e) {
      if (!e && !stopping.load()) accept_next();
    });
    return;
  }
  const bool counted = core.active.fetch_add(1) < core.options.max_connections;
  if (!counted) core.active.fetch_sub(1);
  auto connection = std::make_shared<Connection>(core, std::move(socket), counted);
  core.add(connection);
  connection->start();
  accept_next();
}

void HttpServer::Impl::stop(std::chrono::milliseconds grace) {
  {
    std::lock_guard<std::mutex> lock(stop_mu);
    if (stopped) return;
    stopped = true;
  }
  CHECK(t_io_server != this, "HttpServer::stop() called on one of its own I/O threads");
  stopping.store(true);
  core.draining.store(true);

  std::promise<void> closed;
  asio::post(acceptor->get_executor(), [this, &closed] {
    beast::error_code ec;
    acceptor->close(ec);
    accept_retry->cancel();
    closed.set_value();
  });
  closed.get_future().wait();

  if (grace > std::chrono::milliseconds(0)) {
    for (const auto& c : core.snapshot()) c->drain();
    // Connections that finished and only wait for their peer to close count as done.
    std::unique_lock<std::mutex> lock(core.mu);
    core.changed.wait_for(lock, grace, [&] { return core.connections.size() == core.lingering; });
  }
  for (const auto& c : core.snapshot()) c->abort();
  bool all_closed = false;
  {
    std::unique_lock<std::mutex> lock(core.mu);
    all_closed = core.changed.wait_for(lock, kCloseWait, [&] { return core.connections.empty(); });
  }
  guards.clear();  // the loops return once their last operations complete
  if (!all_closed) {
    log_error("http: connections did not close within {}s; stopping the I/O loops", kCloseWait.count());
    for (auto& loop : loops) loop->stop();
  }
  for (auto& t : threads) t.join();
}

Result<std::unique_ptr<HttpServer>> HttpServer::start(const HttpServerOptions& options, HttpHandler handler,
                                                      HeadHandler head) {
  RETURN_IF_ERROR(validate(options));
  if (!handler) return invalid_argument_error("HttpServer needs a handler");
  auto impl = std::make_unique<Impl>();
  try {
    impl->core.options = options;
    // One body of the largest size always fits a client's and the server's budget.
    auto& o = impl->core.options;
    o.max_body_bytes_per_address = std::max(o.max_body_bytes_per_address, o.max_body_bytes);
    o.max_body_bytes_in_flight = std::max(o.max_body_bytes_in_flight, o.max_body_bytes_per_address);
    impl->core.handler = std::move(handler);
    impl->core.head_handler = std::move(head);
    if (!options.tls_cert_file.empty()) {
      ASSIGN_OR_RETURN(impl->core.tls, make_tls_context(options));
    }
    // Not the concurrency hint 1: with it, Asio queues work posted from a loop's own thread (a
    // handler calling its responder) privately, behind work posted meanwhile from other threads
    // (a job's events), so a write could overtake the start_stream() made before it.
    for (int i = 0; i < options.io_threads; ++i) impl->loops.push_back(std::make_unique<asio::io_context>());
    RETURN_IF_ERROR(impl->listen());
    for (auto& loop : impl->loops) impl->guards.push_back(asio::make_work_guard(*loop));
    impl->accept_next();
    for (std::size_t i = 0; i < impl->loops.size(); ++i) {
      impl->threads.emplace_back([p = impl.get(), i] { p->run_loop(i); });
    }
  } catch (const std::exception& e) {
    // Thread creation or allocation failures; stop whatever started.
    impl->guards.clear();
    for (auto& loop : impl->loops) loop->stop();
    for (auto& t : impl->threads) t.join();
    return internal_error("cannot start the HTTP server: {}", e.what());
  }
  log_debug("http: listening on {}:{}{}", options.host, impl->port, impl->core.tls ? " (TLS)" : "");
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  stop();
}

std::uint16_t HttpServer::port() const {
  return impl_->port;
}

std::size_t HttpServer::connection_count() const {
  std::lock_guard<std::mutex> lock(impl_->core.mu);
  return impl_->core.connections.size();
}

void HttpServer::stop(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

}  // namespace parley
