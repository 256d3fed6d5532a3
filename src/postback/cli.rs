//! What `tgtrack postback list | show | retry | test` do. The clap wiring lives
//! in main.rs; these return data whose `Display` is what the shell prints.

use std::fmt;

use anyhow::{bail, Context as _};

use super::sender::{Answer, Request, Sender};
use super::{render, ConversionFacts};
use crate::config::PostbackConfig;
use crate::domain::offer::{ConversionStatus, PostbackMethod};
use crate::store::postbacks::{
    self as outbox, Attempt, NewPostback, PostbackRow, PostbackState, RetryResult, Transition,
};
use crate::store::{offers, unix_now, ConversionId, OfferId, PostbackId, Store};

/// `postback list [--state S]`: newest first.
pub fn list(store: &Store, state: Option<PostbackState>, limit: usize) -> anyhow::Result<Listing> {
    let rows = store
        .read(|c| outbox::list(c, state, limit))
        .context("listing postbacks")?;
    Ok(Listing(rows))
}

pub struct Listing(pub Vec<PostbackRow>);

impl fmt::Display for Listing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return writeln!(f, "no postbacks");
        }
        writeln!(
            f,
            "{:>6}  {:>6}  {:>10}  {:<9}  {:<9}  {:>4}  {:<24}  LAST ERROR / URL",
            "ID", "OFFER", "CONVERSION", "STATUS", "STATE", "TRY", "TXID"
        )?;
        for r in &self.0 {
            let conv = match (r.is_test, r.conversion_id) {
                (true, _) => "test".to_string(),
                (false, Some(c)) => c.to_string(),
                (false, None) => "-".to_string(),
            };
            let tail = match (&r.last_error, r.state) {
                (Some(e), s) if s != PostbackState::Delivered => e.clone(),
                _ => r.url.clone(),
            };
            writeln!(
                f,
                "{:>6}  {:>6}  {:>10}  {:<9}  {:<9}  {:>4}  {:<24}  {}",
                r.id,
                r.offer_id,
                conv,
                r.status,
                r.state.as_str(),
                r.attempts,
                r.txid,
                tail
            )?;
        }
        Ok(())
    }
}

/// `postback show ID`: the row and every attempt.
pub fn show(store: &Store, id: PostbackId) -> anyhow::Result<Shown> {
    let (row, attempts) = store
        .read(|c| {
            Ok::<_, crate::store::StoreError>((outbox::get(c, id)?, outbox::attempts_of(c, id)?))
        })
        .context("reading the postback")?;
    let Some(row) = row else {
        bail!("postback {id} not found")
    };
    Ok(Shown { row, attempts })
}

pub struct Shown {
    pub row: PostbackRow,
    pub attempts: Vec<Attempt>,
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.row;
        writeln!(
            f,
            "postback {}{}: offer {}, status {}, state {}",
            r.id,
            if r.is_test { " (TEST)" } else { "" },
            r.offer_id,
            r.status,
            r.state
        )?;
        writeln!(f, "txid {}", r.txid)?;
        writeln!(f, "{} {}", method_word(r.method), r.url)?;
        if let Some(b) = &r.body {
            writeln!(f, "body {b}")?;
        }
        if let Some(e) = &r.last_error {
            writeln!(f, "last error: {e}")?;
        }
        for a in &self.attempts {
            let status = a.http_status.map_or("-".to_string(), |s| s.to_string());
            write!(
                f,
                "  attempt at {}: HTTP {status}, {} ms",
                a.at, a.latency_ms
            )?;
            if let Some(e) = &a.error {
                write!(f, ", {e}")?;
            }
            if let Some(b) = a.body_head.as_deref().filter(|b| !b.is_empty()) {
                write!(f, ", body {b:?}")?;
            }
            writeln!(f)?;
        }
        Ok(())
    }
}

fn method_word(m: PostbackMethod) -> &'static str {
    match m {
        PostbackMethod::Get => "GET",
        PostbackMethod::PostForm => "POST (form)",
        PostbackMethod::PostJson => "POST (json)",
    }
}

/// `postback retry ID`: requeues a failed or dead postback with a fresh
/// attempt budget. A running daemon picks it up within a second.
pub fn retry(store: &Store, id: PostbackId) -> anyhow::Result<String> {
    let now = unix_now();
    match store
        .write(|tx| outbox::retry(tx, id, now))
        .context("requeueing the postback")?
    {
        RetryResult::Requeued => Ok(format!("postback {id} requeued")),
        RetryResult::AlreadyPending => Ok(format!("postback {id} is already pending")),
        RetryResult::AlreadyDelivered => bail!("postback {id} was delivered; it is not sent again"),
        RetryResult::NotFound => bail!("postback {id} not found"),
    }
}

