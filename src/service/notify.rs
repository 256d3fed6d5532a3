//! Advertiser notifications: recording the events the bot sees (lost admin
//! rights, postbacks failing for good), pausing a campaign that cannot go on,
//! and handing the bot what it still has to send. At most once per event: the
//! (offer, kind, event key) row is unique, and a row is marked sent before it
//! is sent, so a crash loses a message rather than repeating it.

use crate::domain::offer::{Offer, OfferStatus};
use crate::engine::notify::{ADMIN_LOST, BUDGET_EXHAUSTED, POSTBACKS_FAILING};
use crate::service::offers::{self, Actor};
use crate::store::notifications::{self, Notification};
use crate::store::{self, OfferId, Store, StoreError};

/// Postbacks that failed for good within this long are reported.
const FAILING_LOOKBACK: i64 = 86400;

/// The bot found it is no longer an administrator of the offer's target chat.
/// One event per offer and UTC day: the campaign is paused when it is sent,
/// so it can recur only after someone resumed it.
pub fn admin_rights_lost(
    store: &Store,
    offer: &Offer,
    detail: &str,
    now: i64,
) -> Result<bool, StoreError> {
    if offer.status != OfferStatus::Active {
        return Ok(false);
    }
    let day = now.div_euclid(86400).to_string();
    store.write(|tx| notifications::record(tx, OfferId(offer.id), ADMIN_LOST, &day, detail, now))
}

/// Records a notification for each offer whose postbacks failed for good
/// recently (one per offer and UTC day of the newest failure).
pub fn detect_failing_postbacks(store: &Store, now: i64) -> Result<usize, StoreError> {
    store.write(|tx| {
        let mut n = 0;
        for (offer, count, at) in store::report::failing_postbacks(tx, now - FAILING_LOOKBACK)? {
            let key = at.div_euclid(86400).to_string();
            if notifications::record(tx, offer, POSTBACKS_FAILING, &key, &format!("{count}"), now)?
            {
                n += 1;
            }
        }
        Ok(n)
    })
}

/// What the bot must send next, with the offer each is about. Claims them:
/// each is marked sent here, and campaigns that cannot go on are paused first.
pub fn claim(
    store: &Store,
    limit: u32,
    now: i64,
) -> Result<Vec<(Notification, Offer)>, StoreError> {
    let pending = store.read(|c| notifications::unsent(c, limit))?;
    let mut out = Vec::new();
    for n in pending {
        if matches!(n.kind.as_str(), BUDGET_EXHAUSTED | ADMIN_LOST) {
            // Already paused or finished is fine: the message still goes out.
            if let Err(e) = offers::set_status(
                store,
                n.offer_id,
                Some(OfferStatus::Active),
                OfferStatus::Paused,
                Actor::System,
                now,
            ) {
                log::info!(
                    "notification {}: campaign {} not paused: {e}",
                    n.id,
                    n.offer_id
                );
            }
        }
        if !store.write(|tx| notifications::mark_sent(tx, n.id, now))? {
            continue;
        }
        if let Some(o) = store.read(|c| store::offers::get_offer(c, n.offer_id))? {
            out.push((n, o));
        }
    }
    Ok(out)
}
