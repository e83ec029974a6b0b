// SPDX-License-Identifier: MIT
#include "daemon/http/metrics.hpp"

#include <cstdio>

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

void Metrics::observe_attempt(const std::string& network, std::string_view outcome,
                              std::chrono::duration<double> took) {
  const double seconds = took.count();
  std::lock_guard lock(mutex_);
  ++attempts_[{network, std::string(outcome)}];
  Histogram& h = latency_[network];
  for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
    if (seconds <= kLatencyBuckets[i]) {
      ++h.buckets[i];
      break;
    }
  }
  ++h.count;
  h.sum += seconds;
}

namespace {
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

std::string Metrics::render_publishing() const {
  std::string out =
      "# HELP multivio_publish_attempts_total Publish attempts this daemon made, by network and outcome.\n"
      "# TYPE multivio_publish_attempts_total counter\n";
  std::lock_guard lock(mutex_);
  for (const auto& [key, n] : attempts_) {
    out += "multivio_publish_attempts_total{network=\"" + label_value(key.first) + "\",outcome=\"" +
           label_value(key.second) + "\"} " + std::to_string(n) + "\n";
  }
  out +=
      "# HELP multivio_publish_duration_seconds Time one publish attempt took, network calls included.\n"
      "# TYPE multivio_publish_duration_seconds histogram\n";
  for (const auto& [network, h] : latency_) {
    const std::string label = "network=\"" + label_value(network) + "\"";
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < kLatencyBuckets.size(); ++i) {
      cumulative += h.buckets[i];
      out += "multivio_publish_duration_seconds_bucket{" + label + ",le=\"" + number(kLatencyBuckets[i]) + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "multivio_publish_duration_seconds_bucket{" + label + ",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    out += "multivio_publish_duration_seconds_sum{" + label + "} " + number(h.sum) + "\n";
    out += "multivio_publish_duration_seconds_count{" + label + "} " + std::to_string(h.count) + "\n";
  }
  return out;
}

}  // namespace multivio::daemon::http