/// `postback retry --all-dead`: returns how many were requeued.
pub fn retry_all_dead(store: &Store) -> anyhow::Result<usize> {
    let now = unix_now();
    store
        .write(|tx| outbox::retry_dead(tx, now))
        .context("requeueing dead postbacks")
}

/// What `postback test` did.
#[derive(Debug, Clone)]
pub struct TestReport {
    pub postback_id: PostbackId,
    pub offer_id: OfferId,
    pub preset: String,
    pub status: ConversionStatus,
    pub status_word: String,
    pub method: PostbackMethod,
    pub url: String,
    pub body: Option<String>,
    pub answer: Answer,
    pub delivered: bool,
}

impl fmt::Display for TestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "TEST postback for offer {} (preset {}, status {} sent as {:?})",
            self.offer_id, self.preset, self.status, self.status_word
        )?;
        writeln!(f, "{} {}", method_word(self.method), self.url)?;
        if let Some(b) = &self.body {
            writeln!(f, "body: {b}")?;
        }
        let a = &self.answer;
        match a.http_status {
            Some(s) => writeln!(f, "HTTP {s} in {} ms", a.latency_ms)?,
            None => writeln!(f, "no HTTP answer after {} ms", a.latency_ms)?,
        }
        if let Some(b) = &a.body_head {
            writeln!(f, "response body (first bytes): {b:?}")?;
        }
        match a.outcome.reason() {
            None => writeln!(f, "result: delivered")?,
            Some(r) => writeln!(f, "result: NOT delivered: {r}")?,
        }
        write!(
            f,
            "logged as postback {} (a test: never retried)",
            self.postback_id
        )
    }
}

/// `postback test --offer ID [--status S]`: sends one clearly marked test
/// postback now (txid `test-...`, click id `TEST-...`, is_test = 1), and logs
/// it with its attempt. The row is written already settled (delivered or
/// failed) so a running daemon's worker never sends it a second time.
pub fn test(
    store: &Store,
    config: &PostbackConfig,
    offer_id: OfferId,
    status: Option<ConversionStatus>,
) -> anyhow::Result<TestReport> {
    let status = status.unwrap_or(ConversionStatus::Approved);
    let offer = store
        .read(|c| offers::get_offer(c, offer_id))
        .context("reading the offer")?
        .with_context(|| format!("offer {offer_id} not found"))?;
    if offer.postback.url.is_none() {
        bail!("offer {offer_id} has no postback URL; set one with `tgtrack offer set-postback`");
    }
    let now = unix_now();
    let tag: u32 = rand::random();
    let txid = format!("test-{:016x}", rand::random::<u64>());
    let facts = ConversionFacts {
        conversion_id: ConversionId(0),
        lead_id: None,
        click_uid: format!("TEST-{tag:08x}"),
        subs: Default::default(),
        tg_user_id: 0,
        is_premium: false,
        payout: offer.payout.clone(),
        currency: offer.currency.clone(),
        event_time: now,
        hold_until: (status == ConversionStatus::Hold).then_some(now + offer.hold_seconds),
    };
    let (rendered, preset) = render(&offer, &facts, status, &txid, String::new())
        .map_err(|e| anyhow::anyhow!("offer {offer_id}: {e}"))?;

    let sender = Sender::new(config, 1);
    let answer = sender.send(Request {
        method: offer.postback.method,
        url: &rendered.url,
        body: rendered.body.as_deref(),
        preset,
    });
    let delivered = answer.outcome.reason().is_none();
    let at = unix_now();
    let state = if delivered {
        PostbackState::Delivered
    } else {
        PostbackState::Failed
    };
    let postback_id = store
        .write(|tx| {
            let (id, _) = outbox::enqueue(
                tx,
                &NewPostback {
                    conversion_id: None,
                    offer_id,
                    status: status.as_str(),
                    txid: &txid,
                    method: offer.postback.method,
                    url: &rendered.url,
                    body: rendered.body.as_deref(),
                    preset: &offer.postback.preset,
                    state,
                    last_error: answer.outcome.reason(),
                    is_test: true,
                    due_at_ms: at * 1000,
                },
                now,
            )?;
            let t = Transition {
                state,
                attempts: 1,
                due_at_ms: at * 1000,
                last_error: answer.outcome.reason().map(str::to_string),
            };
            outbox::record_attempt(tx, &super::worker::attempt_of(id, at, &answer), &t, at)?;
            Ok::<_, crate::store::StoreError>(id)
        })
        .context("logging the test postback")?;
    Ok(TestReport {
        postback_id,
        offer_id,
        preset: preset.as_str().to_string(),
        status,
        status_word: preset.status_word(status).to_string(),
        method: offer.postback.method,
        url: rendered.url,
        body: rendered.body,
        answer,
        delivered,
    })
}
