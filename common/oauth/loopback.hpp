// SPDX-License-Identifier: MIT
// Receiving the authorization redirect: a one-shot HTTP receiver on
// 127.0.0.1 (RFC 8252 §7.3) for when a browser runs on this machine, and a
// parser for the redirect URL or code a user pastes (--no-browser, SSH).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/oauth/form.hpp"

namespace multivio::oauth {

/// The part of an authorization response (RFC 6749 §4.1.2) the client uses.
struct AuthorizationResponse {
  std::string code;
  std::string state;  // empty when the user pasted a bare code
};

/// Reads a redirect's query parameters. Throws:
/// - AuthError{oauth_error = the server's code} when `error` is present (the
///   user denied access, or the request was refused), with error_description;
/// - AuthError{oauth_error = "state_mismatch"} when expected_state is not
///   empty and the state is missing or different (compared in constant time);
/// - Error(usage) when there is neither code nor error.
AuthorizationResponse read_authorization_response(const Params& query, std::string_view expected_state);

/// For --no-browser: accepts the full redirect URL the browser ended on
/// ("http://127.0.0.1:8765/callback?code=...&state=..."), its query alone
/// ("code=...&state=..."), or a bare code. A URL is checked with
/// read_authorization_response() (state checked when expected_state is not
/// empty); a bare code is returned with an empty state. Surrounding
/// whitespace and a "#..." fragment are ignored. Throws Error(usage) naming
/// the problem for empty, multi-word or malformed input.
AuthorizationResponse parse_pasted_redirect(std::string_view input, std::string_view expected_state = {});

/// Listens on 127.0.0.1 from construction to destruction and takes the first
/// request to its callback path that carries a code or an error. The browser
/// gets a short HTML page: "you can close this tab", or what went wrong.
/// wait() may be called from any one thread; the server runs on its own threads.
class LoopbackReceiver {
 public:
  /// Binds 127.0.0.1:`port` (0 picks a free port) and starts serving, so
  /// redirect_uri() is final before the authorization URL is built. An empty
  /// expected_state turns the state check off. Throws Error(usage) when the
  /// port cannot be bound (in use, or privileged).
  explicit LoopbackReceiver(std::string expected_state, int port = 0, std::string path = "/callback");
  ~LoopbackReceiver();
  LoopbackReceiver(const LoopbackReceiver&) = delete;
  LoopbackReceiver& operator=(const LoopbackReceiver&) = delete;

  int port() const;
  /// "http://127.0.0.1:PORT/callback": register exactly this with the network.
  std::string redirect_uri() const;

  /// Blocks until the browser arrives or `timeout` passes. Returns the code
  /// and state; throws what read_authorization_response() throws, or on
  /// timeout Error(usage) "no answer from the browser within N s; rerun with
  /// --no-browser to paste the redirect URL". After the first answer, every
  /// call returns (or throws) that same answer.
  AuthorizationResponse wait(std::chrono::milliseconds timeout);

  /// Stops listening (also done by the destructor). Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace multivio::oauth
