// Backend-independent parts of the driver: result cells and placeholder rewriting.
#include "store/sql_db.h"

#include <charconv>

namespace parley::store::sql {

const std::string& Rows::text(std::size_t row, std::size_t col) const {
  static const std::string kEmpty;
  const auto& cell = cells_[row][col];
  return cell ? *cell : kEmpty;
}

std::optional<std::int64_t> Rows::optional_int64(std::size_t row, std::size_t col) const {
  const auto& cell = cells_[row][col];
  if (!cell) return std::nullopt;
  std::int64_t v = 0;
  const char* begin = cell->data();
  const char* end = begin + cell->size();
  auto [p, ec] = std::from_chars(begin, end, v);
  if (ec != std::errc() || p != end) {
    // SUM() over no rows is NULL and handled above; a float form ("12.0") only comes from
    // SQLite aggregates that overflowed, which the limits on inputs rule out.
    double d = 0;
    auto [q, ec2] = std::from_chars(begin, end, d);
    if (ec2 == std::errc() && q == end) return static_cast<std::int64_t>(d);
    return 0;
  }
  return v;
}

std::optional<double> Rows::optional_double(std::size_t row, std::size_t col) const {
  const auto& cell = cells_[row][col];
  if (!cell) return std::nullopt;
  double d = 0;
  const char* begin = cell->data();
  const char* end = begin + cell->size();
  auto [p, ec] = std::from_chars(begin, end, d);
  if (ec != std::errc() || p != end) return std::nullopt;
  return d;
}

std::int64_t Rows::int64(std::size_t row, std::size_t col) const {
  return optional_int64(row, col).value_or(0);
}

std::string to_dollar_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;
  for (std::size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote != 0) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote re-opens on the next character
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      while (i < sql.size() && sql[i] != '\n') out += sql[i++];
      if (i < sql.size()) out += '\n';
    } else if (c == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace parley::store::sql
