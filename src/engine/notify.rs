//! Notifications a decision causes (a cap reached, the budget under 10 % or
//! exhausted), recorded in the decision's own transaction: they are durable
//! and at most once per event, whatever happens to the bot afterwards.

use crate::domain::conversion::{Decision, RejectReason, Usage};
use crate::domain::offer::Offer;
use crate::store::{self, Connection, OfferId, Result};

/// Notification kinds, as stored.
pub const CAP: &str = "cap_reached";
pub const BUDGET_LOW: &str = "budget_low";
pub const BUDGET_EXHAUSTED: &str = "budget_exhausted";
pub const ADMIN_LOST: &str = "admin_rights_lost";
pub const POSTBACKS_FAILING: &str = "postbacks_failing";

/// Records what `decision` (already applied) means for the advertiser.
/// `usage` is what the caps counted before it; `since` the window starts.
pub(super) fn after_decision(
    tx: &Connection,
    offer: &Offer,
    usage: Usage,
    since: [Option<i64>; 3],
    decision: &Decision,
    now: i64,
) -> Result<()> {
    let id = OfferId(offer.id);
    let caps = [
        ("total", offer.caps.total, usage.total, Some(0)),
        ("hour", offer.caps.hour, usage.this_hour, since[0]),
        ("day", offer.caps.day, usage.today, since[1]),
        ("week", offer.caps.week, usage.this_week, since[2]),
    ];
    match decision {
        Decision::Accept { .. } => {
            for (kind, cap, used, window) in caps {
                if cap.is_some_and(|cap| used + 1 >= cap) {
                    cap_reached(tx, id, kind, cap.unwrap_or(0), window.unwrap_or(0), now)?;
                }
            }
            // The debit is applied: read what is left now.
            let Some(o) = store::offers::get_offer(tx, id)? else {
                return Ok(());
            };
            if let (Some(total), Some(left)) = (o.budget_total, o.budget_left()) {
                let cheapest = o.price.regular.min(o.price.premium).max(1);
                if left < cheapest {
                    exhausted(tx, id, total, left, now)?;
                } else if left * 10 < total {
                    store::notifications::record(
                        tx,
                        id,
                        BUDGET_LOW,
                        &total.to_string(),
                        &format!("{left} of {total} Stars left"),
                        now,
                    )?;
                }
            }
        }
        Decision::Reject(reason) => {
            let kind = match reason {
                RejectReason::CapTotal => "total",
                RejectReason::CapHour => "hour",
                RejectReason::CapDay => "day",
                RejectReason::CapWeek => "week",
                RejectReason::BudgetExhausted => {
                    let total = offer.budget_total.unwrap_or(0);
                    return exhausted(tx, id, total, offer.budget_left().unwrap_or(0), now);
                }
                _ => return Ok(()),
            };
            if let Some((_, cap, _, window)) = caps.into_iter().find(|c| c.0 == kind) {
                cap_reached(tx, id, kind, cap.unwrap_or(0), window.unwrap_or(0), now)?;
            }
        }
    }
    Ok(())
}

fn cap_reached(
    tx: &Connection,
    id: OfferId,
    kind: &str,
    cap: i64,
    window: i64,
    now: i64,
) -> Result<()> {
    // One per cap and window: the daily cap may be reached again tomorrow.
    store::notifications::record(
        tx,
        id,
        CAP,
        &format!("{kind}:{window}"),
        &format!("{kind} {cap}"),
        now,
    )?;
    Ok(())
}

fn exhausted(tx: &Connection, id: OfferId, total: i64, left: i64, now: i64) -> Result<()> {
    // Keyed by the budget: a top-up makes a new budget that may run out again.
    store::notifications::record(
        tx,
        id,
        BUDGET_EXHAUSTED,
        &total.to_string(),
        &format!("{left} of {total} Stars left"),
        now,
    )?;
    Ok(())
}
