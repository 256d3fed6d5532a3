//! Run-time settings admins change (in the bot's /settings or with
//! `tgtrack price`): minimum prices per action and tier, and default hold
//! windows. Stored in the database; each change is audited.

use crate::domain::offer::{Action, PricePair};
use crate::store::audit::Subject;
use crate::store::{self, Store, StoreError};

use super::offers::Actor;

/// The largest price or hold an admin may set.
pub const MAX_PRICE: i64 = 1_000_000;
pub const MAX_HOLD: i64 = 90 * 86400;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("prices must be 0..={MAX_PRICE} Stars")]
    PriceRange,
    #[error("the Premium price cannot be below the regular one")]
    PremiumBelowRegular,
    #[error("the hold window must be 0 to 90 days")]
    HoldRange,
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub fn set_min_price(
    store: &Store,
    action: Action,
    price: PricePair,
    actor: Actor,
    now: i64,
) -> Result<(), SettingsError> {
    if !(0..=MAX_PRICE).contains(&price.regular) || !(0..=MAX_PRICE).contains(&price.premium) {
        return Err(SettingsError::PriceRange);
    }
    if price.premium < price.regular {
        return Err(SettingsError::PremiumBelowRegular);
    }
    store.write(|tx| {
        store::settings::set_min_price(tx, action, price)?;
        store::audit::record(
            tx,
            Subject::default(),
            now,
            "settings",
            &format!(
                "minimum price of {action} set to {} / {} by {actor}",
                price.regular, price.premium
            ),
        )
    })?;
    Ok(())
}

pub fn set_default_hold(
    store: &Store,
    action: Action,
    seconds: i64,
    actor: Actor,
    now: i64,
) -> Result<(), SettingsError> {
    if !(0..=MAX_HOLD).contains(&seconds) {
        return Err(SettingsError::HoldRange);
    }
    store.write(|tx| {
        store::settings::set_default_hold(tx, action, seconds)?;
        store::audit::record(
            tx,
            Subject::default(),
            now,
            "settings",
            &format!("default hold of {action} set to {seconds} s by {actor}"),
        )
    })?;
    Ok(())
}
