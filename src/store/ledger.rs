//! Ledger queries: money per campaign and per advertiser (`service::ledger`).

use rusqlite::{params, Connection};

use super::Result;

/// One advertiser campaign's money.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfferMoney {
    pub offer: i64,
    pub advertiser: i64,
    pub finished: bool,
    /// Campaign budget charges paid for it.
    pub paid: i64,
    /// Those charges refunded (positive).
    pub refunded: i64,
    /// Credit moved into it (positive).
    pub credit_used: i64,
    pub spent: i64,
}

/// Every campaign that has an advertiser.
pub fn offer_money(c: &Connection) -> Result<Vec<OfferMoney>> {
    let mut st = c.prepare_cached(
        "SELECT o.id, o.advertiser_id, o.status IN ('finished'),
                (SELECT coalesce(sum(amount), 0) FROM payments p WHERE p.offer_id = o.id AND p.kind = 'campaign_budget' AND p.status = 'paid'),
                (SELECT coalesce(-sum(r.amount), 0) FROM payments r JOIN payments p ON r.charge_id = 'refund:' || p.charge_id
                  WHERE p.offer_id = o.id AND p.kind = 'campaign_budget' AND r.kind = 'refund'),
                (SELECT coalesce(-sum(amount), 0) FROM payments u WHERE u.offer_id = o.id AND u.kind = 'credit_used'),
                o.budget_spent
           FROM offers o WHERE o.advertiser_id IS NOT NULL ORDER BY o.id",
    )?;
    let rows = st.query_map([], |r| {
        Ok(OfferMoney {
            offer: r.get(0)?,
            advertiser: r.get(1)?,
            finished: r.get(2)?,
            paid: r.get(3)?,
            refunded: r.get(4)?,
            credit_used: r.get(5)?,
            spent: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Credit per advertiser: booked credit less credit used.
pub fn credits(c: &Connection) -> Result<Vec<(i64, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT tg_user_id, sum(amount) FROM payments WHERE kind IN ('credit', 'credit_used') GROUP BY tg_user_id",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    pub id: i64,
    pub user: i64,
    pub offer: Option<i64>,
    pub kind: String,
    pub amount: i64,
    pub charge_id: Option<String>,
    pub at: i64,
}

pub fn payments(c: &Connection, limit: u32) -> Result<Vec<PaymentRow>> {
    let mut st = c.prepare_cached(
        "SELECT id, tg_user_id, offer_id, kind, amount, charge_id, created_at FROM payments ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map(params![limit], |r| {
        Ok(PaymentRow {
            id: r.get(0)?,
            user: r.get(1)?,
            offer: r.get(2)?,
            kind: r.get(3)?,
            amount: r.get(4)?,
            charge_id: r.get(5)?,
            at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
