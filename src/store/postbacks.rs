//! The postback outbox (`postbacks`) and its attempt log (`postback_attempts`).
//!
//! A row is written in the same transaction as the conversion status it reports
//! (design invariant 4) with the request already rendered, so a later template
//! edit never changes what a queued postback says. Only the worker moves a row
//! out of `pending`, and only after the receiver answered (or definitively did
//! not): a crash at any point leaves it `pending`, and the restart resends it
//! under the same txid.
//!
//! Order: a conversion's postbacks are sent in the order they were written
//! (by id): a row is not due while an earlier row of the same conversion is
//! still `pending`, so after a receiver outage `lead`, `hold`, `rejected` still
//! arrive in that order, each after the one before it is delivered, failed or
//! dead ([`BLOCKED_BY_EARLIER`]).
//!
//! Times: `created_at`, `updated_at` and attempt `at` are unix seconds like the
//! rest of the schema; `due_at_ms` is unix milliseconds (see schema.sql).

use std::fmt;
use std::str::FromStr;

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{ConversionId, OfferId, PostbackId, Result, StoreError};
use crate::domain::offer::PostbackMethod;

/// Where a postback is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostbackState {
    /// Waiting for its first or next attempt (`due_at_ms`).
    Pending,
    /// The receiver accepted it.
    Delivered,
    /// The receiver refused it (4xx, or a body check): not retried automatically.
    Failed,
    /// Retryable errors until `max_attempts` ran out: not retried automatically.
    Dead,
}

pub const ALL_STATES: [PostbackState; 4] = [
    PostbackState::Pending,
    PostbackState::Delivered,
    PostbackState::Failed,
    PostbackState::Dead,
];

impl PostbackState {
    pub fn as_str(self) -> &'static str {
        match self {
            PostbackState::Pending => "pending",
            PostbackState::Delivered => "delivered",
            PostbackState::Failed => "failed",
            PostbackState::Dead => "dead",
        }
    }
}

impl FromStr for PostbackState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "pending" => Ok(PostbackState::Pending),
            "delivered" => Ok(PostbackState::Delivered),
            "failed" => Ok(PostbackState::Failed),
            "dead" => Ok(PostbackState::Dead),
            _ => Err(format!(
                "unknown postback state {s:?}; expected pending, delivered, failed or dead"
            )),
        }
    }
}

impl fmt::Display for PostbackState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rendered postback to store.
#[derive(Debug, Clone)]
pub struct NewPostback<'a> {
    /// None only for test postbacks, which report no real conversion.
    pub conversion_id: Option<ConversionId>,
    pub offer_id: OfferId,
    /// Our status word (lead, hold, approved, rejected), not the preset's.
    pub status: &'a str,
    pub txid: &'a str,
    pub method: PostbackMethod,
    pub url: &'a str,
    pub body: Option<&'a str>,
    pub preset: &'a str,
    /// `Pending` normally; `Failed` when the request could not be rendered, so
    /// the problem is visible without blocking the status change it reports.
    pub state: PostbackState,
    pub last_error: Option<&'a str>,
    pub is_test: bool,
    pub due_at_ms: i64,
}

/// Inserts a postback unless one exists for the same (conversion, status).
/// Returns the row id and whether it was created by this call.
pub fn enqueue(c: &Connection, p: &NewPostback<'_>, now: i64) -> Result<(PostbackId, bool)> {
    if let Some(conv) = p.conversion_id {
        if let Some(id) = find_by_conversion(c, conv, p.status)? {
            return Ok((id, false));
        }
    }
    c.prepare_cached(
        "INSERT INTO postbacks (conversion_id, offer_id, status, txid, method, url, body, preset, state,
            attempts, due_at_ms, last_error, is_test, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, ?12, ?13, ?13)",
    )?
    .execute(params![
        p.conversion_id,
        p.offer_id,
        p.status,
        p.txid,
        p.method.as_str(),
        p.url,
        p.body,
        p.preset,
        p.state.as_str(),
        p.due_at_ms,
        p.last_error,
        p.is_test,
        now,
    ])?;
    Ok((PostbackId(c.last_insert_rowid()), true))
}

pub fn find_by_conversion(
    c: &Connection,
    conv: ConversionId,
    status: &str,
) -> Result<Option<PostbackId>> {
    Ok(
        c.prepare_cached("SELECT id FROM postbacks WHERE conversion_id = ?1 AND status = ?2")?
            .query_row(params![conv, status], |r| r.get(0))
            .optional()?,
    )
}

/// What the sender needs to make one attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueRow {
    pub id: PostbackId,
    pub txid: String,
    pub method: PostbackMethod,
    pub url: String,
    pub body: Option<String>,
    pub preset: String,
    /// Attempts made so far in this cycle (reset by a manual retry).
    pub attempts: u32,
    pub due_at_ms: i64,
}

fn method_of(id: i64, s: &str) -> rusqlite::Result<PostbackMethod> {
    s.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            Box::new(StoreError::Corrupt(format!("postback {id}: method: {e}"))),
        )
    })
}

