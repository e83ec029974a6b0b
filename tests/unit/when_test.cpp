// SPDX-License-Identifier: MIT
#include "common/schedule/when.hpp"

#include <gtest/gtest.h>

#include "common/error.hpp"

namespace multivio::schedule {
namespace {

using namespace std::chrono;

Timestamp utc(int y, unsigned mo, unsigned d, int h, int mi, int s = 0, int ms = 0) {
  return Timestamp{sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s} + milliseconds{ms}};
}

// Wednesday 2026-11-25, 11:00 in Berlin, 05:00 in New York, 15:30 in Kolkata.
const Timestamp kNow = utc(2026, 11, 25, 10, 0);

std::string usage_error(std::string_view text, const std::string& zone, Timestamp now = kNow) {
  try {
    parse_when(text, now, zone);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << text;
    return e.what();
  }
  ADD_FAILURE() << "'" << text << "' was accepted";
  return {};
}

TEST(ParseWhen, IsoWithoutOffsetIsReadInTheZone) {
  EXPECT_EQ(parse_when("2026-12-01T09:00", kNow, "UTC"), utc(2026, 12, 1, 9, 0));
  EXPECT_EQ(parse_when("2026-12-01 09:00", kNow, "UTC"), utc(2026, 12, 1, 9, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00:30", kNow, "UTC"), utc(2026, 12, 1, 9, 0, 30));
  EXPECT_EQ(parse_when("2026-12-01t09:00:30.25", kNow, "UTC"), utc(2026, 12, 1, 9, 0, 30, 250));
  EXPECT_EQ(parse_when("  2026-12-01T09:00  ", kNow, "UTC"), utc(2026, 12, 1, 9, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00", kNow, "Europe/Berlin"), utc(2026, 12, 1, 8, 0));
  EXPECT_EQ(parse_when("2026-07-01T09:00", kNow, "Europe/Berlin"), utc(2026, 7, 1, 7, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00", kNow, "America/New_York"), utc(2026, 12, 1, 14, 0));
  EXPECT_EQ(parse_when("2026-07-01T09:00", kNow, "America/New_York"), utc(2026, 7, 1, 13, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00", kNow, "Asia/Kolkata"), utc(2026, 12, 1, 3, 30));
}

TEST(ParseWhen, IsoWithOffsetIgnoresTheZone) {
  EXPECT_EQ(parse_when("2026-12-01T09:00Z", kNow, "Asia/Kolkata"), utc(2026, 12, 1, 9, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00z", kNow, "UTC"), utc(2026, 12, 1, 9, 0));
  EXPECT_EQ(parse_when("2026-12-01 09:00+01:00", kNow, "America/New_York"), utc(2026, 12, 1, 8, 0));
  EXPECT_EQ(parse_when("2026-12-01 09:00+0100", kNow, "UTC"), utc(2026, 12, 1, 8, 0));
  EXPECT_EQ(parse_when("2026-12-01 09:00 +01", kNow, "UTC"), utc(2026, 12, 1, 8, 0));
  EXPECT_EQ(parse_when("2026-12-01T09:00:15-05:00", kNow, "Europe/Berlin"), utc(2026, 12, 1, 14, 0, 15));
  EXPECT_EQ(parse_when("2026-12-01T09:00+05:30", kNow, "UTC"), utc(2026, 12, 1, 3, 30));
}

TEST(ParseWhen, Now) {
  EXPECT_EQ(parse_when("now", kNow, "Europe/Berlin"), kNow);
  EXPECT_EQ(parse_when(" NOW ", kNow, "UTC"), kNow);
}

TEST(ParseWhen, Relative) {
  EXPECT_EQ(parse_when("in 45s", kNow, "UTC"), kNow + seconds{45});
  EXPECT_EQ(parse_when("in 90m", kNow, "UTC"), kNow + minutes{90});
  EXPECT_EQ(parse_when("in 2h", kNow, "UTC"), kNow + hours{2});
  EXPECT_EQ(parse_when("in 3d", kNow, "UTC"), kNow + hours{72});
  EXPECT_EQ(parse_when("in 2 hours", kNow, "UTC"), kNow + hours{2});
  EXPECT_EQ(parse_when("in 30 minutes", kNow, "UTC"), kNow + minutes{30});
  EXPECT_EQ(parse_when("in 1 day", kNow, "UTC"), kNow + hours{24});
  EXPECT_EQ(parse_when("In 10 Sec", kNow, "UTC"), kNow + seconds{10});
  EXPECT_EQ(parse_when("in 0s", kNow, "UTC"), kNow);
}

TEST(ParseWhen, TodayAndTomorrow) {
  EXPECT_EQ(parse_when("today 17:00", kNow, "Europe/Berlin"), utc(2026, 11, 25, 16, 0));
  EXPECT_EQ(parse_when("tomorrow 09:00", kNow, "Europe/Berlin"), utc(2026, 11, 26, 8, 0));
  EXPECT_EQ(parse_when("Tomorrow at 9:00", kNow, "America/New_York"), utc(2026, 11, 26, 14, 0));
  EXPECT_EQ(parse_when("tomorrow 09:00:30", kNow, "UTC"), utc(2026, 11, 26, 9, 0, 30));
  // "today" is the zone's date: 23:30 UTC is already Thursday in Berlin.
  EXPECT_EQ(parse_when("today 09:00", utc(2026, 11, 25, 23, 30), "Europe/Berlin"), utc(2026, 11, 26, 8, 0));
  EXPECT_EQ(parse_when("today 09:00", utc(2026, 11, 25, 23, 30), "UTC"), utc(2026, 11, 25, 9, 0));
}

TEST(ParseWhen, WeekdayLaterToday) {
  EXPECT_EQ(parse_when("wed 12:00", kNow, "Europe/Berlin"), utc(2026, 11, 25, 11, 0));
  EXPECT_EQ(parse_when("Wednesday 11:00:01", kNow, "Europe/Berlin"), utc(2026, 11, 25, 10, 0, 1));
}

TEST(ParseWhen, WeekdayEarlierTodayOrNowMeansNextWeek) {
  EXPECT_EQ(parse_when("wed 10:00", kNow, "Europe/Berlin"), utc(2026, 12, 2, 9, 0));
  EXPECT_EQ(parse_when("wednesday 11:00", kNow, "Europe/Berlin"), utc(2026, 12, 2, 10, 0));
}

TEST(ParseWhen, WeekdayLaterThisWeek) {
  EXPECT_EQ(parse_when("mon 9:00", kNow, "Europe/Berlin"), utc(2026, 11, 30, 8, 0));
  EXPECT_EQ(parse_when("Monday 09:00", kNow, "Europe/Berlin"), utc(2026, 11, 30, 8, 0));
  EXPECT_EQ(parse_when("FRI 09:00", kNow, "America/New_York"), utc(2026, 11, 27, 14, 0));
  EXPECT_EQ(parse_when("thu 9:00", kNow, "Asia/Kolkata"), utc(2026, 11, 26, 3, 30));
  EXPECT_EQ(parse_when("sun 00:00", kNow, "UTC"), utc(2026, 11, 29, 0, 0));
  // Late Wednesday UTC is Thursday in Berlin, so "thu" there is later the same local day.
  EXPECT_EQ(parse_when("thu 9:00", utc(2026, 11, 25, 23, 30), "Europe/Berlin"), utc(2026, 11, 26, 8, 0));
}

TEST(ParseWhen, SpringForwardGapIsRejected) {
  EXPECT_EQ(usage_error("2026-03-29 02:30", "Europe/Berlin"),
            "2026-03-29 02:30 does not exist in Europe/Berlin (clocks skip forward)");
  EXPECT_EQ(usage_error("2026-03-08T02:30", "America/New_York"),
            "2026-03-08 02:30 does not exist in America/New_York (clocks skip forward)");
  EXPECT_EQ(usage_error("2026-03-08 02:30", "US/Eastern"),
            "2026-03-08 02:30 does not exist in US/Eastern (clocks skip forward)");
  EXPECT_EQ(usage_error("tomorrow 02:15:10", "Europe/Berlin", utc(2026, 3, 28, 12, 0)),
            "2026-03-29 02:15:10 does not exist in Europe/Berlin (clocks skip forward)");
  // Either side of the gap is fine.
  EXPECT_EQ(parse_when("2026-03-29 01:59", kNow, "Europe/Berlin"), utc(2026, 3, 29, 0, 59));
  EXPECT_EQ(parse_when("2026-03-29 03:00", kNow, "Europe/Berlin"), utc(2026, 3, 29, 1, 0));
}

TEST(ParseWhen, FallBackOverlapNeedsAnOffset) {
  EXPECT_EQ(usage_error("2026-10-25 02:30", "Europe/Berlin"),
            "2026-10-25 02:30 is ambiguous in Europe/Berlin (clocks go back); add an offset such as +01:00 or "
            "+02:00");
  EXPECT_EQ(usage_error("2026-11-01 01:30", "America/New_York"),
            "2026-11-01 01:30 is ambiguous in America/New_York (clocks go back); add an offset such as -05:00 "
            "or -04:00");
  EXPECT_EQ(parse_when("2026-10-25 02:30+02:00", kNow, "Europe/Berlin"), utc(2026, 10, 25, 0, 30));
  EXPECT_EQ(parse_when("2026-10-25 02:30+01:00", kNow, "Europe/Berlin"), utc(2026, 10, 25, 1, 30));
  EXPECT_EQ(parse_when("2026-11-01T01:30-04:00", kNow, "America/New_York"), utc(2026, 11, 1, 5, 30));
  EXPECT_EQ(parse_when("2026-11-01T01:30-05:00", kNow, "America/New_York"), utc(2026, 11, 1, 6, 30));
}

TEST(ParseWhen, InvalidValues) {
  EXPECT_EQ(usage_error("2026-02-30 09:00", "UTC"), "cannot read time '2026-02-30 09:00': 2026-02-30 is not a valid date");
  EXPECT_EQ(usage_error("2026-13-01 09:00", "UTC"), "cannot read time '2026-13-01 09:00': 2026-13-01 is not a valid date");
  EXPECT_EQ(usage_error("2026-12-01 25:00", "UTC"),
            "cannot read time '2026-12-01 25:00': the time of day is out of range (00:00 to 23:59:59)");
  EXPECT_EQ(usage_error("2026-12-01 09:60", "UTC"),
            "cannot read time '2026-12-01 09:60': the time of day is out of range (00:00 to 23:59:59)");
  EXPECT_EQ(usage_error("tomorrow 24:00", "UTC"),
            "cannot read time 'tomorrow 24:00': the time of day is out of range (00:00 to 23:59:59)");
  EXPECT_EQ(usage_error("2026-12-01 09:00+19:00", "UTC"),
            "cannot read time '2026-12-01 09:00+19:00': the UTC offset is out of range");
}

TEST(ParseWhen, GarbageNamesTheAcceptedForms) {
  const std::string forms =
      "use ISO 8601 (2026-12-01T09:00), 'now', 'in 90m', 'tomorrow 09:00' or 'mon 9:00'";
  EXPECT_EQ(usage_error("xyz", "UTC"), "cannot read time 'xyz': " + forms);
  for (const char* bad : {"", "   ", "in", "in 5", "in 5 fortnights", "in -5m", "in 1.5h", "2026-12-01", "mon",
                          "mon 9", "tomorrow", "someday 09:00", "2026-12-01T09:00+01:", "2026-12-01T09:00 junk",
                          "26-12-01 09:00", "2026/12/01 09:00", "next mon 9:00"}) {
    EXPECT_EQ(usage_error(bad, "UTC"), "cannot read time '" + std::string(bad) + "': " + forms);
  }
}

TEST(Zones, UnknownZone) {
  EXPECT_EQ(usage_error("now", "Mars/Olympus_Mons"), "unknown time zone 'Mars/Olympus_Mons'");
  try {
    check_zone("Europe/Berln");
    ADD_FAILURE() << "accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage);
    EXPECT_STREQ(e.what(), "unknown time zone 'Europe/Berln'");
  }
  EXPECT_THROW(check_zone(""), Error);
  EXPECT_NO_THROW(check_zone("UTC"));
  EXPECT_NO_THROW(check_zone("Europe/Berlin"));
  EXPECT_NO_THROW(check_zone("Asia/Kolkata"));
}

TEST(Zones, EffectiveZonePrecedence) {
  EXPECT_EQ(effective_zone("Asia/Kolkata", "Europe/Berlin", "America/New_York"), "Asia/Kolkata");
  EXPECT_EQ(effective_zone("", "Europe/Berlin", "America/New_York"), "Europe/Berlin");
  EXPECT_EQ(effective_zone("", "", "America/New_York"), "America/New_York");
  EXPECT_EQ(effective_zone("", "", ":Europe/Berlin"), "Europe/Berlin");
  EXPECT_EQ(effective_zone("", "", ":/usr/share/zoneinfo/Europe/Berlin"), "Europe/Berlin");
  EXPECT_EQ(effective_zone("", "", ""), "UTC");
  EXPECT_EQ(effective_zone("", "", std::nullopt), "UTC");
}

TEST(Zones, FormatLocal) {
  EXPECT_EQ(format_local(utc(2026, 12, 1, 8, 0), "Europe/Berlin"), "2026-12-01 09:00:00 CET");
  EXPECT_EQ(format_local(utc(2026, 7, 1, 7, 0, 5, 999), "Europe/Berlin"), "2026-07-01 09:00:05 CEST");
  EXPECT_EQ(format_local(utc(2026, 12, 1, 14, 0), "America/New_York"), "2026-12-01 09:00:00 EST");
  EXPECT_EQ(format_local(utc(2026, 12, 1, 3, 30), "Asia/Kolkata"), "2026-12-01 09:00:00 IST");
  EXPECT_EQ(format_local(utc(2026, 12, 1, 9, 0), "UTC"), "2026-12-01 09:00:00 UTC");
  EXPECT_THROW(format_local(kNow, "Nowhere/Special"), Error);
}

TEST(Zones, RoundTripThroughFormatLocal) {
  const Timestamp t = parse_when("2026-10-25 02:30+02:00", kNow, "Europe/Berlin");
  EXPECT_EQ(format_local(t, "Europe/Berlin"), "2026-10-25 02:30:00 CEST");
  EXPECT_EQ(format_local(t + hours{1}, "Europe/Berlin"), "2026-10-25 02:30:00 CET");
}

}  // namespace
}  // namespace multivio::schedule
