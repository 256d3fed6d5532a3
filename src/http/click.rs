//! `GET /click/{offer}?uid=...`: record the click, then send the visitor to the bot.
//!
//! The hot path: validate the query, then commit the click, then a 302 to
//! `https://t.me/{bot}?start={token}`. The answer is built only after the
//! commit returns, so every redirect we send has a durable row behind it.
//!
//! Group commit: each commit appends every page it touched (the table and
//! three index leaves) to the WAL, and that volume, not the SQL, was the cost
//! of a click. So clicks that arrive together share one write transaction:
//! a worker queues its click, and whichever worker takes the store's writer
//! commits everything queued so far and hands each worker its own result
//! ([`ClickCommitter`]). A worker never answers before the transaction holding
//! its click has committed. Batches are bounded by the number of workers.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use tiny_http::Request;

use super::client_ip::client_ip;
use super::limits::MAX_USER_AGENT;
use super::query::ClickParams;
use super::router::{HttpError, Reply};
use super::server::Context;
use crate::domain::offer::OfferStatus;
use crate::domain::token::click_token_at;
use crate::store::clicks::{record_click, NewClick, RecordedClick};
use crate::store::offers::offer_click_info;
use crate::store::{Connection, OfferId, Store, StoreError};

pub fn click(ctx: &Context, rq: &Request, offer: &str, query: &str) -> Result<Reply, HttpError> {
    let offer = parse_offer_id(offer).ok_or(HttpError::NotFound("unknown offer"))?;
    let params = ClickParams::parse(query)?;
    let bot = ctx
        .bot_username
        .as_deref()
        .ok_or(HttpError::BotNotConfigured)?;

    // A HEAD (link checkers, previews) must not create a click: it gets what a
    // GET would, read-only, and the redirect goes to the bot without a token.
    if *rq.method() == tiny_http::Method::Head {
        return match ctx.store.read(|c| offer_click_info(c, offer))? {
            None => Err(HttpError::NotFound("unknown offer")),
            Some(OfferStatus::Active) => Ok(Reply::redirect(format!("https://t.me/{bot}"))),
            Some(other) => Err(HttpError::OfferUnavailable(other)),
        };
    }

    let ip = client_ip(
        rq.remote_addr().map(|a| a.ip()),
        &ctx.trusted_proxies,
        rq.headers()
            .iter()
            .filter(|h| h.field.equiv("X-Forwarded-For"))
            .map(|h| h.value.as_str()),
    )
    .map(|ip| ip.to_string());
    let user_agent = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("User-Agent"))
        .map(|h| truncate(h.value.as_str(), MAX_USER_AGENT).to_string());
    let ClickParams { uid, subs } = params;
    let click = OwnedClick {
        offer,
        uid: uid.into_owned(),
        subs: subs.map(|s| s.map(|v| v.into_owned())),
        ip,
        user_agent,
    };

    let recorded = match ctx.clicks.commit(&ctx.store, click, ctx.clock.now())? {
        Outcome::Recorded(r) => r,
        Outcome::UnknownOffer => return Err(HttpError::NotFound("unknown offer")),
        Outcome::Unavailable(status) => return Err(HttpError::OfferUnavailable(status)),
    };
    ctx.metrics.click_recorded(recorded.created);
    Ok(Reply::redirect(format!(
        "https://t.me/{bot}?start={}",
        recorded.token
    )))
}

/// A validated click, owned so another worker can commit it.
struct OwnedClick {
    offer: OfferId,
    uid: String,
    subs: [Option<String>; 5],
    ip: Option<String>,
    user_agent: Option<String>,
}

/// What committing one click led to.
#[derive(Debug)]
enum Outcome {
    Recorded(RecordedClick),
    UnknownOffer,
    Unavailable(OfferStatus),
}

