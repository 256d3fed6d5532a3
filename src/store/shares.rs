//! Personal share links (`/s/TOKEN`) and their visitors.
//!
//! Privacy invariant: no raw IP is stored for shares. A visitor is a salted
//! hash of (IP, user agent) computed by the caller; the salt is per install,
//! kept in `settings` under [`VISITOR_SALT_KEY`], so hashes cannot be compared
//! across installs or reversed by trying every IPv4 address without it.

use rusqlite::{params, Connection, OptionalExtension};

use super::{OfferId, Result, ShareId, StoreError};

/// The `settings` key of the visitor-hash salt (a JSON string of hex).
pub const VISITOR_SALT_KEY: &str = "share_visitor_salt";

/// Returns the install's visitor salt, storing `candidate` first if there is
/// none yet. Run inside a write transaction so two starts cannot race.
pub fn visitor_salt(c: &Connection, candidate: &[u8; 32]) -> Result<[u8; 32]> {
    let hex: String = candidate.iter().map(|b| format!("{b:02x}")).collect();
    c.execute(
        "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
        params![VISITOR_SALT_KEY, serde_json::Value::String(hex).to_string()],
    )?;
    let stored: String = c.query_row(
        "SELECT value FROM settings WHERE key = ?1",
        [VISITOR_SALT_KEY],
        |r| r.get(0),
    )?;
    let corrupt = || {
        StoreError::Corrupt(format!(
            "settings.{VISITOR_SALT_KEY} is not a 64-digit hex string"
        ))
    };
    let hex: String = serde_json::from_str(&stored).map_err(|_| corrupt())?;
    if hex.len() != 64 {
        return Err(corrupt());
    }
    let mut salt = [0u8; 32];
    for (i, byte) in salt.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or_else(corrupt)?, 16)
            .map_err(|_| corrupt())?;
    }
    Ok(salt)
}

#[derive(Debug, Clone)]
pub struct NewShare<'a> {
    pub token: &'a str,
    pub offer: OfferId,
    pub lead_id: Option<i64>,
    pub tg_user_id: Option<i64>,
    /// Where visitors are sent; only URLs stored here are ever redirected to.
    pub target_url: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareLink {
    pub id: ShareId,
    pub token: String,
    pub offer: OfferId,
    pub lead_id: Option<i64>,
    pub tg_user_id: Option<i64>,
    pub target_url: String,
    pub visits: i64,
    pub created_at: i64,
}

pub fn insert_share(c: &Connection, s: &NewShare<'_>, now: i64) -> Result<ShareId> {
    c.prepare_cached(
        "INSERT INTO share_links (token, offer_id, lead_id, tg_user_id, target_url, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.token,
        s.offer,
        s.lead_id,
        s.tg_user_id,
        s.target_url,
        now
    ])?;
    Ok(ShareId(c.last_insert_rowid()))
}

pub fn share_by_token(c: &Connection, token: &str) -> Result<Option<ShareLink>> {
    Ok(c.prepare_cached(
        "SELECT id, token, offer_id, lead_id, tg_user_id, target_url, visits, created_at
             FROM share_links WHERE token = ?1",
    )?
    .query_row([token], |r| {
        Ok(ShareLink {
            id: r.get(0)?,
            token: r.get(1)?,
            offer: r.get(2)?,
            lead_id: r.get(3)?,
            tg_user_id: r.get(4)?,
            target_url: r.get(5)?,
            visits: r.get(6)?,
            created_at: r.get(7)?,
        })
    })
    .optional()?)
}

/// The outcome of [`record_share_visit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareVisit {
    pub share: ShareId,
    pub target_url: String,
    /// True the first time this visitor hash is seen on this share.
    pub unique: bool,
}

/// Counts a visit to the share `token` by `visitor_hash`; `None` if no such
/// share. Run inside [`super::Store::write`].
pub fn record_share_visit(
    c: &Connection,
    token: &str,
    visitor_hash: &str,
    now: i64,
) -> Result<Option<ShareVisit>> {
    let share: Option<(ShareId, String)> = c
        .prepare_cached("SELECT id, target_url FROM share_links WHERE token = ?1")?
        .query_row([token], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((share, target_url)) = share else {
        return Ok(None);
    };
    let unique = c
        .prepare_cached("INSERT OR IGNORE INTO share_visits (share_id, visitor_hash, first_at) VALUES (?1, ?2, ?3)")?
        .execute(params![share, visitor_hash, now])?
        == 1;
    c.prepare_cached("UPDATE share_links SET visits = visits + 1 WHERE id = ?1")?
        .execute([share])?;
    Ok(Some(ShareVisit {
        share,
        target_url,
        unique,
    }))
}

/// Unique visitors of one share.
pub fn unique_visitors(c: &Connection, share: ShareId) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM share_visits WHERE share_id = ?1")?
            .query_row([share], |r| r.get(0))?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::migrations::run(&mut c).unwrap();
        c.execute(
            "INSERT INTO offers (id, name, action, price_regular, price_premium, created_at, updated_at)
             VALUES (1, 'o', 'share', 1, 1, 0, 0)",
            [],
        )
        .unwrap();
        c
    }

    #[test]
    fn salt_is_created_once() {
        let c = db();
        let first = visitor_salt(&c, &[7; 32]).unwrap();
        assert_eq!(first, [7; 32]);
        assert_eq!(
            visitor_salt(&c, &[9; 32]).unwrap(),
            [7; 32],
            "an existing salt must be kept"
        );
    }

    #[test]
    fn visits_count_unique_hashes() {
        let c = db();
        let target = "https://t.me/news";
        let id = insert_share(
            &c,
            &NewShare {
                token: "s1",
                offer: OfferId(1),
                lead_id: None,
                tg_user_id: Some(5),
                target_url: target,
            },
            1,
        )
        .unwrap();
        assert!(record_share_visit(&c, "nope", "h", 2).unwrap().is_none());
        let v = record_share_visit(&c, "s1", "h1", 2).unwrap().unwrap();
        assert_eq!(
            v,
            ShareVisit {
                share: id,
                target_url: target.into(),
                unique: true
            }
        );
        assert!(
            !record_share_visit(&c, "s1", "h1", 3)
                .unwrap()
                .unwrap()
                .unique
        );
        assert!(
            record_share_visit(&c, "s1", "h2", 4)
                .unwrap()
                .unwrap()
                .unique
        );
        assert_eq!(unique_visitors(&c, id).unwrap(), 2);
        assert_eq!(share_by_token(&c, "s1").unwrap().unwrap().visits, 3);
    }
}
