// SPDX-License-Identifier: MIT
#include "common/error.hpp"

namespace multivio {

int exit_code(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 2;
    case ErrorKind::validation: return 3;
    case ErrorKind::not_found: return 4;
    case ErrorKind::auth: return 5;
    case ErrorKind::transient:
    case ErrorKind::permanent: return 1;
  }
  return 1;
}

int http_status_for(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return 400;
    case ErrorKind::validation: return 422;
    case ErrorKind::not_found: return 404;
    case ErrorKind::auth: return 401;
    case ErrorKind::transient: return 503;
    case ErrorKind::permanent: return 500;
  }
  return 500;
}

std::string_view kind_name(ErrorKind kind) noexcept {
  switch (kind) {
    case ErrorKind::usage: return "usage";
    case ErrorKind::validation: return "validation";
    case ErrorKind::not_found: return "not_found";
    case ErrorKind::auth: return "auth";
    case ErrorKind::transient: return "transient";
    case ErrorKind::permanent: return "permanent";
  }
  return "permanent";
}

Error Error::with_prefix(std::string_view prefix) const {
  Error copy(kind_, std::string(prefix) + ": " + what());
  copy.retry_after = retry_after;
  copy.outcome_unknown = outcome_unknown;
  copy.http_status = http_status;
  return copy;
}

Error Error::with_suffix(std::string_view suffix) const {
  Error copy(kind_, std::string(what()) + std::string(suffix));
  copy.retry_after = retry_after;
  copy.outcome_unknown = outcome_unknown;
  copy.http_status = http_status;
  return copy;
}

void throw_usage(std::string message) { throw Error(ErrorKind::usage, std::move(message)); }
void throw_validation(std::string message) { throw Error(ErrorKind::validation, std::move(message)); }
void throw_not_found(std::string message) { throw Error(ErrorKind::not_found, std::move(message)); }
void throw_auth(std::string message) { throw Error(ErrorKind::auth, std::move(message)); }
void throw_permanent(std::string message) { throw Error(ErrorKind::permanent, std::move(message)); }

}  // namespace multivio
