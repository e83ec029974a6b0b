// SPDX-License-Identifier: MIT
#include "common/http/url_policy.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/error.hpp"

namespace multivio::http {

namespace {

struct Range4 {
  std::uint32_t base;
  int bits;
};

constexpr std::uint32_t ip4(int a, int b, int c, int d) {
  return (static_cast<std::uint32_t>(a) << 24) | (static_cast<std::uint32_t>(b) << 16) |
         (static_cast<std::uint32_t>(c) << 8) | static_cast<std::uint32_t>(d);
}

// IANA special-purpose IPv4 ranges that are not globally reachable.
constexpr std::array<Range4, 15> kBlocked4{{
    {ip4(0, 0, 0, 0), 8},        // "this network"
    {ip4(10, 0, 0, 0), 8},       // private
    {ip4(100, 64, 0, 0), 10},    // carrier-grade NAT
    {ip4(127, 0, 0, 0), 8},      // loopback
    {ip4(169, 254, 0, 0), 16},   // link-local, cloud metadata
    {ip4(172, 16, 0, 0), 12},    // private
    {ip4(192, 0, 0, 0), 24},     // IETF protocol assignments
    {ip4(192, 0, 2, 0), 24},     // documentation
    {ip4(192, 88, 99, 0), 24},   // 6to4 relay anycast (deprecated)
    {ip4(192, 168, 0, 0), 16},   // private
    {ip4(198, 18, 0, 0), 15},    // benchmarking
    {ip4(198, 51, 100, 0), 24},  // documentation
    {ip4(203, 0, 113, 0), 24},   // documentation
    {ip4(224, 0, 0, 0), 4},      // multicast
    {ip4(240, 0, 0, 0), 4},      // reserved, broadcast
}};

bool public4(std::uint32_t a) {
  for (const auto& r : kBlocked4) {
    const std::uint32_t mask = r.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - r.bits);
    if ((a & mask) == r.base) return false;
  }
  return true;
}

bool public6(const in6_addr& a) {
  const auto* b = a.s6_addr;
  if (IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_MULTICAST(&a) ||
      IN6_IS_ADDR_LINKLOCAL(&a) || IN6_IS_ADDR_SITELOCAL(&a)) {
    return false;
  }
  if ((b[0] & 0xfe) == 0xfc) return false;  // unique local fc00::/7
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) return false;  // documentation 2001:db8::/32
  // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible forms reach IPv4 hosts.
  if (IN6_IS_ADDR_V4MAPPED(&a) || IN6_IS_ADDR_V4COMPAT(&a)) {
    return public4(ip4(b[12], b[13], b[14], b[15]));
  }
  // NAT64 (64:ff9b::/96) embeds an IPv4 address too.
  static constexpr std::uint8_t kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (std::memcmp(b, kNat64, sizeof kNat64) == 0) return public4(ip4(b[12], b[13], b[14], b[15]));
  return true;
}

struct AddrinfoFree {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

// The host of an http(s) URL, brackets removed from an IPv6 literal; empty
// when the URL is not http(s) or has no host.
std::string host_of(const std::string& url) {
  std::size_t start = 0;
  if (url.rfind("https://", 0) == 0) {
    start = 8;
  } else if (url.rfind("http://", 0) == 0) {
    start = 7;
  } else {
    return {};
  }
  std::string authority = url.substr(start, url.find_first_of("/?#", start) - start);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string::npos ? std::string() : authority.substr(1, close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

}  // namespace

bool is_public_address(const sockaddr* address) {
  if (address->sa_family == AF_INET) {
    return public4(ntohl(reinterpret_cast<const sockaddr_in*>(address)->sin_addr.s_addr));
  }
  if (address->sa_family == AF_INET6) return public6(reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr);
  return false;
}

void require_public_url(const std::string& url, std::string_view what) {
  const std::string host = host_of(url);
  const std::string name(what);
  if (host.empty()) throw_usage(name + " must be an http:// or https:// URL with a host, got '" + url + "'");
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr) {
    throw_usage(name + ": cannot resolve the host '" + host + "'");
  }
  const std::unique_ptr<addrinfo, AddrinfoFree> owned(found);
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (!is_public_address(a->ai_addr)) {
      throw_usage(name + ": '" + host + "' is a loopback, private or reserved address, which API clients may not " +
                  "make the daemon call (an operator can allow it with daemon.http.allow_private_urls)");
    }
  }
}

}  // namespace multivio::http
