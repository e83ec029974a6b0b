// SPDX-License-Identifier: MIT
#include "common/ai/sse.hpp"

#include <algorithm>

#include "common/error.hpp"

namespace multivio::ai {

namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

[[noreturn]] void too_large(std::size_t limit) {
  throw Error(ErrorKind::permanent,
              "server-sent event larger than " + std::to_string(limit) + " bytes");
}

}  // namespace

void SseParser::feed(std::string_view bytes, const Handler& on_event) {
  while (!bytes.empty()) {
    if (after_cr_) {
      // The CR ended a line already; an LF right after it (possibly in the
      // next piece) is the second half of a CRLF, not an empty line.
      after_cr_ = false;
      if (bytes.front() == '\n') {
        bytes.remove_prefix(1);
        continue;
      }
    }
    const std::size_t end = bytes.find_first_of("\r\n");
    if (end == std::string_view::npos) {
      if (line_.size() + data_.size() + bytes.size() > max_event_) {
        too_large(max_event_);
      }
      line_.append(bytes);
      return;
    }
    after_cr_ = bytes[end] == '\r';
    if (line_.empty()) {
      process_line(bytes.substr(0, end), on_event);  // the common case: no copy
    } else {
      line_.append(bytes.substr(0, end));
      const std::string line = std::move(line_);
      line_.clear();
      process_line(line, on_event);
    }
    bytes.remove_prefix(end + 1);
  }
}

void SseParser::finish(const Handler& on_event) {
  after_cr_ = false;
  if (!line_.empty()) {
    const std::string line = std::move(line_);
    line_.clear();
    process_line(line, on_event);
  }
  dispatch(on_event);
}

void SseParser::reset() {
  line_.clear();
  after_cr_ = false;
  first_line_ = true;
  has_fields_ = false;
  has_data_ = false;
  data_.clear();
  event_.clear();
  last_id_.clear();
  retry_.reset();
}

void SseParser::process_line(std::string_view line, const Handler& on_event) {
  if (first_line_) {
    first_line_ = false;
    if (line.starts_with(k_bom)) {
      line.remove_prefix(k_bom.size());
    }
  }
  if (line.empty()) {
    dispatch(on_event);
    return;
  }
  if (line.front() == ':') {
    return;  // comment: keep-alive pings
  }
  const std::size_t colon = line.find(':');
  const std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
  if (value.starts_with(' ')) {
    value.remove_prefix(1);
  }

  if (field == "data") {
    if (data_.size() + value.size() + 1 > max_event_) {
      too_large(max_event_);
    }
    if (has_data_) {
      data_.push_back('\n');
    }
    data_.append(value);
    has_data_ = true;
    has_fields_ = true;
  } else if (field == "event") {
    event_.assign(value);
    has_fields_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      last_id_.assign(value);
    }
  } else if (field == "retry") {
    if (!value.empty() && value.size() <= 12 &&
        std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      retry_ = std::chrono::milliseconds(std::stoll(std::string(value)));
    }
  }
  // Any other field is ignored, as the spec requires.
}

void SseParser::dispatch(const Handler& on_event) {
  if (!has_fields_) {
    return;
  }
  // Clear the state before calling out, so a throwing handler leaves no
  // half-dispatched event behind.
  SseEvent event{std::move(event_), std::move(data_), last_id_};
  event_.clear();
  data_.clear();
  has_fields_ = false;
  has_data_ = false;
  on_event(event);
}

}  // namespace multivio::ai
