//! The journal of observed Telegram events, attributed or organic.
//!
//! Recording is idempotent on a natural key (e.g. `join:<chat>:<user>:<date>`),
//! because Telegram may deliver an update twice (getDifference after a gap).

use rusqlite::{params, Connection};

use super::{LeadId, OfferId, Result};

#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub natural_key: &'a str,
    pub kind: &'a str,
    pub tg_user_id: Option<i64>,
    pub offer_id: Option<OfferId>,
    pub lead_id: Option<LeadId>,
    pub detail: &'a str,
    pub occurred_at: i64,
}

/// Records an event; returns false if it was already recorded (a repeat).
pub fn record(c: &Connection, e: &NewEvent<'_>, now: i64) -> Result<bool> {
    let n = c
        .prepare_cached(
            "INSERT INTO events (natural_key, kind, tg_user_id, offer_id, lead_id, detail, occurred_at, recorded_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT(natural_key) DO NOTHING",
        )?
        .execute(params![e.natural_key, e.kind, e.tg_user_id, e.offer_id, e.lead_id, e.detail, e.occurred_at, now])?;
    Ok(n == 1)
}

/// Events with no lead (organic): counted in stats, never converted.
pub fn organic_count(c: &Connection, kind: &str) -> Result<i64> {
    Ok(c.query_row(
        "SELECT count(*) FROM events WHERE kind = ?1 AND lead_id IS NULL",
        [kind],
        |r| r.get(0),
    )?)
}

/// Remembers a relay event id for an offer; false if it was seen before (a replay).
pub fn record_relay_event(
    c: &Connection,
    offer: OfferId,
    event_id: &str,
    now: i64,
) -> Result<bool> {
    let n = c
        .prepare_cached("INSERT INTO relay_events (offer_id, event_id, received_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING")?
        .execute(params![offer, event_id, now])?;
    Ok(n == 1)
}
