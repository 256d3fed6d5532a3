//! Notifications to a campaign's advertiser and the admins: at most one per
//! (offer, kind, event key), recorded in the transaction of the decision that
//! causes it, sent later by the bot.

use rusqlite::{params, Connection};

use super::{OfferId, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: i64,
    pub offer_id: OfferId,
    pub kind: String,
    pub event_key: String,
    pub detail: String,
    pub created_at: i64,
}

/// Records a notification; false if this event was already recorded.
pub fn record(
    c: &Connection,
    offer: OfferId,
    kind: &str,
    key: &str,
    detail: &str,
    now: i64,
) -> Result<bool> {
    Ok(c.prepare_cached(
        "INSERT INTO notifications (offer_id, kind, event_key, detail, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (offer_id, kind, event_key) DO NOTHING",
    )?
    .execute(params![offer, kind, key, detail, now])?
        == 1)
}

/// Notifications not handled yet, oldest first.
pub fn unsent(c: &Connection, limit: u32) -> Result<Vec<Notification>> {
    let mut st = c.prepare_cached(
        "SELECT id, offer_id, kind, event_key, detail, created_at FROM notifications
          WHERE sent_at IS NULL ORDER BY id LIMIT ?1",
    )?;
    let rows = st.query_map([limit], |r| {
        Ok(Notification {
            id: r.get(0)?,
            offer_id: OfferId(r.get(1)?),
            kind: r.get(2)?,
            event_key: r.get(3)?,
            detail: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Marks a notification handled; false if it already was (another sender got there first).
pub fn mark_sent(c: &Connection, id: i64, now: i64) -> Result<bool> {
    Ok(
        c.prepare_cached(
            "UPDATE notifications SET sent_at = ?2 WHERE id = ?1 AND sent_at IS NULL",
        )?
        .execute(params![id, now])?
            == 1,
    )
}

/// Every notification of an offer (tests, the audit of what was said).
pub fn of_offer(c: &Connection, offer: OfferId) -> Result<Vec<Notification>> {
    let mut st = c.prepare_cached(
        "SELECT id, offer_id, kind, event_key, detail, created_at FROM notifications WHERE offer_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([offer], |r| {
        Ok(Notification {
            id: r.get(0)?,
            offer_id: OfferId(r.get(1)?),
            kind: r.get(2)?,
            event_key: r.get(3)?,
            detail: r.get(4)?,
            created_at: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
