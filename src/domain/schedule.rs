//! Time targeting: when an offer accepts conversions, in the offer's time zone.

use chrono::{Datelike, TimeZone, Timelike, Weekday};
use serde::{Deserialize, Serialize};

/// When conversions are accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Always,
    /// Monday to Friday, all day.
    Weekdays,
    /// Saturday and Sunday, all day.
    Weekends,
    /// Days x hours: `grid[0]` is Monday; bit `h` set means hour `h` (0-23) is open.
    Grid([u32; 7]),
}

impl Schedule {
    /// Whether `now` (unix seconds) falls in an open hour in time zone `tz`.
    /// An unknown zone is rejected when the offer is created; here it falls back to UTC.
    pub fn is_open(&self, now: i64, tz: &str) -> bool {
        let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
        let Some(local) = zone.timestamp_opt(now, 0).single() else {
            return false;
        };
        let day = local.weekday();
        let weekend = matches!(day, Weekday::Sat | Weekday::Sun);
        match self {
            Schedule::Always => true,
            Schedule::Weekdays => !weekend,
            Schedule::Weekends => weekend,
            Schedule::Grid(g) => g[day.num_days_from_monday() as usize] & (1 << local.hour()) != 0,
        }
    }

    /// Parses the CLI form: `always`, `weekdays`, `weekends`, or a grid like
    /// `mon-fri 9-18; sat 10-14` (hours are half-open: 9-18 means 09:00 to 17:59).
    pub fn parse(s: &str) -> Result<Schedule, ScheduleError> {
        let s = s.trim().to_ascii_lowercase();
        match s.as_str() {
            "always" | "24/7" | "" => return Ok(Schedule::Always),
            "weekdays" => return Ok(Schedule::Weekdays),
            "weekends" => return Ok(Schedule::Weekends),
            _ => {}
        }
        let mut grid = [0u32; 7];
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (days, hours) = part
                .split_once(' ')
                .ok_or_else(|| ScheduleError::Shape(part.to_string()))?;
            let days = parse_range(days.trim(), day_index, 7)?;
            let hours = parse_range(
                hours.trim(),
                |h| h.parse::<usize>().ok().filter(|h| *h <= 24),
                24,
            )?;
            let (h0, h1) = hours;
            if h0 >= h1 {
                return Err(ScheduleError::HourOrder(part.to_string()));
            }
            let mask: u32 = (h0..h1).fold(0, |m, h| m | (1 << h));
            let (d0, d1) = days;
            for day in &mut grid[d0..d1] {
                *day |= mask;
            }
        }
        Ok(Schedule::Grid(grid))
    }
}

/// Why a schedule text was refused; typed so the bot can say it in Russian and
/// English. `Display` is the CLI's English.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleError {
    /// A part that is not `DAYS HOURS`.
    Shape(String),
    /// Hours whose start is not before their end.
    HourOrder(String),
    /// A day or hour that is not one.
    BadValue(String),
    /// A range that runs backwards or past the end.
    BadRange(String),
    /// An hour past 23.
    BadHour(String),
}

impl std::fmt::Display for ScheduleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScheduleError::Shape(p) => {
                write!(f, "{p:?}: expected `DAYS HOURS`, like `mon-fri 9-18`")
            }
            ScheduleError::HourOrder(p) => {
                write!(f, "{p:?}: hours must be like 9-18, start before end")
            }
            ScheduleError::BadValue(v) => write!(f, "bad value {v:?}"),
            ScheduleError::BadRange(r) => write!(f, "bad range {r:?}"),
            ScheduleError::BadHour(h) => write!(f, "bad hour {h:?}"),
        }
    }
}

fn day_index(d: &str) -> Option<usize> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|x| *x == d)
}

/// Parses `a-b` or `a` into a half-open range of indices. For days `mon-fri`
/// includes Friday; for hours `9-18` ends before 18:00.
fn parse_range(
    s: &str,
    f: impl Fn(&str) -> Option<usize>,
    limit: usize,
) -> Result<(usize, usize), ScheduleError> {
    let is_days = limit == 7;
    match s.split_once('-') {
        Some((a, b)) => {
            let a = f(a).ok_or_else(|| ScheduleError::BadValue(a.to_string()))?;
            let b = f(b).ok_or_else(|| ScheduleError::BadValue(b.to_string()))?;
            let end = if is_days { b + 1 } else { b };
            if a >= end || end > limit {
                return Err(ScheduleError::BadRange(s.to_string()));
            }
            Ok((a, end))
        }
        None => {
            let a = f(s).ok_or_else(|| ScheduleError::BadValue(s.to_string()))?;
            if !is_days && a >= 24 {
                return Err(ScheduleError::BadHour(s.to_string()));
            }
            Ok((a, a + 1))
        }
    }
}

/// Whether a time zone name is known (IANA, e.g. `Europe/Moscow`).
pub fn valid_timezone(tz: &str) -> bool {
    tz.parse::<chrono_tz::Tz>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-11-23 was a Monday.
    const MON_1000_UTC: i64 = 1_795_428_000;

    #[test]
    fn reference_time_is_monday_ten() {
        let t = chrono::Utc.timestamp_opt(MON_1000_UTC, 0).unwrap();
        assert_eq!((t.weekday(), t.hour()), (Weekday::Mon, 10));
    }

    #[test]
    fn simple_schedules() {
        assert!(Schedule::Always.is_open(MON_1000_UTC, "UTC"));
        assert!(Schedule::Weekdays.is_open(MON_1000_UTC, "UTC"));
        assert!(!Schedule::Weekends.is_open(MON_1000_UTC, "UTC"));
        let sat = MON_1000_UTC + 5 * 86400;
        assert!(Schedule::Weekends.is_open(sat, "UTC"));
    }

    #[test]
    fn grid_uses_the_offer_time_zone() {
        let s = Schedule::parse("mon-fri 9-18").unwrap();
        assert!(s.is_open(MON_1000_UTC, "UTC"));
        // 10:00 UTC is 13:00 in Moscow: open. 17:00 UTC is 20:00 there: closed.
        assert!(s.is_open(MON_1000_UTC, "Europe/Moscow"));
        assert!(!s.is_open(MON_1000_UTC + 7 * 3600, "Europe/Moscow"));
        assert!(s.is_open(MON_1000_UTC + 7 * 3600, "UTC"));
        // Sunday evening in UTC is already Monday morning in Tokyo, but 9-18 is not open at 06:00.
        let sun_2100 = MON_1000_UTC - 13 * 3600;
        assert!(!s.is_open(sun_2100, "Asia/Tokyo"));
    }

    #[test]
    fn grid_parsing() {
        let s = Schedule::parse("mon-fri 9-18; sat 10-14").unwrap();
        let Schedule::Grid(g) = s else { panic!() };
        assert_eq!(g[0].count_ones(), 9);
        assert_eq!(g[5].count_ones(), 4);
        assert_eq!(g[6], 0);
        for bad in ["mon 18-9", "funday 1-2", "mon", "mon 9-25", "fri-mon 1-2"] {
            assert!(Schedule::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_form() {
        assert_eq!(
            serde_json::to_string(&Schedule::Always).unwrap(),
            "\"always\""
        );
        let g = Schedule::parse("sun 0-24").unwrap();
        let back: Schedule = serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
    }
}
