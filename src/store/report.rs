//! Reporting queries: per-offer, per-day figures for `tgtrack stats` and `/statistic`.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{OfferId, Result};

/// One offer's figures for one UTC day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayRow {
    pub day: String,
    pub offer_id: i64,
    /// Distinct click tokens (a repeat click on the same uid reuses its token).
    pub clicks: i64,
    /// All hits on the click link, repeats included.
    pub hits: i64,
    /// Users who started the bot from a click.
    pub leads: i64,
    pub holds: i64,
    pub approved: i64,
    pub rejected: i64,
    /// Accepted conversions (hold or approved) by Premium users.
    pub premium: i64,
    /// Stars debited for accepted conversions.
    pub spent: i64,
    pub postbacks_sent: i64,
    pub postbacks_failed: i64,
}

impl DayRow {
    /// Click to accepted conversion, in percent.
    pub fn cr(&self) -> f64 {
        if self.clicks == 0 {
            0.0
        } else {
            (self.holds + self.approved) as f64 * 100.0 / self.clicks as f64
        }
    }
}

/// Figures per (day, offer) for `from <= t < to` (unix seconds), optionally for one offer.
/// Each source counts on its own day: a click on Monday converted on Tuesday
/// shows as a click on Monday and a conversion on Tuesday, like trackers do.
pub fn daily(c: &Connection, offer: Option<OfferId>, from: i64, to: i64) -> Result<Vec<DayRow>> {
    let sql = "
    WITH cl AS (SELECT offer_id, date(created_at, 'unixepoch') AS d, count(*) AS clicks, sum(hits) AS hits
                  FROM clicks WHERE created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR offer_id = ?3) GROUP BY 1, 2),
         le AS (SELECT offer_id, date(started_at, 'unixepoch') AS d, count(*) AS leads
                  FROM leads WHERE started_at >= ?1 AND started_at < ?2 AND (?3 IS NULL OR offer_id = ?3) GROUP BY 1, 2),
         cv AS (SELECT offer_id, date(coalesce(accepted_at, updated_at), 'unixepoch') AS d,
                       sum(status = 'hold') AS holds, sum(status = 'approved') AS approved, sum(status = 'rejected') AS rejected,
                       sum(is_premium AND status IN ('hold', 'approved')) AS premium,
                       sum(CASE WHEN status IN ('hold', 'approved') THEN price ELSE 0 END) AS spent
                  FROM conversions WHERE status != 'lead' AND coalesce(accepted_at, updated_at) >= ?1 AND coalesce(accepted_at, updated_at) < ?2 AND (?3 IS NULL OR offer_id = ?3) GROUP BY 1, 2),
         pb AS (SELECT offer_id, date(created_at, 'unixepoch') AS d,
                       sum(state = 'delivered') AS sent, sum(state IN ('failed', 'dead')) AS failed
                  FROM postbacks WHERE is_test = 0 AND created_at >= ?1 AND created_at < ?2 AND (?3 IS NULL OR offer_id = ?3) GROUP BY 1, 2),
         k AS (SELECT offer_id, d FROM cl UNION SELECT offer_id, d FROM le UNION SELECT offer_id, d FROM cv UNION SELECT offer_id, d FROM pb)
    SELECT k.d, k.offer_id, coalesce(cl.clicks, 0), coalesce(cl.hits, 0), coalesce(le.leads, 0),
           coalesce(cv.holds, 0), coalesce(cv.approved, 0), coalesce(cv.rejected, 0), coalesce(cv.premium, 0), coalesce(cv.spent, 0),
           coalesce(pb.sent, 0), coalesce(pb.failed, 0)
      FROM k LEFT JOIN cl USING (offer_id, d) LEFT JOIN le USING (offer_id, d)
             LEFT JOIN cv USING (offer_id, d) LEFT JOIN pb USING (offer_id, d)
     ORDER BY k.d, k.offer_id";
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(params![from, to, offer], |r| {
        Ok(DayRow {
            day: r.get(0)?,
            offer_id: r.get(1)?,
            clicks: r.get(2)?,
            hits: r.get(3)?,
            leads: r.get(4)?,
            holds: r.get(5)?,
            approved: r.get(6)?,
            rejected: r.get(7)?,
            premium: r.get(8)?,
            spent: r.get(9)?,
            postbacks_sent: r.get(10)?,
            postbacks_failed: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Sums rows into one total row (day "total").
pub fn total(rows: &[DayRow]) -> DayRow {
    rows.iter().fold(
        DayRow {
            day: "total".into(),
            ..Default::default()
        },
        |mut t, r| {
            t.clicks += r.clicks;
            t.hits += r.hits;
            t.leads += r.leads;
            t.holds += r.holds;
            t.approved += r.approved;
            t.rejected += r.rejected;
            t.premium += r.premium;
            t.spent += r.spent;
            t.postbacks_sent += r.postbacks_sent;
            t.postbacks_failed += r.postbacks_failed;
            t
        },
    )
}
