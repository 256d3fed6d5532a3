//! Admin-editable settings: key -> JSON value.

use rusqlite::{params, Connection, OptionalExtension};

use super::{Result, Store};
use crate::config::Pricing;
use crate::domain::offer::{Action, PricePair};

pub fn get(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.prepare_cached("SELECT value FROM settings WHERE key = ?1")?
            .query_row([key], |r| r.get(0))
            .optional()?,
    )
}

pub fn set(c: &Connection, key: &str, value: &str) -> Result<()> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

fn min_price_key(action: Action) -> String {
    format!("min_price.{}", action.as_str())
}

/// The minimum price for an action: an admin's run-time override if set, else the config.
pub fn min_price(store: &Store, pricing: &Pricing, action: Action) -> Result<PricePair> {
    let stored = store.read(|c| get(c, &min_price_key(action)))?;
    Ok(stored
        .and_then(|v| serde_json::from_str(&v).ok())
        .unwrap_or_else(|| pricing.minimum(action)))
}

/// Sets an admin override of the minimum price for an action.
pub fn set_min_price(c: &Connection, action: Action, price: PricePair) -> Result<()> {
    set(
        c,
        &min_price_key(action),
        &serde_json::to_string(&price).expect("prices serialize"),
    )
}

fn default_hold_key(action: Action) -> String {
    format!("default_hold.{}", action.as_str())
}

/// The hold window new campaigns of an action start with: an admin's override, else the catalog's.
pub fn default_hold(store: &Store, action: Action) -> Result<i64> {
    let stored = store.read(|c| get(c, &default_hold_key(action)))?;
    Ok(stored
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| action.default_hold_seconds()))
}

pub fn set_default_hold(c: &Connection, action: Action, seconds: i64) -> Result<()> {
    set(c, &default_hold_key(action), &seconds.to_string())
}
