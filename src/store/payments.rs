//! Stars payments received (task invoices, campaign budgets) and refunds.

use rusqlite::{params, Connection};

use super::{OfferId, Result};

pub struct NewPayment<'a> {
    pub tg_user_id: i64,
    pub offer_id: Option<OfferId>,
    pub kind: &'a str,
    pub amount: i64,
    pub currency: &'a str,
    pub payload: Option<&'a str>,
    /// Telegram's charge id: unique, so a repeated payment update is recorded once.
    pub charge_id: &'a str,
    pub status: &'a str,
}

/// Records a payment; false if this charge was already recorded.
pub fn record(c: &Connection, p: &NewPayment<'_>, now: i64) -> Result<bool> {
    let n = c
        .prepare_cached(
            "INSERT INTO payments (tg_user_id, offer_id, kind, amount, currency, payload, charge_id, status, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT(charge_id) DO NOTHING",
        )?
        .execute(params![p.tg_user_id, p.offer_id, p.kind, p.amount, p.currency, p.payload, p.charge_id, p.status, now])?;
    Ok(n == 1)
}

/// Whether a payment (or refund) with this charge id is recorded.
pub fn exists(c: &Connection, charge_id: &str) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM payments WHERE charge_id = ?1")?
            .query_row([charge_id], |r| r.get::<_, i64>(0))?
            > 0,
    )
}
