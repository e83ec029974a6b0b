// SPDX-License-Identifier: MIT
#include "tests/fakes/media_samples.hpp"

#include <fstream>
#include <stdexcept>
#include <string_view>

namespace multivio::fakes {

namespace {

void put(std::string& b, std::string_view s) { b.append(s); }
void be16(std::string& b, std::uint32_t v) {
  b.push_back(static_cast<char>(v >> 8));
  b.push_back(static_cast<char>(v));
}
void be32(std::string& b, std::uint32_t v) {
  be16(b, v >> 16);
  be16(b, v & 0xFFFF);
}
void box(std::string& b, std::string_view type, const std::string& body) {
  be32(b, static_cast<std::uint32_t>(8 + body.size()));
  put(b, type);
  b += body;
}

}  // namespace

std::string sample_png(std::uint32_t width, std::uint32_t height) {
  std::string b("\x89PNG\r\n\x1a\n", 8);
  be32(b, 13);
  put(b, "IHDR");
  be32(b, width);
  be32(b, height);
  b += std::string("\x08\x06\x00\x00\x00", 5);
  b += std::string(4, '\0');  // CRC: not checked by sniffing
  b += std::string(64, '\0');
  return b;
}

std::string sample_jpeg(std::uint32_t width, std::uint32_t height) {
  std::string b("\xFF\xD8\xFF\xE0", 4);  // SOI, APP0 JFIF
  be16(b, 16);
  b += std::string("JFIF\0", 5);
  b += std::string(9, '\0');
  b += std::string("\xFF\xC0", 2);  // SOF0
  be16(b, 17);
  b.push_back(8);
  be16(b, height);
  be16(b, width);
  b.push_back(3);
  b += std::string(9, '\0');
  b += std::string(64, '\0');
  b += std::string("\xFF\xD9", 2);
  return b;
}

std::string sample_mp4(std::int64_t duration_ms, std::size_t total_bytes) {
  std::string b;
  box(b, "ftyp", "isom" + std::string(4, '\0') + "isommp42");
  std::string mvhd(4, '\0');  // version 0, flags
  mvhd += std::string(8, '\0');  // creation and modification times
  be32(mvhd, 1000);              // timescale: milliseconds
  be32(mvhd, static_cast<std::uint32_t>(duration_ms));
  mvhd += std::string(80, '\0');
  std::string moov;
  box(moov, "mvhd", mvhd);
  const std::size_t fixed = b.size() + 8 + 8 + moov.size();
  // Not zeros: a byte lost, repeated or reordered on upload changes the file.
  std::string data(total_bytes > fixed ? total_bytes - fixed : 0, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 131 + i / 251) & 0xFF);
  box(b, "mdat", data);
  box(b, "moov", moov);
  return b;
}

void write_sample(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

}  // namespace multivio::fakes
