// SPDX-License-Identifier: MIT
// Parsing the WHEN values of DESIGN §4 into UTC instants, with IANA zones
// from the system tzdata (date/tz).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/model/model.hpp"

namespace multivio::schedule {

using model::Timestamp;

/// Accepts: ISO 8601 with or without offset ("2026-12-01T09:00",
/// "2026-12-01 09:00+01:00", "...Z", seconds optional), "now", "in 45s",
/// "in 90m", "in 2h", "in 3d", "today 17:00", "tomorrow 09:00", weekday names
/// ("mon 9:00", "monday 09:00": the next such instant strictly after now,
/// so today when the time is still ahead). Times without an offset are read in
/// `zone`. A local time inside a DST gap is rejected; an ambiguous one (DST
/// overlap) is rejected unless an offset is given. Throws Error(usage) with
/// the reason and the accepted forms.
Timestamp parse_when(std::string_view text, Timestamp now, const std::string& zone);

/// Throws Error(usage) "unknown time zone 'X'" when zone is not an IANA name.
void check_zone(const std::string& zone);

/// The zone to read times in: flag, then config, then TZ, then "UTC".
std::string effective_zone(const std::string& flag, const std::string& config_zone,
                           const std::optional<std::string>& tz_env);

/// "2026-12-01 09:00:00 CET" in zone.
std::string format_local(Timestamp t, const std::string& zone);

}  // namespace multivio::schedule