struct Job {
    click: OwnedClick,
    now: i64,
    /// Set (under the queue lock) when a committer takes the job: from then on
    /// only that committer may finish it.
    taken: AtomicBool,
    result: Mutex<Option<Result<Outcome, HttpError>>>,
    done: Condvar,
}

impl Job {
    fn finish(&self, r: Result<Outcome, HttpError>) {
        *self.result.lock().unwrap_or_else(|p| p.into_inner()) = Some(r);
        self.done.notify_one();
    }

    fn wait(&self) -> Result<Outcome, HttpError> {
        let mut slot = self.result.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if let Some(r) = slot.take() {
                return r;
            }
            slot = self.done.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Group commit of clicks; see the module docs.
#[derive(Default)]
pub struct ClickCommitter {
    queue: Mutex<Vec<Arc<Job>>>,
}

impl ClickCommitter {
    fn commit(&self, store: &Store, click: OwnedClick, now: i64) -> Result<Outcome, HttpError> {
        let job = Arc::new(Job {
            click,
            now,
            taken: AtomicBool::new(false),
            result: Mutex::new(None),
            done: Condvar::new(),
        });
        self.lock_queue().push(job.clone());
        if !job.taken.load(Ordering::Acquire) {
            let mut batch: Vec<Arc<Job>> = Vec::new();
            let committed = store.write(|tx| {
                batch = std::mem::take(&mut *self.lock_queue());
                for j in &batch {
                    j.taken.store(true, Ordering::Release);
                }
                batch
                    .iter()
                    .map(|j| record(tx, j))
                    .collect::<Result<Vec<_>, StoreError>>()
            });
            match committed {
                Ok(outcomes) => {
                    for (j, o) in batch.iter().zip(outcomes) {
                        j.finish(Ok(o));
                    }
                }
                Err(e) => {
                    let e = Arc::new(e);
                    for j in &batch {
                        j.finish(Err(HttpError::Store(e.clone())));
                    }
                    // If the transaction never began, our job may still be queued:
                    // withdraw it and answer with the error ourselves.
                    let mut q = self.lock_queue();
                    if let Some(i) = q.iter().position(|j| Arc::ptr_eq(j, &job)) {
                        q.swap_remove(i);
                        return Err(HttpError::Store(e));
                    }
                }
            }
        }
        job.wait()
    }

    fn lock_queue(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Job>>> {
        // The queue is only pushed to and drained; a panic cannot leave it half-changed.
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// One click inside the batch's transaction.
fn record(tx: &Connection, job: &Job) -> Result<Outcome, StoreError> {
    let c = &job.click;
    Ok(match offer_click_info(tx, c.offer)? {
        None => Outcome::UnknownOffer,
        Some(OfferStatus::Active) => {
            let [s1, s2, s3, s4, s5] = &c.subs;
            let new = NewClick {
                offer: c.offer,
                uid: &c.uid,
                subs: [
                    s1.as_deref(),
                    s2.as_deref(),
                    s3.as_deref(),
                    s4.as_deref(),
                    s5.as_deref(),
                ],
                ip: c.ip.as_deref(),
                user_agent: c.user_agent.as_deref(),
            };
            Outcome::Recorded(record_click(tx, &new, job.now, || click_token_at(job.now))?)
        }
        Some(other) => Outcome::Unavailable(other),
    })
}

/// Offer ids are positive integers in one canonical form: decimal digits, no
/// sign, no leading zero (`01` is not offer 1); anything else is not an offer
/// of ours, so one offer has exactly one click link.
fn parse_offer_id(s: &str) -> Option<OfferId> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0')
    {
        return None;
    }
    s.parse::<i64>().ok().filter(|id| *id > 0).map(OfferId)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids() {
        assert_eq!(parse_offer_id("42"), Some(OfferId(42)));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "99999999999999999999",
            "1/",
            "01",
            "007",
        ] {
            assert_eq!(parse_offer_id(bad), None, "{bad}");
        }
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("аб", 3), "а");
    }
}
