// SPDX-License-Identifier: MIT
// An incremental Server-Sent Events parser (WHATWG HTML "event stream
// interpretation"), fed with whatever pieces the network delivers. Knows
// nothing about chat completions; ai/client.cpp decides what "[DONE]" means.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace multivio::ai {

struct SseEvent {
  std::string event;  // the "event:" field; empty when none was sent (the spec's "message")
  std::string data;   // "data:" lines joined with '\n'
  std::string id;     // the last "id:" seen on the stream so far (it persists across events)

  bool operator==(const SseEvent&) const = default;
};

/// Thread affinity: one parser per stream, used from one thread.
class SseParser {
 public:
  using Handler = std::function<void(const SseEvent&)>;

  /// Events larger than this are refused (a stream that never sends a blank
  /// line must not grow memory without bound).
  static constexpr std::size_t k_default_max_event = 8u << 20;

  explicit SseParser(std::size_t max_event_bytes = k_default_max_event) : max_event_(max_event_bytes) {}

  /// Parses the next piece of the stream and calls on_event for every event
  /// it completes. Pieces may end anywhere: inside a line, between CR and LF,
  /// inside a UTF-8 sequence. Lines end with CRLF, LF or CR; lines starting
  /// with ':' are comments; one space after a field's colon is dropped; a
  /// leading UTF-8 BOM is skipped. An event is dispatched at a blank line when
  /// it had a data or event field (unlike the spec, a data-less "event: error"
  /// is not lost). Throws Error(permanent) when one event exceeds the limit.
  /// An exception thrown by on_event propagates; the parser is then unusable
  /// until reset().
  void feed(std::string_view bytes, const Handler& on_event);

  /// End of stream: an unterminated last line counts as a line and a pending
  /// event without its closing blank line is dispatched (servers that close
  /// right after the last "data:" line still get their event through).
  void finish(const Handler& on_event);

  /// Forgets everything, including the last event id.
  void reset();

  /// The reconnection delay from the last valid "retry:" field, if any.
  std::optional<std::chrono::milliseconds> retry() const { return retry_; }

  /// True while bytes of an unfinished line or event are held.
  bool pending() const { return !line_.empty() || has_fields_; }

 private:
  void process_line(std::string_view line, const Handler& on_event);
  void dispatch(const Handler& on_event);

  std::size_t max_event_;
  std::string line_;          // the current line so far, without its terminator
  bool after_cr_ = false;     // the last byte was CR: a following LF belongs to it
  bool first_line_ = true;    // for the BOM check
  bool has_fields_ = false;   // the current event had a data or event field
  bool has_data_ = false;
  std::string data_;
  std::string event_;
  std::string last_id_;
  std::optional<std::chrono::milliseconds> retry_;
};

}  // namespace multivio::ai
