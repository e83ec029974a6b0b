// SPDX-License-Identifier: MIT
// Sending one mail through libcurl's SMTP support (the same dlopen'ed libcurl
// as client.hpp). Used by email notifications; the message itself is composed
// by the caller.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace multivio::http {

struct SmtpRequest {
  /// smtp://host[:port] (plain, upgraded with STARTTLS unless starttls is
  /// false) or smtps://host[:port] (implicit TLS). No credentials in the URL.
  std::string url;
  bool starttls = true;  // smtp:// only: require STARTTLS; false sends in clear text
  std::string from;      // envelope sender: a bare address, "a@b" or "<a@b>"
  std::vector<std::string> recipients;  // envelope recipients, bare addresses
  /// The complete RFC 5322 message (headers, blank line, body) with CRLF
  /// line ends. libcurl adds the dot-stuffing and the final "." itself.
  std::string message;
  std::string username;  // empty: no AUTH
  std::string password;
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds total_timeout{30'000};
};

/// Sends the message. Throws Error: auth when the server refuses the login,
/// permanent for a bad URL, a server without the required STARTTLS or a 5xx
/// reply, transient for connection failures, timeouts and 4xx replies
/// (outcome_unknown unless the connection was never made). Messages name the
/// URL (redacted) and the server's reply code, never the password.
void send_mail(const SmtpRequest& request);

/// "Name <a@b>" -> "a@b"; "a@b" -> "a@b".
std::string mail_address(const std::string& mailbox);

}  // namespace multivio::http
