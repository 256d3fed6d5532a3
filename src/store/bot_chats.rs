//! Chats the bot was added to or promoted in, and by whom.

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;

pub fn record(c: &Connection, chat: i64, actor: i64, is_admin: bool, now: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO bot_chats (chat_id, actor_id, is_admin, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(chat_id) DO UPDATE SET actor_id = excluded.actor_id, is_admin = excluded.is_admin,
            updated_at = excluded.updated_at",
    )?
    .execute(params![chat, actor, is_admin, now])?;
    Ok(())
}

/// The chat `actor` most recently made the bot an admin of, since `since`.
pub fn latest_promoted_by(c: &Connection, actor: i64, since: i64) -> Result<Option<i64>> {
    Ok(c.prepare_cached(
        "SELECT chat_id FROM bot_chats WHERE actor_id = ?1 AND is_admin = 1 AND updated_at >= ?2
          ORDER BY updated_at DESC, chat_id DESC LIMIT 1",
    )?
    .query_row(params![actor, since], |r| r.get(0))
    .optional()?)
}
