// Result<T> / Error: the error type every fallible function returns.
// Named like std::expected so the switch to C++23 is mechanical.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace failover {

enum class ErrorCode {
  kInvalidArgument,  // bad input: config, payload, flag
  kNotFound,
  kUnavailable,  // network, server down: usually retryable
  kTimeout,
  kPermissionDenied,
  kInternal,
  // A journal write refused because this process no longer holds the execution's lock
  // (actuator/journal.h: Journal::Fence); the next holder writes instead. Not retryable.
  kLostLock,
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  bool retryable = false;

  static Error Invalid(std::string msg) { return {ErrorCode::kInvalidArgument, std::move(msg)}; }
  static Error Unavailable(std::string msg) {
    return {ErrorCode::kUnavailable, std::move(msg), true};
  }
  static Error Internal(std::string msg) { return {ErrorCode::kInternal, std::move(msg)}; }
};

// Tag to construct a Result in the error state: `return Unexpected(Error::Invalid("..."));`
struct Unexpected {
  explicit Unexpected(Error e) : error(std::move(e)) {}
  Error error;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit like std::expected
  Result(Unexpected u) : v_(std::move(u.error)) {}  // NOLINT
  Result(Error e) : v_(std::move(e)) {}             // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // On a temporary Result these return the value itself, not a reference into the
  // temporary: `for (auto& x : *Load())` stays valid for the whole loop.
  T value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Unexpected u) : err_(std::move(u.error)), ok_(false) {}  // NOLINT
  Result(Error e) : err_(std::move(e)), ok_(false) {}             // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_;
  bool ok_ = true;
};

using Status = Result<void>;

}  // namespace failover