fn due_from_row(r: &Row<'_>) -> rusqlite::Result<DueRow> {
    let id: i64 = r.get(0)?;
    let method: String = r.get(2)?;
    Ok(DueRow {
        id: PostbackId(id),
        txid: r.get(1)?,
        method: method_of(id, &method)?,
        url: r.get(3)?,
        body: r.get(4)?,
        preset: r.get(5)?,
        attempts: r.get::<_, i64>(6)?.max(0) as u32,
        due_at_ms: r.get(7)?,
    })
}

/// The condition that holds a pending row `p` back: an earlier row of the same
/// conversion is still pending (it is being retried, or is in flight). Looked
/// up through the `postbacks_conversion_status` index (a handful of rows per
/// conversion); `INDEXED BY` because, left alone, the planner picks the state
/// index and the drain goes quadratic in the outbox depth.
const BLOCKED_BY_EARLIER: &str =
    "EXISTS (SELECT 1 FROM postbacks e INDEXED BY postbacks_conversion_status
      WHERE e.conversion_id = p.conversion_id AND e.conversion_id IS NOT NULL
        AND e.state = 'pending' AND e.id < p.id)";

/// Pending rows whose attempt is due at `now_ms`, earliest first; a row
/// waiting for an earlier row of its conversion is not due.
pub fn due_postbacks(c: &Connection, now_ms: i64, limit: usize) -> Result<Vec<DueRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT id, txid, method, url, body, preset, attempts, due_at_ms FROM postbacks p
          WHERE state = 'pending' AND due_at_ms <= ?1 AND NOT {BLOCKED_BY_EARLIER}
          ORDER BY due_at_ms, id LIMIT ?2"
    ))?;
    let rows = st.query_map(params![now_ms, limit as i64], due_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The earliest pending rows regardless of due time, earliest first: the
/// worker skips those it has in flight and sleeps until the first of the rest.
/// Rows waiting for an earlier row of their conversion are left out: they
/// become visible once it is delivered, failed or dead (so a conversion's
/// postbacks are never sent out of order, nor two of them at once).
pub fn earliest_pending(c: &Connection, limit: usize) -> Result<Vec<DueRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT id, txid, method, url, body, preset, attempts, due_at_ms FROM postbacks p
          WHERE state = 'pending' AND NOT {BLOCKED_BY_EARLIER}
          ORDER BY due_at_ms, id LIMIT ?1"
    ))?;
    let rows = st.query_map(params![limit as i64], due_from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// When the earliest pending row is due (unix ms), if any.
pub fn next_due_at(c: &Connection) -> Result<Option<i64>> {
    Ok(
        c.prepare_cached(&format!(
            "SELECT min(due_at_ms) FROM postbacks p WHERE state = 'pending' AND NOT {BLOCKED_BY_EARLIER}"
        ))?
        .query_row([], |r| r.get(0))?,
    )
}

/// One attempt as logged.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attempt {
    pub postback_id: PostbackId,
    /// Unix seconds.
    pub at: i64,
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first bytes of the response body, lossily decoded.
    pub body_head: Option<String>,
}

/// The row's next state after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub state: PostbackState,
    /// Attempts made in this cycle, including the one just logged.
    pub attempts: u32,
    /// For `Pending`: when to try again. Kept as is for final states.
    pub due_at_ms: i64,
    pub last_error: Option<String>,
}

/// Logs an attempt and moves its row, in the caller's transaction. The worker
/// groups a batch of these into one transaction so the drain is not bounded by
/// one commit per postback.
pub fn record_attempt(c: &Connection, a: &Attempt, t: &Transition, now: i64) -> Result<()> {
    c.prepare_cached(
        "INSERT INTO postback_attempts (postback_id, at, http_status, latency_ms, error, body_head)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        a.postback_id,
        a.at,
        a.http_status,
        a.latency_ms,
        a.error,
        a.body_head
    ])?;
    c.prepare_cached(
        "UPDATE postbacks SET state = ?2, attempts = ?3, due_at_ms = ?4, last_error = ?5, updated_at = ?6
          WHERE id = ?1",
    )?
    .execute(params![a.postback_id, t.state.as_str(), t.attempts, t.due_at_ms, t.last_error, now])?;
    Ok(())
}

/// The result of asking for a manual retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryResult {
    /// Back to pending, due now, with a fresh attempt budget.
    Requeued,
    /// Already pending: nothing to do.
    AlreadyPending,
    /// Delivered rows are not resent: the receiver already has it.
    AlreadyDelivered,
    NotFound,
}

