//! Leads: a click bound to the Telegram user who started the bot with its token.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{ClickId, LeadId, OfferId, Result};

/// The click a `/start TOKEN` refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartClick {
    pub id: ClickId,
    pub offer_id: OfferId,
    pub uid: String,
    pub subs: [Option<String>; 5],
    pub created_at: i64,
    pub consumed_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lead {
    pub id: LeadId,
    pub click_id: ClickId,
    pub offer_id: OfferId,
    pub tg_user_id: i64,
    pub started_at: i64,
    pub premium_at_start: bool,
}

/// Outcome of binding a click to a user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bind {
    /// First start with this token.
    New(LeadId),
    /// The same user started again with the same token: fine, same lead.
    Again(LeadId),
    /// Another user already holds this token: one click goes to one user.
    TakenByOther,
    /// This user already has a lead for the offer from another click.
    AlreadyLead(LeadId),
}

const CLICK_COLUMNS: &str =
    "id, offer_id, uid, sub1, sub2, sub3, sub4, sub5, created_at, consumed_at";

fn start_click_row(r: &Row<'_>) -> rusqlite::Result<StartClick> {
    Ok(StartClick {
        id: r.get(0)?,
        offer_id: r.get(1)?,
        uid: r.get(2)?,
        subs: [r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?],
        created_at: r.get(8)?,
        consumed_at: r.get(9)?,
    })
}

/// The click a `/start TOKEN` names.
pub fn click_by_token(c: &Connection, token: &str) -> Result<Option<StartClick>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {CLICK_COLUMNS} FROM clicks WHERE token = ?1"
    ))?
    .query_row([token], start_click_row)
    .optional()?)
}

/// A lead's click (for its time, uid and subs).
pub fn click_by_id(c: &Connection, id: ClickId) -> Result<Option<StartClick>> {
    Ok(
        c.prepare_cached(&format!("SELECT {CLICK_COLUMNS} FROM clicks WHERE id = ?1"))?
            .query_row([id], start_click_row)
            .optional()?,
    )
}

const LEAD_COLUMNS: &str = "id, click_id, offer_id, tg_user_id, started_at, premium_at_start";

fn lead_row(r: &Row<'_>) -> rusqlite::Result<Lead> {
    Ok(Lead {
        id: r.get(0)?,
        click_id: r.get(1)?,
        offer_id: r.get(2)?,
        tg_user_id: r.get(3)?,
        started_at: r.get(4)?,
        premium_at_start: r.get(5)?,
    })
}

/// Binds `click` to `user`. Call inside the write transaction that also
/// records the start, so two users racing for one token cannot both win.
pub fn bind(
    c: &Connection,
    click: &StartClick,
    user: i64,
    premium: bool,
    now: i64,
) -> Result<Bind> {
    if let Some(l) = lead_by_click(c, click.id)? {
        return Ok(if l.tg_user_id == user {
            Bind::Again(l.id)
        } else {
            Bind::TakenByOther
        });
    }
    if let Some(l) = lead_by_offer_user(c, click.offer_id, user)? {
        return Ok(Bind::AlreadyLead(l.id));
    }
    c.prepare_cached(
        "INSERT INTO leads (click_id, offer_id, tg_user_id, started_at, premium_at_start) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![click.id, click.offer_id, user, now, premium])?;
    let id = LeadId(c.last_insert_rowid());
    c.prepare_cached("UPDATE clicks SET consumed_at = ?2 WHERE id = ?1")?
        .execute(params![click.id, now])?;
    Ok(Bind::New(id))
}

pub fn get_lead(c: &Connection, id: LeadId) -> Result<Option<Lead>> {
    Ok(
        c.prepare_cached(&format!("SELECT {LEAD_COLUMNS} FROM leads WHERE id = ?1"))?
            .query_row([id], lead_row)
            .optional()?,
    )
}

pub fn lead_by_click(c: &Connection, click: ClickId) -> Result<Option<Lead>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE click_id = ?1"
    ))?
    .query_row([click], lead_row)
    .optional()?)
}

pub fn lead_by_offer_user(c: &Connection, offer: OfferId, user: i64) -> Result<Option<Lead>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE offer_id = ?1 AND tg_user_id = ?2"
    ))?
    .query_row(params![offer, user], lead_row)
    .optional()?)
}

