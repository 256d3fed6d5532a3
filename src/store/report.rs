//! Reporting queries for `tgtrack stats`, `/statistic` and the ledger.
//!
//! Figures come from `stats_buckets`, a rollup in 15-minute UTC buckets kept
//! exact by triggers (see the stats migration): folding buckets into days and
//! windows of an offer's time zone is `service::stats`' job.

use rusqlite::{params, Connection};
use serde::Serialize;

use super::{OfferId, Result};

/// Seconds in one rollup bucket. Every real time zone offset is a multiple of it.
pub const BUCKET: i64 = 900;

/// Counts of one offer over some span (a bucket, a day, a window).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
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
    pub postbacks_pending: i64,
    pub postbacks_failed: i64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.clicks += o.clicks;
        self.hits += o.hits;
        self.leads += o.leads;
        self.holds += o.holds;
        self.approved += o.approved;
        self.rejected += o.rejected;
        self.premium += o.premium;
        self.spent += o.spent;
        self.postbacks_sent += o.postbacks_sent;
        self.postbacks_pending += o.postbacks_pending;
        self.postbacks_failed += o.postbacks_failed;
    }

    /// Actions observed: conversions that left `lead`.
    pub fn actions(&self) -> i64 {
        self.holds + self.approved + self.rejected
    }
}

/// One offer's figures for one day of its time zone (`tgtrack stats` rows).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DayRow {
    pub day: String,
    pub offer_id: i64,
    #[serde(flatten)]
    pub n: Counts,
}

impl DayRow {
    /// Click to accepted conversion, in percent (the CLI's CR% column).
    pub fn cr(&self) -> f64 {
        if self.n.clicks == 0 {
            0.0
        } else {
            (self.n.holds + self.n.approved) as f64 * 100.0 / self.n.clicks as f64
        }
    }
}