/// Requeues one failed or dead postback (`postback retry ID`).
pub fn retry(c: &Connection, id: PostbackId, now: i64) -> Result<RetryResult> {
    let state: Option<String> = c
        .query_row("SELECT state FROM postbacks WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?;
    let Some(state) = state else {
        return Ok(RetryResult::NotFound);
    };
    let state: PostbackState = state.parse().map_err(StoreError::Corrupt)?;
    match state {
        PostbackState::Pending => Ok(RetryResult::AlreadyPending),
        PostbackState::Delivered => Ok(RetryResult::AlreadyDelivered),
        PostbackState::Failed | PostbackState::Dead => {
            c.execute(
                "UPDATE postbacks SET state = 'pending', attempts = 0, due_at_ms = ?2, updated_at = ?3 WHERE id = ?1",
                params![id, now * 1000, now],
            )?;
            Ok(RetryResult::Requeued)
        }
    }
}

/// Requeues every dead postback (`postback retry --all-dead`); returns how many.
pub fn retry_dead(c: &Connection, now: i64) -> Result<usize> {
    Ok(c.execute(
        "UPDATE postbacks SET state = 'pending', attempts = 0, due_at_ms = ?1, updated_at = ?2 WHERE state = 'dead'",
        params![now * 1000, now],
    )?)
}

/// A postback as listed and shown.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PostbackRow {
    pub id: PostbackId,
    pub conversion_id: Option<ConversionId>,
    pub offer_id: OfferId,
    pub status: String,
    pub txid: String,
    pub method: PostbackMethod,
    pub url: String,
    pub body: Option<String>,
    pub preset: String,
    pub state: PostbackState,
    pub attempts: u32,
    pub due_at_ms: i64,
    pub last_error: Option<String>,
    pub is_test: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const ROW_COLUMNS: &str =
    "id, conversion_id, offer_id, status, txid, method, url, body, preset, state, attempts,
     due_at_ms, last_error, is_test, created_at, updated_at";

fn row_from(r: &Row<'_>) -> rusqlite::Result<PostbackRow> {
    let id: i64 = r.get(0)?;
    let method: String = r.get(5)?;
    let state: String = r.get(9)?;
    Ok(PostbackRow {
        id: PostbackId(id),
        conversion_id: r.get(1)?,
        offer_id: r.get(2)?,
        status: r.get(3)?,
        txid: r.get(4)?,
        method: method_of(id, &method)?,
        url: r.get(6)?,
        body: r.get(7)?,
        preset: r.get(8)?,
        state: state.parse().map_err(|e: String| {
            rusqlite::Error::FromSqlConversionFailure(
                9,
                rusqlite::types::Type::Text,
                Box::new(StoreError::Corrupt(format!("postback {id}: state: {e}"))),
            )
        })?,
        attempts: r.get::<_, i64>(10)?.max(0) as u32,
        due_at_ms: r.get(11)?,
        last_error: r.get(12)?,
        is_test: r.get(13)?,
        created_at: r.get(14)?,
        updated_at: r.get(15)?,
    })
}

pub fn get(c: &Connection, id: PostbackId) -> Result<Option<PostbackRow>> {
    Ok(c.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM postbacks WHERE id = ?1"
    ))?
    .query_row([id], row_from)
    .optional()?)
}

/// Newest first, optionally in one state.
pub fn list(
    c: &Connection,
    state: Option<PostbackState>,
    limit: usize,
) -> Result<Vec<PostbackRow>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {ROW_COLUMNS} FROM postbacks WHERE (?1 IS NULL OR state = ?1) ORDER BY id DESC LIMIT ?2"
    ))?;
    let rows = st.query_map(params![state.map(|s| s.as_str()), limit as i64], row_from)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Every attempt of one postback, oldest first.
pub fn attempts_of(c: &Connection, id: PostbackId) -> Result<Vec<Attempt>> {
    let mut st = c.prepare_cached(
        "SELECT postback_id, at, http_status, latency_ms, error, body_head FROM postback_attempts
          WHERE postback_id = ?1 ORDER BY id",
    )?;
    let rows = st.query_map([id], |r| {
        Ok(Attempt {
            postback_id: r.get(0)?,
            at: r.get(1)?,
            http_status: r.get::<_, Option<i64>>(2)?.map(|s| s as u16),
            latency_ms: r.get(3)?,
            error: r.get(4)?,
            body_head: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Row counts per state, every state present (zero when empty), for /metrics and stats.
pub fn counts_by_state(c: &Connection) -> Result<Vec<(PostbackState, i64)>> {
    let mut st = c.prepare_cached("SELECT state, count(*) FROM postbacks GROUP BY state")?;
    let found = st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(ALL_STATES
        .iter()
        .map(|s| {
            (
                *s,
                found
                    .iter()
                    .find(|(n, _)| n == s.as_str())
                    .map_or(0, |(_, c)| *c),
            )
        })
        .collect())
}

/// Postbacks not yet settled (pending), for /metrics.
pub fn outbox_depth(c: &Connection) -> Result<i64> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM postbacks WHERE state = 'pending'")?
            .query_row([], |r| r.get(0))?,
    )
}

/// Delivered / failed-or-dead counts of one offer's real (non-test) postbacks, for stats.
pub fn offer_summary(c: &Connection, offer: OfferId) -> Result<(i64, i64)> {
    Ok(c
        .prepare_cached(
            "SELECT coalesce(sum(state = 'delivered'), 0), coalesce(sum(state IN ('failed', 'dead')), 0)
               FROM postbacks WHERE offer_id = ?1 AND is_test = 0",
        )?
        .query_row([offer], |r| Ok((r.get(0)?, r.get(1)?)))?)
}