/// All leads of a user, newest first: an action in a chat is matched against them.
pub fn leads_of_user(c: &Connection, user: i64) -> Result<Vec<Lead>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {LEAD_COLUMNS} FROM leads WHERE tg_user_id = ?1 ORDER BY id DESC"
    ))?;
    let rows = st.query_map([user], lead_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Registers a per-lead task artefact (invite link, poll, invoice payload) so
/// the update it produces can be matched back. Idempotent on `ref_key`.
pub fn add_task(
    c: &Connection,
    lead: LeadId,
    kind: &str,
    ref_key: &str,
    chat_id: Option<i64>,
    msg_id: Option<i32>,
    now: i64,
) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO lead_tasks (lead_id, kind, ref_key, chat_id, msg_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT(ref_key) DO NOTHING",
    )?
    .execute(params![lead, kind, ref_key, chat_id, msg_id, now])?;
    Ok(())
}

/// A per-lead task artefact: its key and, where it has one, its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub lead: LeadId,
    pub ref_key: String,
    pub chat_id: Option<i64>,
    pub msg_id: Option<i32>,
}

fn task_row(r: &Row<'_>) -> rusqlite::Result<Task> {
    Ok(Task {
        lead: r.get(0)?,
        ref_key: r.get(1)?,
        chat_id: r.get(2)?,
        msg_id: r.get(3)?,
    })
}

/// The task an artefact key belongs to (e.g. which lead a poll was sent to).
pub fn lead_by_task(c: &Connection, ref_key: &str) -> Result<Option<Task>> {
    Ok(c.prepare_cached(
        "SELECT lead_id, ref_key, chat_id, msg_id FROM lead_tasks WHERE ref_key = ?1",
    )?
    .query_row([ref_key], task_row)
    .optional()?)
}

/// Every task of a kind at one message (e.g. a comment bought by two offers).
pub fn tasks_at(c: &Connection, kind: &str, chat: i64, msg: i32) -> Result<Vec<Task>> {
    let mut st = c.prepare_cached("SELECT lead_id, ref_key, chat_id, msg_id FROM lead_tasks WHERE kind = ?1 AND chat_id = ?2 AND msg_id = ?3")?;
    let rows = st.query_map(params![kind, chat, msg], task_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The latest task of a given kind made for a lead, if any (e.g. its invite link).
pub fn task_of_lead(c: &Connection, lead: LeadId, kind: &str) -> Result<Option<Task>> {
    Ok(c.prepare_cached("SELECT lead_id, ref_key, chat_id, msg_id FROM lead_tasks WHERE lead_id = ?1 AND kind = ?2 ORDER BY id DESC LIMIT 1")?
        .query_row(params![lead, kind], task_row)
        .optional()?)
}

/// The start token of a lead's click (passed on to third-party bots).
pub fn click_token(c: &Connection, click: ClickId) -> Result<Option<String>> {
    Ok(c.prepare_cached("SELECT token FROM clicks WHERE id = ?1")?
        .query_row([click], |r| r.get(0))
        .optional()?)
}

/// Leads still waiting for their action, of offers with `action`, started since `since`
/// and due for a check at `now`, least recently checked first: the reconciliation
/// sweep looks for joins it missed.
pub fn waiting_leads(
    c: &Connection,
    action: &str,
    since: i64,
    now: i64,
    limit: u32,
) -> Result<Vec<Lead>> {
    let mut st = c.prepare_cached(
        "SELECT l.id, l.click_id, l.offer_id, l.tg_user_id, l.started_at, l.premium_at_start
           FROM leads l JOIN conversions v ON v.lead_id = l.id
          WHERE v.status = 'lead' AND v.action = ?1 AND l.started_at >= ?2 AND coalesce(v.next_check_at, 0) <= ?3
          ORDER BY coalesce(v.next_check_at, 0), l.id LIMIT ?4",
    )?;
    let rows = st.query_map(params![action, since, now, limit], lead_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Share leads whose personal link has at least one unique visitor and whose
/// conversion still waits: the share action is done.
pub fn shares_with_visitors(c: &Connection, limit: u32) -> Result<Vec<(Lead, i64)>> {
    let mut st = c.prepare_cached(
        "SELECT l.id, l.click_id, l.offer_id, l.tg_user_id, l.started_at, l.premium_at_start,
                (SELECT count(*) FROM share_visits v WHERE v.share_id = s.id) AS uniq
           FROM share_links s JOIN leads l ON l.id = s.lead_id
           JOIN conversions c ON c.lead_id = l.id AND c.action = 'share' AND c.status = 'lead'
          WHERE uniq > 0 LIMIT ?1",
    )?;
    let rows = st.query_map(params![limit], |r| Ok((lead_row(r)?, r.get(6)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