/// Rollup buckets of one offer with `from <= start < to` (unix seconds), oldest first:
/// (bucket start, counts).
pub fn buckets(c: &Connection, offer: OfferId, from: i64, to: i64) -> Result<Vec<(i64, Counts)>> {
    let mut st = c.prepare_cached(
        "SELECT bucket, clicks, hits, leads, holds, approved, rejected, premium, spent, pb_delivered, pb_pending, pb_failed
           FROM stats_buckets WHERE offer_id = ?1 AND bucket >= ?2 AND bucket < ?3 ORDER BY bucket",
    )?;
    let rows = st.query_map(
        params![
            offer,
            from.div_euclid(BUCKET),
            to.div_euclid(BUCKET) + i64::from(to.rem_euclid(BUCKET) != 0)
        ],
        |r| {
            Ok((
                r.get::<_, i64>(0)? * BUCKET,
                Counts {
                    clicks: r.get(1)?,
                    hits: r.get(2)?,
                    leads: r.get(3)?,
                    holds: r.get(4)?,
                    approved: r.get(5)?,
                    rejected: r.get(6)?,
                    premium: r.get(7)?,
                    spent: r.get(8)?,
                    postbacks_sent: r.get(9)?,
                    postbacks_pending: r.get(10)?,
                    postbacks_failed: r.get(11)?,
                },
            ))
        },
    )?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Rejections of an offer since `from` by reason and bucket: (bucket start, reason, count).
pub fn rejections(c: &Connection, offer: OfferId, from: i64) -> Result<Vec<(i64, String, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT coalesce(accepted_at, updated_at) / 900 * 900, coalesce(reason, 'unknown'), count(*)
           FROM conversions WHERE offer_id = ?1 AND status = 'rejected' AND coalesce(accepted_at, updated_at) >= ?2
          GROUP BY 1, 2",
    )?;
    let rows = st.query_map(params![offer, from], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// One conversion as the CSV export shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionRow {
    pub id: i64,
    /// The network's click id (`uid` of the click link).
    pub click_uid: Option<String>,
    pub status: String,
    pub premium: bool,
    pub price: i64,
    pub reason: Option<String>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub hold_until: Option<i64>,
    pub updated_at: i64,
    pub tg_user_id: i64,
}

/// Conversions of an offer past `lead` (an action was seen), oldest first.
pub fn conversions_of(c: &Connection, offer: OfferId) -> Result<Vec<ConversionRow>> {
    let mut st = c.prepare_cached(
        "SELECT v.id, k.uid, v.status, v.is_premium, v.price, v.reason, v.created_at, v.accepted_at, v.hold_until,
                v.updated_at, v.tg_user_id
           FROM conversions v LEFT JOIN leads l ON l.id = v.lead_id LEFT JOIN clicks k ON k.id = l.click_id
          WHERE v.offer_id = ?1 AND v.status != 'lead' ORDER BY v.id",
    )?;
    let rows = st.query_map(params![offer], |r| {
        Ok(ConversionRow {
            id: r.get(0)?,
            click_uid: r.get(1)?,
            status: r.get(2)?,
            premium: r.get(3)?,
            price: r.get(4)?,
            reason: r.get(5)?,
            created_at: r.get(6)?,
            accepted_at: r.get(7)?,
            hold_until: r.get(8)?,
            updated_at: r.get(9)?,
            tg_user_id: r.get(10)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Ids of offers with any rollup row, for `tgtrack stats` over every offer.
pub fn offers_with_figures(c: &Connection) -> Result<Vec<OfferId>> {
    let mut st =
        c.prepare_cached("SELECT DISTINCT offer_id FROM stats_buckets ORDER BY offer_id")?;
    let rows = st.query_map([], |r| Ok(OfferId(r.get(0)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Postbacks of each offer that failed for good since `from`: (offer, newest failure time).
pub fn failing_postbacks(c: &Connection, from: i64) -> Result<Vec<(OfferId, i64, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT offer_id, count(*), max(updated_at) FROM postbacks
          WHERE is_test = 0 AND state = 'dead' AND updated_at >= ?1 GROUP BY offer_id",
    )?;
    let rows = st.query_map(params![from], |r| {
        Ok((OfferId(r.get(0)?), r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::offers::{insert_offer, tests::sample};
    use crate::store::Store;

    /// The rollup the triggers keep equals a direct count of the rows, after
    /// inserts, repeat hits, status changes back and forth, and postback states.
    #[test]
    fn rollup_matches_the_rows() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("r.db"), 1).unwrap();
        let t0 = 1_790_000_000;
        store
            .write(|tx| -> Result<()> {
                let offer = insert_offer(tx, &sample(), t0)?;
                for i in 0..400i64 {
                    let t = t0 + i * 377;
                    tx.execute(
                        "INSERT INTO clicks (offer_id, uid, token, created_at, last_seen_at) VALUES (?1, ?2, ?2, ?3, ?3)",
                        params![offer, format!("u{i}"), t],
                    )?;
                    if i % 3 == 0 {
                        tx.execute("UPDATE clicks SET hits = hits + 2 WHERE token = ?1", [format!("u{i}")])?;
                    }
                    if i % 2 == 0 {
                        tx.execute("INSERT OR IGNORE INTO tg_users (id, first_seen, updated_at) VALUES (?1, 0, 0)", [i])?;
                        tx.execute(
                            "INSERT INTO leads (click_id, offer_id, tg_user_id, started_at) VALUES (?1, ?2, ?3, ?4)",
                            // The click inserted just before has id i + 1.
                            params![i + 1, offer, i, t + 100],
                        )?;
                        tx.execute(
                            "INSERT INTO conversions (offer_id, tg_user_id, action, status, created_at, updated_at) VALUES (?1, ?2, 'join_channel', 'lead', ?3, ?3)",
                            params![offer, i, t + 100],
                        )?;
                        let id = tx.last_insert_rowid();
                        tx.execute(
                            "UPDATE conversions SET status = 'hold', price = 5, is_premium = ?2, accepted_at = ?3, updated_at = ?3 WHERE id = ?1",
                            params![id, i % 4 == 0, t + 3000],
                        )?;
                        if i % 5 == 0 {
                            tx.execute("UPDATE conversions SET status = 'rejected', reason = 'undone', updated_at = ?2 WHERE id = ?1", params![id, t + 9000])?;
                        } else if i % 7 == 0 {
                            tx.execute("UPDATE conversions SET status = 'approved', updated_at = ?2 WHERE id = ?1", params![id, t + 99000])?;
                        }
                        tx.execute("UPDATE conversions SET next_check_at = ?2, updated_at = ?2 WHERE id = ?1", params![id, t + 123_456])?;
                        tx.execute(
                            "INSERT INTO postbacks (conversion_id, offer_id, status, txid, method, url, due_at_ms, created_at, updated_at)
                             VALUES (?1, ?2, 'hold', ?3, 'get', 'http://x', 0, ?4, ?4)",
                            params![id, offer, format!("tx{id}"), t + 3000],
                        )?;
                        let state = ["delivered", "failed", "dead", "pending"][(i % 4) as usize];
                        tx.execute("UPDATE postbacks SET state = ?2 WHERE conversion_id = ?1", params![id, state])?;
                    }
                }
                Ok(())
            })
            .unwrap();
        let (rolled, direct) = store
            .read(|c| -> Result<(Vec<i64>, Vec<i64>)> {
                let rolled = c.query_row(
                    "SELECT sum(clicks), sum(hits), sum(leads), sum(holds), sum(approved), sum(rejected), sum(premium), sum(spent),
                            sum(pb_delivered), sum(pb_pending), sum(pb_failed), count(DISTINCT bucket) FROM stats_buckets",
                    [],
                    |r| (0..12).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<i64>>>(),
                )?;
                let direct = c.query_row(
                    "SELECT (SELECT count(*) FROM clicks), (SELECT sum(hits) FROM clicks), (SELECT count(*) FROM leads),
                            (SELECT count(*) FROM conversions WHERE status = 'hold'), (SELECT count(*) FROM conversions WHERE status = 'approved'),
                            (SELECT count(*) FROM conversions WHERE status = 'rejected'),
                            (SELECT count(*) FROM conversions WHERE is_premium AND status IN ('hold', 'approved')),
                            (SELECT sum(price) FROM conversions WHERE status IN ('hold', 'approved')),
                            (SELECT count(*) FROM postbacks WHERE state = 'delivered'), (SELECT count(*) FROM postbacks WHERE state = 'pending'),
                            (SELECT count(*) FROM postbacks WHERE state IN ('failed', 'dead')),
                            (SELECT count(DISTINCT b) FROM (SELECT created_at / 900 AS b FROM clicks UNION SELECT started_at / 900 FROM leads
                              UNION SELECT coalesce(accepted_at, updated_at) / 900 FROM conversions WHERE status != 'lead'
                              UNION SELECT created_at / 900 FROM postbacks))",
                    [],
                    |r| (0..12).map(|i| r.get(i)).collect::<rusqlite::Result<Vec<i64>>>(),
                )?;
                Ok((rolled, direct))
            })
            .unwrap();
        assert_eq!(rolled, direct);
        assert!(rolled[5] > 0 && rolled[4] > 0 && rolled[3] > 0);
    }
}
