//! Conversions: one per (offer, user, action), moving lead -> hold -> approved | rejected.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{ConversionId, LeadId, OfferId, Result, StoreError};
use crate::domain::conversion::{RejectReason, Usage};
use crate::domain::offer::{Action, ConversionStatus};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub id: ConversionId,
    pub offer_id: OfferId,
    pub lead_id: Option<LeadId>,
    pub tg_user_id: i64,
    pub action: Action,
    pub status: ConversionStatus,
    pub is_premium: bool,
    pub price: i64,
    pub hold_until: Option<i64>,
    pub reason: Option<RejectReason>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub updated_at: i64,
}

const COLUMNS: &str =
    "id, offer_id, lead_id, tg_user_id, action, status, is_premium, price, hold_until, reason, created_at, accepted_at, updated_at";

fn row(r: &Row<'_>) -> rusqlite::Result<Conversion> {
    let bad = |what: &str, e: String| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(StoreError::Corrupt(format!("conversion {what}: {e}"))),
        )
    };
    let action: String = r.get(4)?;
    let status: String = r.get(5)?;
    Ok(Conversion {
        id: r.get(0)?,
        offer_id: r.get(1)?,
        lead_id: r.get(2)?,
        tg_user_id: r.get(3)?,
        action: action.parse().map_err(|e| bad("action", e))?,
        status: status.parse().map_err(|e| bad("status", e))?,
        is_premium: r.get(6)?,
        price: r.get(7)?,
        hold_until: r.get(8)?,
        reason: match r.get::<_, Option<String>>(9)? {
            Some(s) => Some(s.parse().map_err(|e| bad("reason", e))?),
            None => None,
        },
        created_at: r.get(10)?,
        accepted_at: r.get(11)?,
        updated_at: r.get(12)?,
    })
}

/// Creates the conversion in `lead` status, or returns the existing one.
pub fn ensure(
    c: &Connection,
    offer: OfferId,
    lead: Option<LeadId>,
    user: i64,
    action: Action,
    premium: bool,
    now: i64,
) -> Result<(Conversion, bool)> {
    let n = c
        .prepare_cached(
            "INSERT INTO conversions (offer_id, lead_id, tg_user_id, action, status, is_premium, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, 'lead', ?5, ?6, ?6) ON CONFLICT(offer_id, tg_user_id, action) DO NOTHING",
        )?
        .execute(params![offer, lead, user, action.as_str(), premium, now])?;
    let conv = by_key(c, offer, user, action)?.expect("row exists after insert");
    Ok((conv, n == 1))
}

pub fn get(c: &Connection, id: ConversionId) -> Result<Option<Conversion>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLUMNS} FROM conversions WHERE id = ?1"))?
            .query_row([id], row)
            .optional()?,
    )
}

pub fn by_key(
    c: &Connection,
    offer: OfferId,
    user: i64,
    action: Action,
) -> Result<Option<Conversion>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversions WHERE offer_id = ?1 AND tg_user_id = ?2 AND action = ?3"
    ))?
    .query_row(params![offer, user, action.as_str()], row)
    .optional()?)
}

pub fn of_user(c: &Connection, user: i64) -> Result<Vec<Conversion>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversions WHERE tg_user_id = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([user], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Moves into hold (or straight to approved) at `price`.
pub fn accept(
    c: &Connection,
    id: ConversionId,
    status: ConversionStatus,
    price: i64,
    premium: bool,
    hold_until: i64,
    now: i64,
) -> Result<()> {
    c.prepare_cached(
        "UPDATE conversions SET status = ?2, price = ?3, is_premium = ?4, hold_until = ?5, accepted_at = ?6, updated_at = ?6, reason = NULL
          WHERE id = ?1",
    )?
    .execute(params![id, status.as_str(), price, premium, hold_until, now])?;
    Ok(())
}

/// Sets a final or intermediate status with its reason.
pub fn set_status(
    c: &Connection,
    id: ConversionId,
    status: ConversionStatus,
    reason: Option<RejectReason>,
    now: i64,
) -> Result<()> {
    c.prepare_cached(
        "UPDATE conversions SET status = ?2, reason = ?3, updated_at = ?4 WHERE id = ?1",
    )?
    .execute(params![
        id,
        status.as_str(),
        reason.map(RejectReason::as_str),
        now
    ])?;
    Ok(())
}

/// Accepted conversions of an offer since each window start. Only the counts a
/// cap needs are computed (`None` windows are skipped), each a range scan of the
/// (offer, status, accepted_at) index: this runs on every decision, so it must
/// not read every conversion of a big offer.
pub fn usage(
    c: &Connection,
    offer: OfferId,
    total: bool,
    since: [Option<i64>; 3],
) -> Result<Usage> {
    let mut st = c.prepare_cached(
        "SELECT (SELECT count(*) FROM conversions WHERE offer_id = ?1 AND status = 'hold' AND accepted_at >= ?2)
              + (SELECT count(*) FROM conversions WHERE offer_id = ?1 AND status = 'approved' AND accepted_at >= ?2)",
    )?;
    let mut count =
        |from: i64| -> Result<i64> { Ok(st.query_row(params![offer, from], |r| r.get(0))?) };
    Ok(Usage {
        total: if total { count(i64::MIN)? } else { 0 },
        this_hour: since[0].map(&mut count).transpose()?.unwrap_or(0),
        today: since[1].map(&mut count).transpose()?.unwrap_or(0),
        this_week: since[2].map(&mut count).transpose()?.unwrap_or(0),
    })
}

/// Conversions whose hold window has ended and that may be checked now, oldest first.
pub fn due_holds(c: &Connection, now: i64, limit: u32) -> Result<Vec<Conversion>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversions
          WHERE status = 'hold' AND hold_until <= ?1 AND coalesce(next_check_at, 0) <= ?1
          ORDER BY hold_until LIMIT ?2"
    ))?;
    let rows = st.query_map(params![now, limit], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// When the next hold ends, so the scheduler can sleep until then.
pub fn next_hold_end(c: &Connection) -> Result<Option<i64>> {
    Ok(c.query_row(
        "SELECT min(hold_until) FROM conversions WHERE status = 'hold'",
        [],
        |r| r.get(0),
    )?)
}

/// Join conversions in hold that are due for a membership re-check, least recently checked first.
pub fn joins_to_reconcile(c: &Connection, now: i64, limit: u32) -> Result<Vec<Conversion>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM conversions
          WHERE status = 'hold' AND action IN ('join_channel', 'join_request') AND coalesce(next_check_at, 0) <= ?1
          ORDER BY coalesce(next_check_at, 0), id LIMIT ?2"
    ))?;
    let rows = st.query_map(params![now, limit], row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Puts a conversion at the back of the scheduler's queues until `until`.
pub fn postpone(c: &Connection, id: ConversionId, until: i64) -> Result<()> {
    c.prepare_cached("UPDATE conversions SET next_check_at = ?2 WHERE id = ?1")?
        .execute(params![id, until])?;
    Ok(())
}
