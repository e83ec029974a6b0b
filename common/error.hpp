// SPDX-License-Identifier: MIT
// One error type for the whole library. Every failure carries a kind that the
// CLI maps to an exit code, the REST listener to an HTTP status and the daemon
// to a target state transition. Adapters never pick exit codes themselves.
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace multivio {

enum class ErrorKind {
  usage,       // bad flag or argument value (exit 2)
  validation,  // content rejected by a network's rules (exit 3)
  not_found,   // unknown id or ref (exit 4)
  auth,        // credentials missing, invalid or expired (exit 5)
  transient,   // may succeed later: timeouts, 429, 5xx (exit 1)
  permanent,   // will not succeed as is: other 4xx, internal failures (exit 1)
};

/// The exit status DESIGN §4 assigns to a kind.
int exit_code(ErrorKind kind) noexcept;
/// The HTTP status the REST listener answers for a kind (DESIGN §7): usage
/// 400, validation 422, not_found 404, auth 401, transient 503, permanent 500.
int http_status_for(ErrorKind kind) noexcept;
/// Stable machine name used in JSON error bodies ("usage", "validation", ...).
std::string_view kind_name(ErrorKind kind) noexcept;

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message) : std::runtime_error(std::move(message)), kind_(kind) {}

  ErrorKind kind() const noexcept { return kind_; }

  /// Server-requested delay before the next try (Retry-After, rate-limit reset).
  std::optional<std::chrono::seconds> retry_after;
  /// The request may have reached the network: a retry could duplicate it.
  bool outcome_unknown = false;
  /// HTTP status of the response that caused this error, 0 when none.
  int http_status = 0;

  /// Returns a copy whose message is "<prefix>: <message>" (context on the way up).
  Error with_prefix(std::string_view prefix) const;
  /// The same error with words appended ("... (thread part 2 of 3)"),
  /// keeping what the state machine reads (retry_after, outcome_unknown, status).
  Error with_suffix(std::string_view suffix) const;

 private:
  ErrorKind kind_;
};

[[noreturn]] void throw_usage(std::string message);
[[noreturn]] void throw_validation(std::string message);
[[noreturn]] void throw_not_found(std::string message);
[[noreturn]] void throw_auth(std::string message);
[[noreturn]] void throw_permanent(std::string message);

}  // namespace multivio
