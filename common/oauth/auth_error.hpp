// SPDX-License-Identifier: MIT
// The error an OAuth step throws when credentials are refused: an Error(auth)
// that also says whether the stored grant is dead and the account must be
// linked again (`account check` and exit 5 report it).
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include "common/error.hpp"

namespace multivio::oauth {

struct AuthError : Error {
  AuthError(std::string message, std::string oauth_error_code, bool relink)
      : Error(ErrorKind::auth, std::move(message)), relink_required(relink), oauth_error(std::move(oauth_error_code)) {}

  /// The refresh token (or code) was rejected for good: refreshing again cannot
  /// help, only linking the account again can.
  bool relink_required = false;
  /// The server's RFC 6749 error code ("invalid_grant", "access_denied", ...),
  /// or a multivio one ("state_mismatch"); empty when there was none.
  std::string oauth_error;

  /// Error::with_prefix for an AuthError: keeps the flag and the code (the base
  /// class version would slice them off).
  AuthError with_prefix(std::string_view prefix) const {
    AuthError copy(std::string(prefix) + ": " + what(), oauth_error, relink_required);
    copy.retry_after = retry_after;
    copy.outcome_unknown = outcome_unknown;
    copy.http_status = http_status;
    return copy;
  }
};

}  // namespace multivio::oauth
