//! Telegram users we have seen.

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;

/// What we know about a Telegram user at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TgUser {
    pub id: i64,
    pub access_hash: Option<i64>,
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub lang: Option<String>,
    pub is_premium: bool,
}

/// Inserts or refreshes a user. A NULL field in `u` keeps what was stored
/// (updates often carry partial "min" user objects).
pub fn upsert_user(c: &Connection, u: &TgUser, now: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO tg_users (id, access_hash, username, first_name, last_name, lang, is_premium, first_seen, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)
         ON CONFLICT(id) DO UPDATE SET
            access_hash = coalesce(excluded.access_hash, access_hash),
            username = coalesce(excluded.username, username),
            first_name = coalesce(excluded.first_name, first_name),
            last_name = coalesce(excluded.last_name, last_name),
            lang = coalesce(excluded.lang, lang),
            is_premium = excluded.is_premium,
            updated_at = excluded.updated_at",
    )?
    .execute(params![u.id, u.access_hash, u.username, u.first_name, u.last_name, u.lang, u.is_premium, now])?;
    Ok(())
}

pub fn get_user(c: &Connection, id: i64) -> Result<Option<TgUser>> {
    Ok(c.prepare_cached("SELECT id, access_hash, username, first_name, last_name, lang, is_premium FROM tg_users WHERE id = ?1")?
        .query_row([id], |r| {
            Ok(TgUser {
                id: r.get(0)?,
                access_hash: r.get(1)?,
                username: r.get(2)?,
                first_name: r.get(3)?,
                last_name: r.get(4)?,
                lang: r.get(5)?,
                is_premium: r.get(6)?,
            })
        })
        .optional()?)
}

pub fn set_premium(c: &Connection, id: i64, premium: bool, now: i64) -> Result<()> {
    c.execute(
        "UPDATE tg_users SET is_premium = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, premium, now],
    )?;
    Ok(())
}

pub fn set_blocked(c: &Connection, id: i64, blocked: bool, now: i64) -> Result<()> {
    c.execute(
        "UPDATE tg_users SET blocked_bot = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, blocked, now],
    )?;
    Ok(())
}

pub fn is_blocked(c: &Connection, id: i64) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT blocked_bot FROM tg_users WHERE id = ?1")?
            .query_row([id], |r| r.get(0))
            .optional()?
            .unwrap_or(false),
    )
}
