//! Campaign figures: the one implementation behind `tgtrack stats`, the demo's
//! summary and the bot's `/statistic` (figures, chart, CSV).
//!
//! Everything is folded from the rollup (`store::report::buckets`) into days
//! and windows of the offer's own time zone; `now` is an input.

use chrono::{NaiveDate, TimeZone};
use serde::Serialize;

use crate::domain::conversion::{usage_needed, window_starts};
use crate::domain::offer::Offer;
use crate::store::report::{self, Counts, DayRow};
use crate::store::{self, Connection, OfferId, Store, StoreError};

/// The windows `/statistic` shows, in the offer's time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Window {
    Today,
    Days7,
    Days30,
    All,
}

pub const WINDOWS: [Window; 4] = [Window::Today, Window::Days7, Window::Days30, Window::All];

/// Figures of one window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub n: Counts,
    /// Rejections by reason, most frequent first.
    pub reasons: Vec<(String, i64)>,
}

impl Figures {
    /// Click (unique) to approved conversion, in percent.
    pub fn cr_approved(&self) -> f64 {
        pct(self.n.approved, self.n.clicks)
    }

    /// Share of accepted conversions made by Premium users, in percent.
    pub fn premium_share(&self) -> f64 {
        pct(self.n.premium, self.n.holds + self.n.approved)
    }
}

fn pct(a: i64, b: i64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

/// One cap: what is used now of its limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct CapUse {
    pub kind: &'static str,
    pub used: i64,
    pub limit: i64,
}

/// Everything `/statistic` says about one campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CampaignStats {
    pub offer: Offer,
    pub windows: Vec<(Window, Figures)>,
    pub budget_left: Option<i64>,
    pub caps: Vec<CapUse>,
}

