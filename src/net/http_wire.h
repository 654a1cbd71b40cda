// Internal to src/net: the bytes of HTTP/1.1 responses the server writes (status line, fields,
// chunk framing) and the JSON error body of protocol-level errors. No Beast here.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "net/http_request.h"

namespace parley::net_detail {

enum class BodyFraming {
  kContentLength,  // Content-Length: n
  kChunked,        // Transfer-Encoding: chunked
  kUntilClose,     // HTTP/1.0 stream: the body ends when the connection closes
};

struct ResponseHead {
  int status = 200;
  const HttpHeaders* headers = nullptr;  // the handler's; framing and connection fields are skipped
  BodyFraming framing = BodyFraming::kContentLength;
  std::uint64_t content_length = 0;
  bool close = false;              // "Connection: close"
  bool keep_alive_header = false;  // "Connection: keep-alive" (HTTP/1.0 clients need it)
};

// "OK", "Not Found", ...; "Unknown" for codes without a standard phrase.
std::string_view reason_phrase(int status);

// Statuses whose responses never have a body (1xx, 204, 304).
bool status_has_no_body(int status);

// The status line, the handler's fields (minus Content-Length, Transfer-Encoding, Connection,
// and any with a name or value that could split the head), Date, framing and Connection fields,
// and the blank line.
std::string format_response_head(const ResponseHead& head);

// True when the handler asked for "Connection: close" among `headers`.
bool wants_close(const HttpHeaders& headers);

// One chunk of a chunked body: hex size, CRLF, data, CRLF. `data` must not be empty.
std::string format_chunk(std::string_view data);
inline constexpr std::string_view kLastChunk = "0\r\n\r\n";

// {"error":{"message":...,"type":...,"param":null,"code":null}}: OpenAI's error shape; the type is
// "invalid_request_error" for 4xx and "server_error" otherwise.
std::string error_body_json(int status, std::string_view message);

// A complete error response with that body and "Connection: close" (body omitted for HEAD).
std::string format_error_response(int status, std::string_view message, const HttpHeaders& extra, bool head_request);

}  // namespace parley::net_detail
