//! Click rows: one per token handed to a network's visitor.
//!
//! Invariant: at most one unconsumed click per (offer, uid). A repeat click
//! reuses that row's token and bumps `hits`; a consumed click (bound to a
//! Telegram user) is history, and the next click on the same uid gets a fresh
//! token. Callers run [`record_click`] inside the single writer transaction, so
//! the lookup and the insert cannot race with another click.

use rusqlite::{params, Connection, OptionalExtension};

use super::{ClickId, OfferId, Result};

/// What a click request carries, already validated by the caller.
#[derive(Debug, Clone, Copy)]
pub struct NewClick<'a> {
    pub offer: OfferId,
    pub uid: &'a str,
    pub subs: [Option<&'a str>; 5],
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
}

/// The outcome of [`record_click`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedClick {
    pub id: ClickId,
    pub token: String,
    /// False when an unconsumed click for the same (offer, uid) was reused.
    pub created: bool,
}

/// A stored click, for tests and for the bot's `/start TOKEN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub id: ClickId,
    pub offer: OfferId,
    pub uid: String,
    pub subs: [Option<String>; 5],
    pub token: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub hits: i64,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub consumed_at: Option<i64>,
}

/// Records a click: reuses the unconsumed token of (offer, uid) if there is
/// one, else inserts a row with `new_token()`. The token is only generated
/// when needed. Run inside [`super::Store::write`].
pub fn record_click(
    c: &Connection,
    click: &NewClick<'_>,
    now: i64,
    new_token: impl FnOnce() -> String,
) -> Result<RecordedClick> {
    let existing: Option<(ClickId, String)> = c
        .prepare_cached(
            "SELECT id, token FROM clicks
             WHERE offer_id = ?1 AND uid = ?2 AND consumed_at IS NULL
             ORDER BY id DESC LIMIT 1",
        )?
        .query_row(params![click.offer, click.uid], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    if let Some((id, token)) = existing {
        c.prepare_cached("UPDATE clicks SET hits = hits + 1, last_seen_at = ?2 WHERE id = ?1")?
            .execute(params![id, now])?;
        return Ok(RecordedClick {
            id,
            token,
            created: false,
        });
    }
    let token = new_token();
    let [s1, s2, s3, s4, s5] = click.subs;
    c.prepare_cached(
        "INSERT INTO clicks (offer_id, uid, sub1, sub2, sub3, sub4, sub5, token, ip, user_agent,
                             hits, created_at, last_seen_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1, ?11, ?11)",
    )?
    .execute(params![
        click.offer,
        click.uid,
        s1,
        s2,
        s3,
        s4,
        s5,
        token,
        click.ip,
        click.user_agent,
        now
    ])?;
    Ok(RecordedClick {
        id: ClickId(c.last_insert_rowid()),
        token,
        created: true,
    })
}

const COLUMNS: &str = "id, offer_id, uid, sub1, sub2, sub3, sub4, sub5, token, ip, user_agent,
     hits, created_at, last_seen_at, consumed_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Click> {
    Ok(Click {
        id: r.get(0)?,
        offer: r.get(1)?,
        uid: r.get(2)?,
        subs: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        token: r.get(8)?,
        ip: r.get(9)?,
        user_agent: r.get(10)?,
        hits: r.get(11)?,
        created_at: r.get(12)?,
        last_seen_at: r.get(13)?,
        consumed_at: r.get(14)?,
    })
}

/// The click a `/start TOKEN` refers to.
pub fn click_by_token(c: &Connection, token: &str) -> Result<Option<Click>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLUMNS} FROM clicks WHERE token = ?1"))?
            .query_row([token], from_row)
            .optional()?,
    )
}

/// Marks a click as bound to a Telegram user; false if it was already consumed.
pub fn consume_click(c: &Connection, id: ClickId, now: i64) -> Result<bool> {
    Ok(c.prepare_cached(
        "UPDATE clicks SET consumed_at = ?2 WHERE id = ?1 AND consumed_at IS NULL",
    )?
    .execute(params![id, now])?
        == 1)
}

/// Number of click rows (all offers), for the benchmark's durability check.
pub fn count_clicks(c: &Connection) -> Result<i64> {
    Ok(c.query_row("SELECT count(*) FROM clicks", [], |r| r.get(0))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::migrations::run(&mut c).unwrap();
        c.execute(
            "INSERT INTO offers (id, name, action, price_regular, price_premium, created_at, updated_at)
             VALUES (1, 'o', 'start_bot', 1, 1, 0, 0)",
            [],
        )
        .unwrap();
        c
    }

    fn click(uid: &str) -> NewClick<'_> {
        NewClick {
            offer: OfferId(1),
            uid,
            subs: [Some("a"), None, None, None, Some("e")],
            ip: Some("1.2.3.4"),
            user_agent: None,
        }
    }

    #[test]
    fn repeat_reuses_token_until_consumed() {
        let c = db();
        let a = record_click(&c, &click("u1"), 10, || "tok1".into()).unwrap();
        assert!(a.created);
        let b = record_click(&c, &click("u1"), 20, || panic!("no new token for a repeat")).unwrap();
        assert_eq!((b.id, b.token.as_str(), b.created), (a.id, "tok1", false));
        let stored = click_by_token(&c, "tok1").unwrap().unwrap();
        assert_eq!(
            (stored.hits, stored.created_at, stored.last_seen_at),
            (2, 10, 20)
        );
        assert_eq!(stored.subs[0].as_deref(), Some("a"));
        assert_eq!(stored.subs[4].as_deref(), Some("e"));

        assert!(consume_click(&c, a.id, 30).unwrap());
        assert!(!consume_click(&c, a.id, 31).unwrap());
        let d = record_click(&c, &click("u1"), 40, || "tok2".into()).unwrap();
        assert!(d.created && d.token == "tok2");
        let other = record_click(&c, &click("u2"), 40, || "tok3".into()).unwrap();
        assert!(other.created);
        assert_eq!(count_clicks(&c).unwrap(), 3);
    }
}
