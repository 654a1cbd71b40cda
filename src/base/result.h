// Result<T>: a value of type T or an error Status. The usual way to return from a function
// that can fail:
//
//   Result<GgufFile> f = GgufFile::open(path);
//   if (!f.ok()) return f.status();
//   ASSIGN_OR_RETURN(auto file, GgufFile::open(path));   // the same, shorter
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "base/check.h"
#include "base/status.h"

namespace parley {

template <typename T>
class [[nodiscard]] Result {
  static_assert(!std::is_same_v<std::remove_cvref_t<T>, Status>, "Result<Status> is meaningless");

 public:
  // Implicit from a value or from an error, so `return value;` and `return some_error(...);` work.
  Result(T value) : v_(std::in_place_index<1>, std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::in_place_index<0>, std::move(status)) {  // NOLINT(google-explicit-constructor)
    CHECK(!std::get<0>(v_).ok(), "Result constructed from an OK status without a value");
  }
  template <typename U>
    requires(std::is_constructible_v<T, U&&> && !std::is_same_v<std::remove_cvref_t<U>, T> &&
             !std::is_same_v<std::remove_cvref_t<U>, Status> &&
             !std::is_same_v<std::remove_cvref_t<U>, Result<T>>)
  Result(U&& value) : v_(std::in_place_index<1>, T(std::forward<U>(value))) {}  // NOLINT

  bool ok() const { return v_.index() == 1; }

  // The error, or OK when there is a value.
  Status status() const& { return ok() ? Status() : std::get<0>(v_); }
  Status status() && { return ok() ? Status() : std::move(std::get<0>(v_)); }

  // Accessing the value of an error is a broken invariant (CHECK).
  T& value() & { check_ok(); return std::get<1>(v_); }
  const T& value() const& { check_ok(); return std::get<1>(v_); }
  T&& value() && { check_ok(); return std::move(std::get<1>(v_)); }

  T value_or(T fallback) const& { return ok() ? std::get<1>(v_) : std::move(fallback); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  void check_ok() const {
    if (!ok()) ::parley::detail::check_failed("Result::value() on error", __FILE__, __LINE__,
                                               std::get<0>(v_).to_string());
  }
  std::variant<Status, T> v_;
};

namespace detail {
template <typename T>
Status as_status(const Result<T>& r) { return r.status(); }
}  // namespace detail

}  // namespace parley

#define PARLEY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return std::move(tmp).status();     \
  lhs = std::move(tmp).value()

// ASSIGN_OR_RETURN(auto x, f()): x = f().value(), or return f()'s error from the enclosing function.
#define ASSIGN_OR_RETURN(lhs, expr) \
  PARLEY_ASSIGN_OR_RETURN_IMPL(PARLEY_CONCAT(parley_result_, __LINE__), lhs, expr)
