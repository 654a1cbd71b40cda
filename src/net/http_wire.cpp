#include "net/http_wire.h"

#include <fmt/core.h>

#include <ctime>

#include "base/log.h"

namespace parley::net_detail {

namespace {

bool is_token_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_field_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!is_token_char(c)) return false;
  }
  return true;
}

// A value with CR, LF or NUL could smuggle a second header or response into the stream.
bool valid_field_value(std::string_view value) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}

bool is_managed_field(std::string_view name) {
  return iequals(name, "Content-Length") || iequals(name, "Transfer-Encoding") || iequals(name, "Connection");
}

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return std::string(buf, n);
}

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 402:
      return "Payment Required";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 411:
      return "Length Required";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 416:
      return "Range Not Satisfiable";
    case 417:
      return "Expectation Failed";
    case 422:
      return "Unprocessable Content";
    case 426:
      return "Upgrade Required";
    case 428:
      return "Precondition Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

bool status_has_no_body(int status) {
  return (status >= 100 && status < 200) || status == 204 || status == 304;
}

std::string format_response_head(const ResponseHead& head) {
  std::string out = fmt::format("HTTP/1.1 {} {}\r\n", head.status, reason_phrase(head.status));
  bool has_date = false;
  if (head.headers != nullptr) {
    for (const auto& [name, value] : *head.headers) {
      if (!valid_field_name(name) || !valid_field_value(value)) {
        log_warn("http: dropping invalid response header field '{}'", name);
        continue;
      }
      if (is_managed_field(name)) continue;
      has_date = has_date || iequals(name, "Date");
      out += name;
      out += ": ";
      out += value;
      out += "\r\n";
    }
  }
  if (!has_date) out += "Date: " + http_date() + "\r\n";
  switch (head.framing) {
    case BodyFraming::kContentLength:
      if (!status_has_no_body(head.status)) out += fmt::format("Content-Length: {}\r\n", head.content_length);
      break;
    case BodyFraming::kChunked:
      out += "Transfer-Encoding: chunked\r\n";
      break;
    case BodyFraming::kUntilClose:
      break;
  }
  if (head.close) {
    out += "Connection: close\r\n";
  } else if (head.keep_alive_header) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  return out;
}

bool wants_close(const HttpHeaders& headers) {
  for (const auto& [name, value] : headers) {
    if (!iequals(name, "Connection")) continue;
    std::string_view rest = value;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      std::string_view token = rest.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) token.remove_prefix(1);
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) token.remove_suffix(1);
      if (iequals(token, "close")) return true;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
  }
  return false;
}

std::string format_chunk(std::string_view data) {
  std::string out = fmt::format("{:x}\r\n", data.size());
  out.reserve(out.size() + data.size() + 2);
  out.append(data);
  out += "\r\n";
  return out;
}

std::string error_body_json(int status, std::string_view message) {
  std::string out = R"({"error":{"message":")";
  append_json_escaped(out, message);
  out += R"(","type":")";
  out += status >= 400 && status < 500 ? "invalid_request_error" : "server_error";
  out += R"(","param":null,"code":null}})";
  return out;
}

std::string format_error_response(int status, std::string_view message, const HttpHeaders& extra, bool head_request) {
  const std::string body = error_body_json(status, message);
  HttpHeaders headers = extra;
  headers.emplace_back("Content-Type", "application/json");
  std::string out = format_response_head({.status = status,
                                          .headers = &headers,
                                          .framing = BodyFraming::kContentLength,
                                          .content_length = body.size(),
                                          .close = true});
  if (!head_request) out += body;
  return out;
}

}  // namespace parley::net_detail
