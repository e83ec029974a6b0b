// SPDX-License-Identifier: MIT
// Small but well-formed media files for tests: the headers the sniffer reads
// (common/media/sniff.hpp) are real, the pixel and sample data are zeros.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace multivio::fakes {

/// A PNG with the given dimensions.
std::string sample_png(std::uint32_t width, std::uint32_t height);
/// A baseline JPEG with the given dimensions.
std::string sample_jpeg(std::uint32_t width, std::uint32_t height);
/// An MP4 of `duration_ms` (ftyp, an mdat padding the file to at least
/// `total_bytes`, then moov/mvhd at the end, as encoders usually write it).
std::string sample_mp4(std::int64_t duration_ms, std::size_t total_bytes = 1024);
/// Writes bytes to path (truncating); throws std::runtime_error on failure.
void write_sample(const std::string& path, const std::string& bytes);

}  // namespace multivio::fakes
