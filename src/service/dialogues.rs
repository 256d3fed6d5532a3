//! Per-chat dialogue state (the /ads wizard, the admin dialogue), stored as
//! versioned JSON so a dialogue survives a restart. The dialogue decides what
//! a row that no longer decodes means (it restarts with an apology).

pub use crate::store::dialogues::Dialogue;
use crate::store::{self, Store, StoreError};

pub fn load(store: &Store, d: Dialogue, chat: i64) -> Result<Option<(i64, String)>, StoreError> {
    store.read(|c| store::dialogues::load(c, d, chat))
}

pub fn save(
    store: &Store,
    d: Dialogue,
    chat: i64,
    version: i64,
    json: &str,
    now: i64,
) -> Result<(), StoreError> {
    store.write(|tx| store::dialogues::save(tx, d, chat, version, json, now))
}

pub fn clear(store: &Store, d: Dialogue, chat: i64) -> Result<(), StoreError> {
    store.write(|tx| store::dialogues::clear(tx, d, chat))
}
