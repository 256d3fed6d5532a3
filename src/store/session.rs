//! MTProto session rows (`tg_session_*`): auth keys, DC addresses, the peer
//! cache and the update state of one account (`session` = "bot" or "owner").
//! The grammers `Session` trait is implemented on top of these in `bot::session`.

use rusqlite::{params, Connection, OptionalExtension};

use super::Result;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SessionRows {
    pub home_dc: Option<i32>,
    /// (pts, qts, date, seq)
    pub state: Option<(i32, i32, i32, i32)>,
    /// (dc id, ipv4 "a.b.c.d:port", ipv6 "[..]:port", auth key)
    pub dcs: Vec<(i32, String, String, Option<Vec<u8>>)>,
    /// (bot-API style dialog id, access hash, subtype bits)
    pub peers: Vec<(i64, Option<i64>, Option<i64>)>,
    /// (channel bare id, pts)
    pub channels: Vec<(i64, i32)>,
}

/// home dc, then pts, qts, date, seq (all NULL until the first state is saved).
type MetaRow = (i32, Option<i32>, Option<i32>, Option<i32>, Option<i32>);

pub fn load(c: &Connection, session: &str) -> Result<SessionRows> {
    let meta: Option<MetaRow> = c
        .query_row(
            "SELECT home_dc, pts, qts, date, seq FROM tg_session_meta WHERE session = ?1",
            [session],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let mut rows = SessionRows::default();
    if let Some((home, pts, qts, date, seq)) = meta {
        rows.home_dc = Some(home);
        if let (Some(pts), Some(qts), Some(date), Some(seq)) = (pts, qts, date, seq) {
            rows.state = Some((pts, qts, date, seq));
        }
    }
    let mut st =
        c.prepare("SELECT dc_id, ipv4, ipv6, auth_key FROM tg_session_dcs WHERE session = ?1")?;
    rows.dcs = st
        .query_map([session], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut st =
        c.prepare("SELECT peer_id, hash, subtype FROM tg_session_peers WHERE session = ?1")?;
    rows.peers = st
        .query_map([session], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut st = c.prepare("SELECT channel_id, pts FROM tg_session_channels WHERE session = ?1")?;
    rows.channels = st
        .query_map([session], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(rows)
}

fn ensure_meta(c: &Connection, session: &str, home_dc: i32) -> Result<()> {
    c.prepare_cached("INSERT INTO tg_session_meta (session, home_dc) VALUES (?1, ?2) ON CONFLICT(session) DO NOTHING")?
        .execute(params![session, home_dc])?;
    Ok(())
}

pub fn set_home_dc(c: &Connection, session: &str, dc: i32) -> Result<()> {
    ensure_meta(c, session, dc)?;
    c.prepare_cached("UPDATE tg_session_meta SET home_dc = ?2 WHERE session = ?1")?
        .execute(params![session, dc])?;
    Ok(())
}

pub fn upsert_dc(
    c: &Connection,
    session: &str,
    id: i32,
    ipv4: &str,
    ipv6: &str,
    key: Option<&[u8]>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO tg_session_dcs (session, dc_id, ipv4, ipv6, auth_key) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(session, dc_id) DO UPDATE SET ipv4 = excluded.ipv4, ipv6 = excluded.ipv6, auth_key = excluded.auth_key",
    )?
    .execute(params![session, id, ipv4, ipv6, key])?;
    Ok(())
}

pub fn upsert_peer(
    c: &Connection,
    session: &str,
    peer_id: i64,
    hash: Option<i64>,
    subtype: Option<i64>,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO tg_session_peers (session, peer_id, hash, subtype) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT(session, peer_id) DO UPDATE SET hash = excluded.hash, subtype = excluded.subtype",
    )?
    .execute(params![session, peer_id, hash, subtype])?;
    Ok(())
}

/// Stores the common state; `home_dc` is only used if the row does not exist yet.
pub fn set_primary(
    c: &Connection,
    session: &str,
    home_dc: i32,
    pts: i32,
    date: i32,
    seq: i32,
) -> Result<()> {
    ensure_meta(c, session, home_dc)?;
    c.prepare_cached("UPDATE tg_session_meta SET pts = ?2, date = ?3, seq = ?4, qts = coalesce(qts, 0) WHERE session = ?1")?
        .execute(params![session, pts, date, seq])?;
    Ok(())
}

pub fn set_qts(c: &Connection, session: &str, home_dc: i32, qts: i32) -> Result<()> {
    ensure_meta(c, session, home_dc)?;
    c.prepare_cached(
        "UPDATE tg_session_meta SET qts = ?2, pts = coalesce(pts, 0), date = coalesce(date, 0), seq = coalesce(seq, 0) WHERE session = ?1",
    )?
    .execute(params![session, qts])?;
    Ok(())
}

pub fn set_channel(c: &Connection, session: &str, channel: i64, pts: i32) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO tg_session_channels (session, channel_id, pts) VALUES (?1, ?2, ?3)
         ON CONFLICT(session, channel_id) DO UPDATE SET pts = excluded.pts",
    )?
    .execute(params![session, channel, pts])?;
    Ok(())
}

pub fn clear_channels(c: &Connection, session: &str) -> Result<()> {
    c.execute(
        "DELETE FROM tg_session_channels WHERE session = ?1",
        [session],
    )?;
    Ok(())
}

/// Forgets an account's session entirely (e.g. after the token changed).
pub fn delete(c: &Connection, session: &str) -> Result<()> {
    for t in [
        "tg_session_meta",
        "tg_session_dcs",
        "tg_session_peers",
        "tg_session_channels",
    ] {
        c.execute(&format!("DELETE FROM {t} WHERE session = ?1"), [session])?;
    }
    Ok(())
}