/// Start of the local day `days_back` days before `now`'s, in `tz`.
fn local_midnight(now: i64, days_back: u64, tz: &str) -> i64 {
    let (_, today, _) = window_starts(now, tz);
    if days_back == 0 {
        return today;
    }
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let date = zone
        .timestamp_opt(today, 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
        - chrono::Days::new(days_back);
    day_start(date, tz)
}

/// Unix time of `date`'s local midnight in `tz`.
pub fn day_start(date: NaiveDate, tz: &str) -> i64 {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    zone.from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
        .earliest()
        .map(|t| t.timestamp())
        // A zone whose clocks skip midnight: the day starts an hour later.
        .unwrap_or_else(|| day_start_after_gap(date, zone))
}

fn day_start_after_gap(date: NaiveDate, zone: chrono_tz::Tz) -> i64 {
    zone.from_local_datetime(&date.and_hms_opt(1, 0, 0).expect("1 am"))
        .earliest()
        .map(|t| t.timestamp())
        .unwrap_or_else(|| {
            date.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp()
        })
}

/// The local date of a unix time in `tz`.
pub fn local_date(t: i64, tz: &str) -> NaiveDate {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    zone.timestamp_opt(t, 0)
        .single()
        .map(|t| t.date_naive())
        .unwrap_or_default()
}

/// The figures of one campaign at `now`: today, 7 days, 30 days and all time.
pub fn campaign(store: &Store, id: OfferId, now: i64) -> Result<Option<CampaignStats>, StoreError> {
    store.read(|c| campaign_in(c, id, now))
}

fn campaign_in(c: &Connection, id: OfferId, now: i64) -> Result<Option<CampaignStats>, StoreError> {
    let Some(offer) = store::offers::get_offer(c, id)? else {
        return Ok(None);
    };
    let tz = offer.timezone.clone();
    let starts = [
        local_midnight(now, 0, &tz),
        local_midnight(now, 6, &tz),
        local_midnight(now, 29, &tz),
        i64::MIN / 2,
    ];
    let mut windows: Vec<(Window, Figures)> =
        WINDOWS.iter().map(|w| (*w, Figures::default())).collect();
    // Everything up to the end of the current bucket: later rows do not exist yet.
    for (start, n) in report::buckets(c, id, i64::MIN / 2, now + report::BUCKET)? {
        for (i, from) in starts.iter().enumerate() {
            if start >= *from {
                windows[i].1.n.add(&n);
            }
        }
    }
    let mut reasons: Vec<std::collections::BTreeMap<String, i64>> = vec![Default::default(); 4];
    for (start, reason, n) in report::rejections(c, id, i64::MIN / 2)? {
        for (i, from) in starts.iter().enumerate() {
            if start >= *from {
                *reasons[i].entry(reason.clone()).or_default() += n;
            }
        }
    }
    for (w, r) in windows.iter_mut().zip(reasons) {
        let mut r: Vec<(String, i64)> = r.into_iter().collect();
        r.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        w.1.reasons = r;
    }
    let (total, since) = usage_needed(&offer.caps, now, &tz);
    let usage = store::conversions::usage(c, id, total, since)?;
    let caps = [
        ("total", offer.caps.total, usage.total),
        ("hour", offer.caps.hour, usage.this_hour),
        ("day", offer.caps.day, usage.today),
        ("week", offer.caps.week, usage.this_week),
    ]
    .into_iter()
    .filter_map(|(kind, limit, used)| limit.map(|limit| CapUse { kind, used, limit }))
    .collect();
    Ok(Some(CampaignStats {
        budget_left: offer.budget_left(),
        offer,
        windows,
        caps,
    }))
}

/// Per-day rows of one offer for local dates `from <= day < to` in its time
/// zone; days without activity are left out unless `dense`.
pub fn daily_of(
    c: &Connection,
    offer: &Offer,
    from: NaiveDate,
    to: NaiveDate,
    dense: bool,
) -> Result<Vec<DayRow>, StoreError> {
    let tz = &offer.timezone;
    let (t0, t1) = (day_start(from, tz), day_start(to, tz));
    let mut days: std::collections::BTreeMap<NaiveDate, Counts> = Default::default();
    if dense {
        let mut d = from;
        while d < to {
            days.insert(d, Counts::default());
            d = d.succ_opt().expect("date in range");
        }
    }
    for (start, n) in report::buckets(c, OfferId(offer.id), t0, t1)? {
        days.entry(local_date(start, tz)).or_default().add(&n);
    }
    Ok(days
        .into_iter()
        .map(|(d, n)| DayRow {
            day: d.format("%Y-%m-%d").to_string(),
            offer_id: offer.id,
            n,
        })
        .collect())
}

/// `tgtrack stats`: rows per (day, offer), days in each offer's time zone, for
/// one offer or every offer with figures; sorted by day, then offer.
pub fn daily(
    store: &Store,
    offer: Option<OfferId>,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<DayRow>, StoreError> {
    store.read(|c| {
        let ids = match offer {
            Some(id) => vec![id],
            None => report::offers_with_figures(c)?,
        };
        let mut rows = Vec::new();
        for id in ids {
            if let Some(o) = store::offers::get_offer(c, id)? {
                rows.extend(daily_of(c, &o, from, to, false)?);
            }
        }
        rows.sort_by(|a, b| a.day.cmp(&b.day).then(a.offer_id.cmp(&b.offer_id)));
        Ok(rows)
    })
}

/// The last `days` local days of one offer up to today, every day present (the chart, the CSV).
pub fn series(
    store: &Store,
    offer: &Offer,
    days: u64,
    now: i64,
) -> Result<Vec<DayRow>, StoreError> {
    let today = local_date(now, &offer.timezone);
    let from = today - chrono::Days::new(days.saturating_sub(1));
    let to = today.succ_opt().expect("date in range");
    store.read(|c| daily_of(c, offer, from, to, true))
}

/// Sums rows into one total row (day "total").
pub fn total(rows: &[DayRow]) -> DayRow {
    let mut t = DayRow {
        day: "total".into(),
        ..Default::default()
    };
    for r in rows {
        t.n.add(&r.n);
    }
    t
}

/// The conversions export: what the CSV lists.
pub fn conversions(
    store: &Store,
    offer: OfferId,
) -> Result<Vec<report::ConversionRow>, StoreError> {
    store.read(|c| report::conversions_of(c, offer))
}
