//! Stars payments received (task invoices, campaign budgets) and refunds.

use rusqlite::{params, Connection};

use super::{OfferId, Result};
use crate::domain::payment::PaymentKind;

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

/// Charges of `kind` paid for an offer and not refunded: (payer, charge id, amount).
pub fn unrefunded(
    c: &Connection,
    offer: OfferId,
    kind: PaymentKind,
) -> Result<Vec<(i64, String, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT p.tg_user_id, p.charge_id, p.amount FROM payments p
          WHERE p.offer_id = ?1 AND p.kind = ?2 AND p.status = 'paid'
            AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.charge_id = 'refund:' || p.charge_id)
          ORDER BY p.id",
    )?;
    let rows = st.query_map(params![offer, kind.as_str()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Stars paid for an offer by payments of `kind`, net of their refunds.
pub fn paid_for(c: &Connection, offer: OfferId, kind: PaymentKind) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(sum(p.amount), 0) FROM payments p
          WHERE p.offer_id = ?1 AND p.kind = ?2 AND p.status = 'paid'
            AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.charge_id = 'refund:' || p.charge_id)",
        params![offer, kind.as_str()],
        |r| r.get(0),
    )?)
}

/// An advertiser's credit: unspent Stars of finished campaigns, less what was used.
pub fn credit_of(c: &Connection, user: i64) -> Result<i64> {
    Ok(c.query_row(
        "SELECT coalesce(sum(amount), 0) FROM payments WHERE tg_user_id = ?1 AND kind IN ('credit', 'credit_used')",
        params![user],
        |r| r.get(0),
    )?)
}
