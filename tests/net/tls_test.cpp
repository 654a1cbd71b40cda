// HttpServer with TLS: a self-signed certificate made on the fly, and a bare OpenSSL client.
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdio>
#include <filesystem>

#include "net/http_server.h"
#include "net_test_util.h"

namespace parley {
namespace {

using namespace std::chrono_literals;
using testing::Event;
using testing::RawSocket;
using testing::Workers;

// A P-256 key and a self-signed certificate for "localhost", written as PEM under a temp dir.
class TestCertificate {
 public:
  TestCertificate() {
    dir_ = std::filesystem::temp_directory_path() / ("parley_tls_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    EVP_PKEY* key = EVP_EC_gen("P-256");
    X509* cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -60);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME* name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1, -1,
                               0);
    X509_set_issuer_name(cert, name);
    X509_sign(cert, key, EVP_sha256());
    FILE* f = std::fopen(key_path().c_str(), "w");
    PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    std::fclose(f);
    f = std::fopen(cert_path().c_str(), "w");
    PEM_write_X509(f, cert);
    std::fclose(f);
    X509_free(cert);
    EVP_PKEY_free(key);
  }
  ~TestCertificate() { std::filesystem::remove_all(dir_); }
  std::string key_path() const { return (dir_ / "key.pem").string(); }
  std::string cert_path() const { return (dir_ / "cert.pem").string(); }

 private:
  std::filesystem::path dir_;
};

// A blocking TLS client over a loopback socket (no certificate verification: a test cert).
class TlsClient {
 public:
  explicit TlsClient(std::uint16_t port) : socket_(port) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, socket_.fd());
    ok_ = socket_.connected() && SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    SSL_free(ssl_);
    SSL_CTX_free(ctx_);
  }
  bool ok() const { return ok_; }
  bool send(std::string_view data) { return SSL_write(ssl_, data.data(), static_cast<int>(data.size())) > 0; }
  // Reads until `needle` has arrived (true) or the connection ends (false).
  bool read_until(std::string_view needle) {
    while (received_.find(needle) == std::string::npos) {
      char buf[4096];
      const int n = SSL_read(ssl_, buf, sizeof(buf));
      if (n <= 0) return false;
      received_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  // True when the server ended the connection (close_notify or EOF).
  bool read_to_end() {
    char buf[4096];
    int n = 0;
    while ((n = SSL_read(ssl_, buf, sizeof(buf))) > 0) received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  std::string& received() { return received_; }
  void close() { socket_.close(); }

 private:
  RawSocket socket_;
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  bool ok_ = false;
  std::string received_;
};

class HttpsTest : public ::testing::Test {
 protected:
  void start(HttpHandler handler) {
    HttpServerOptions options;
    options.port = 0;
    options.header_timeout = 2s;
    options.tls_cert_file = cert_.cert_path();
    options.tls_key_file = cert_.key_path();
    auto server = HttpServer::start(options, std::move(handler));
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }

  TestCertificate cert_;
  Workers workers_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpsTest, RequestsOnOneTlsConnection) {
  start([](HttpRequest req, std::shared_ptr<HttpResponder> r) { r->respond(200, {}, "secure " + req.path); });
  TlsClient client(server_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.send("GET /a HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(client.read_until("secure /a"));
  ASSERT_TRUE(client.send("GET /b HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"));
  ASSERT_TRUE(client.read_until("secure /b"));
  EXPECT_TRUE(client.read_to_end());
  client.close();
  EXPECT_TRUE(testing::eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(HttpsTest, StreamOverTlsAndDisconnect) {
  Event disconnected;
  start([&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    r->on_disconnect([&] { disconnected.set(); });
    workers_.run([r] {
      r->start_stream(200, {{"Content-Type", "text/event-stream"}});
      while (r->write("data: tick\n\n")) std::this_thread::sleep_for(2ms);
    });
  });
  TlsClient client(server_->port());
  ASSERT_TRUE(client.ok());
  ASSERT_TRUE(client.send("GET /s HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(client.read_until("data: tick\n\n"));
  client.close();
  EXPECT_TRUE(disconnected.wait());
}

TEST_F(HttpsTest, PlainHttpOnTheTlsPortIsClosed) {
  start([](HttpRequest, std::shared_ptr<HttpResponder> r) { r->respond(200, {}, "x"); });
  RawSocket plain(server_->port());
  ASSERT_TRUE(plain.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  EXPECT_TRUE(plain.wait_closed());
  EXPECT_EQ(plain.buffer().find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(testing::eventually([&] { return server_->connection_count() == 0; }));
}

TEST_F(HttpsTest, StopWithTlsConnectionsOpen) {
  start([&](HttpRequest, std::shared_ptr<HttpResponder> r) {
    workers_.run([r] {
      r->start_stream(200, {});
      while (r->write("x")) std::this_thread::sleep_for(1ms);
    });
  });
  TlsClient streaming(server_->port());
  ASSERT_TRUE(streaming.ok());
  ASSERT_TRUE(streaming.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n"));
  ASSERT_TRUE(streaming.read_until("x"));
  TlsClient idle(server_->port());
  ASSERT_TRUE(idle.ok());
  server_->stop();
  EXPECT_EQ(server_->connection_count(), 0u);
}

}  // namespace
}  // namespace parley
