//! Per-chat dialogue state (the /ads wizard, the admin dialogue) as versioned
//! JSON. Decoding is the dialogue's business: a row that no longer decodes is
//! reported to it, which restarts with an apology instead of failing.

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;

/// Which table a dialogue lives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialogue {
    Ads,
    Admin,
}

impl Dialogue {
    fn table(self) -> &'static str {
        match self {
            Dialogue::Ads => "wizard_state",
            Dialogue::Admin => "admin_state",
        }
    }
}

/// The stored (version, JSON) of a chat's dialogue.
pub fn load(c: &Connection, d: Dialogue, chat: i64) -> Result<Option<(i64, String)>> {
    Ok(c.prepare_cached(&format!(
        "SELECT version, state FROM {} WHERE chat_id = ?1",
        d.table()
    ))?
    .query_row([chat], |r| Ok((r.get(0)?, r.get(1)?)))
    .optional()?)
}

pub fn save(
    c: &Connection,
    d: Dialogue,
    chat: i64,
    version: i64,
    state: &str,
    now: i64,
) -> Result<()> {
    c.prepare_cached(&format!(
        "INSERT INTO {} (chat_id, version, state, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(chat_id) DO UPDATE SET version = excluded.version, state = excluded.state, updated_at = excluded.updated_at",
        d.table()
    ))?
    .execute(params![chat, version, state, now])?;
    Ok(())
}

pub fn clear(c: &Connection, d: Dialogue, chat: i64) -> Result<()> {
    c.prepare_cached(&format!("DELETE FROM {} WHERE chat_id = ?1", d.table()))?
        .execute([chat])?;
    Ok(())
}
