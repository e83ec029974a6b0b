// SPDX-License-Identifier: MIT
#include "daemon/http/metrics.hpp"

namespace multivio::daemon::http {

std::string label_value(const std::string& value) {
  std::string out;
  for (const char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void Metrics::count_request(const std::string& method, const std::string& route, int status) {
  std::lock_guard lock(mutex_);
  ++requests_[{method, route, status}];
}

std::string Metrics::render_requests() const {
  std::string out =
      "# HELP multivio_http_requests_total HTTP requests answered, by route pattern, method and status.\n"
      "# TYPE multivio_http_requests_total counter\n";
  std::lock_guard lock(mutex_);
  for (const auto& [key, n] : requests_) {
    const auto& [method, route, status] = key;
    out += "multivio_http_requests_total{method=\"" + label_value(method) + "\",route=\"" + label_value(route) +
           "\",status=\"" + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  return out;
}

}  // namespace multivio::daemon::http
