//! The outbox worker: drains `postbacks` on its own thread.
//!
//! Like mini-redis's purge task, it waits until the next row is due or until
//! it is woken ([`Waker::wake`], called by whoever just enqueued), with an
//! idle poll as a floor so rows queued by another process (`tgtrack postback
//! retry` from the shell) are picked up too.
//!
//! Shape: this thread dispatches due rows to a few sender threads sharing one
//! keep-alive pool, and records their answers in batches: one write
//! transaction per batch of answers, not per postback. Which rows are in
//! flight is kept in memory only: nothing is written before the receiver
//! answered, so a crash leaves every unanswered row `pending`, and a restart
//! sends it again under the same txid.
//!
//! Shutdown ([`Stopper::stop`]) stops dispatching, lets each sender finish the
//! attempt it is in (bounded by `postback.timeout`), records those answers and
//! returns. Queued but unsent rows simply stay pending.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use super::policy::RetryPolicy;
use super::preset::Preset;
use super::sender::{Answer, Request, Sender};
use crate::config::PostbackConfig;
use crate::store::postbacks::{self as outbox, Attempt, DueRow, PostbackState};
use crate::store::{PostbackId, Store};

/// How many rows a deep scan of the outbox reads (see the dispatch loop).
const DEEP_SCAN: usize = 2048;

/// Tuning knobs; the defaults are what `tgtrack run` uses.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sender threads. Throughput is about senders / receiver latency (8 senders
    /// against a 5 ms receiver: ~1,500/s; see BENCHMARKS.md), and one slow
    /// receiver must not hold up the others. An idle thread costs a stack.
    pub senders: usize,
    /// Most rows dispatched and not yet recorded (sent or queued for a sender).
    /// Twice the senders keeps them busy; more only makes each outbox scan longer.
    pub in_flight: usize,
    /// Most rows in flight to one host, so a receiver that hangs until the
    /// timeout occupies at most this many senders and other networks' postbacks
    /// keep flowing.
    pub per_host: usize,
    /// Longest sleep when nothing is due: the delay before rows queued by
    /// another process are noticed.
    pub idle_poll: Duration,
    /// The daemon's clock: due times are written in it (the demo runs it ahead).
    pub clock: crate::clock::Clock,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            senders: 16,
            in_flight: 32,
            per_host: 8,
            idle_poll: Duration::from_secs(1),
            clock: crate::clock::Clock::new(),
        }
    }
}

struct Finished {
    row: DueRow,
    answer: Answer,
    /// Unix ms when the answer came.
    at_ms: i64,
}

#[derive(Default)]
struct Signals {
    woken: bool,
    stop: bool,
    finished: Vec<Finished>,
}

/// One mutex and condvar carry every reason to wake the dispatcher (a new row,
/// a finished attempt, shutdown), so it waits on one thing with a deadline.
#[derive(Default)]
struct Shared {
    signals: Mutex<Signals>,
    cv: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Signals> {
        // The critical sections only push and swap vectors; a panic elsewhere cannot leave them torn.
        self.signals.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Wakes the worker after a postback was enqueued. Cheap to clone and call;
/// calling it when nothing changed costs one extra look at the table.
#[derive(Clone)]
pub struct Waker {
    shared: Arc<Shared>,
}

impl Waker {
    pub fn wake(&self) {
        self.shared.lock().woken = true;
        self.shared.cv.notify_all();
    }
}

/// Asks the worker to stop between attempts.
#[derive(Clone)]
pub struct Stopper {
    shared: Arc<Shared>,
}

impl Stopper {
    pub fn stop(&self) {
        self.shared.lock().stop = true;
        self.shared.cv.notify_all();
    }
}

/// The worker's end, passed to [`run`].
pub struct Inbox {
    shared: Arc<Shared>,
}

impl Inbox {
    pub fn stopper(&self) -> Stopper {
        Stopper {
            shared: self.shared.clone(),
        }
    }
    pub fn waker(&self) -> Waker {
        Waker {
            shared: self.shared.clone(),
        }
    }
}

/// A new worker's handles: give the [`Waker`] to whoever enqueues, keep a
/// [`Stopper`] (from [`Inbox::stopper`]) for shutdown, pass the [`Inbox`] to [`run`].
pub fn channel() -> (Waker, Inbox) {
    let shared = Arc::new(Shared::default());
    (
        Waker {
            shared: shared.clone(),
        },
        Inbox { shared },
    )
}

/// Runs the worker until stopped, with the default [`Options`].
pub fn run(store: Store, config: PostbackConfig, inbox: Inbox) {
    run_with(store, config, Options::default(), inbox)
}

/// Runs the worker until stopped.
pub fn run_with(store: Store, config: PostbackConfig, options: Options, inbox: Inbox) {
    let shared = inbox.shared;
    let policy = RetryPolicy::from(&config);
    let senders = options.senders.max(1);
    let capacity = options.in_flight.max(senders);
    let sender = Sender::new(&config, senders);

    let (jobs, job_rx) = mpsc::channel::<DueRow>();
    // Senders take turns on one receiver; the lock is held only while waiting for the next job.
    let job_rx = Arc::new(Mutex::new(job_rx));
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let (job_rx, shared, sender) = (job_rx.clone(), shared.clone(), sender.clone());
            let clock = options.clock.clone();
            thread::Builder::new()
                .name(format!("postback-send-{i}"))
                .spawn(move || send_loop(&job_rx, &shared, &sender, &clock))
                .expect("spawning a postback sender thread")
        })
        .collect();

    let per_host_cap = options.per_host.max(1);
    // Row -> host of what is in flight, and how many per host.
    let mut in_flight: HashMap<PostbackId, String> = HashMap::new();
    let mut per_host: HashMap<String, usize> = HashMap::new();
    let mut held_back = false;
    let mut last_deep = Instant::now();
    log::info!("postback worker started ({senders} senders)");
    loop {
        let (finished, stop) = {
            let mut s = shared.lock();
            (std::mem::take(&mut s.finished), s.stop)
        };
        if !finished.is_empty() {
            let ids: Vec<_> = finished.iter().map(|f| f.row.id).collect();
            if let Err(e) = record(&store, &policy, finished) {
                // The answers are lost but the rows are still pending: they will
                // be sent again (same txid). Pause so a broken disk is not a resend storm.
                log::error!("postback worker: recording attempts failed: {e:#}");
                thread::sleep(Duration::from_secs(1));
            }
            for id in ids {
                if let Some(host) = in_flight.remove(&id) {
                    if let Some(n) = per_host.get_mut(&host) {
                        *n -= 1;
                        if *n == 0 {
                            per_host.remove(&host);
                        }
                    }
                }
            }
        }
        if stop {
            break;
        }

        let now = options.clock.now_ms();
        let mut next_due = None;
        let room = capacity.saturating_sub(in_flight.len());
        if room > 0 {
            // Normally look a little past what fits; when the head of the
            // queue is all held back by the per-host cap (one receiver hanging
            // with a backlog), look deeper, at most twice a second, so other
            // networks' rows are found without rescanning thousands every time.
            let deep = held_back && last_deep.elapsed() >= Duration::from_millis(500);
            let scan = in_flight.len() + if deep { DEEP_SCAN } else { room * 2 };
            if deep {
                last_deep = Instant::now();
            }
            held_back = false;
            match store.read(|c| outbox::earliest_pending(c, scan)) {
                Ok(rows) => {
                    let mut sent = 0;
                    for row in rows {
                        if in_flight.contains_key(&row.id) {
                            continue;
                        }
                        if row.due_at_ms > now {
                            next_due = Some(row.due_at_ms);
                            break;
                        }
                        if sent == room {
                            break;
                        }
                        let host = host_of(&row.url).to_ascii_lowercase();
                        let n = per_host.entry(host.clone()).or_insert(0);
                        if *n >= per_host_cap {
                            // Its turn comes when one of that host's answers is recorded.
                            held_back = true;
                            continue;
                        }
                        *n += 1;
                        in_flight.insert(row.id, host);
                        sent += 1;
                        // The senders outlive this loop, so the channel is open.
                        let _ = jobs.send(row);
                    }
                }
                Err(e) => log::error!("postback worker: reading the outbox failed: {e}"),
            }
        }

        let wait = match next_due {
            Some(t) => Duration::from_millis((t - now).max(0) as u64).min(options.idle_poll),
            None => options.idle_poll,
        };
        let mut s = shared.lock();
        if !s.woken && !s.stop && s.finished.is_empty() && !wait.is_zero() {
            s = shared
                .cv
                .wait_timeout_while(s, wait, |s| !s.woken && !s.stop && s.finished.is_empty())
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        s.woken = false;
    }

    // Stop: no new jobs; each sender finishes its current attempt and exits.
    drop(jobs);
    for h in handles {
        let _ = h.join();
    }
    let finished = std::mem::take(&mut shared.lock().finished);
    if let Err(e) = record(&store, &policy, finished) {
        log::error!("postback worker: recording the last attempts failed: {e:#}");
    }
    log::info!("postback worker stopped");
}

/// The authority of a URL (`host:port`), the unit of the per-host cap.
fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
}

fn send_loop(
    job_rx: &Mutex<mpsc::Receiver<DueRow>>,
    shared: &Shared,
    sender: &Sender,
    clock: &crate::clock::Clock,
) {
    loop {
        let job = job_rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        let Ok(row) = job else { return };
        if shared.lock().stop {
            // Leave it pending: the next start sends it.
            continue;
        }
        let preset = row.preset.parse().unwrap_or_else(|e| {
            log::warn!("postback {}: {e}; sending with the generic preset", row.id);
            Preset::Generic
        });
        let answer = sender.send(Request {
            method: row.method,
            url: &row.url,
            body: row.body.as_deref(),
            preset,
        });
        shared.lock().finished.push(Finished {
            row,
            answer,
            at_ms: clock.now_ms(),
        });
        shared.cv.notify_all();
    }
}

/// Logs a batch of attempts and moves their rows, in one transaction.
fn record(store: &Store, policy: &RetryPolicy, finished: Vec<Finished>) -> anyhow::Result<()> {
    if finished.is_empty() {
        return Ok(());
    }
    store.write(|tx| {
        for f in &finished {
            let t = policy.decide(
                &f.answer.outcome,
                f.row.attempts + 1,
                f.at_ms,
                rand::random::<f64>(),
            );
            let at = f.at_ms / 1000;
            outbox::record_attempt(tx, &attempt_of(f.row.id, at, &f.answer), &t, at)?;
            log_transition(
                &f.row,
                &f.answer,
                t.state,
                t.attempts,
                t.due_at_ms - f.at_ms,
            );
        }
        Ok::<_, crate::store::StoreError>(())
    })?;
    Ok(())
}

pub(crate) fn attempt_of(id: PostbackId, at: i64, a: &Answer) -> Attempt {
    Attempt {
        postback_id: id,
        at,
        http_status: a.http_status,
        latency_ms: a.latency_ms,
        error: a
            .error
            .clone()
            .or_else(|| a.outcome.reason().map(str::to_string)),
        body_head: a.body_head.clone(),
    }
}

fn log_transition(row: &DueRow, a: &Answer, state: PostbackState, attempts: u32, wait_ms: i64) {
    let why = a.outcome.reason().unwrap_or("");
    match state {
        PostbackState::Delivered => {
            log::debug!("postback {} delivered ({} ms)", row.id, a.latency_ms)
        }
        PostbackState::Pending => {
            log::info!(
                "postback {} attempt {attempts} failed ({why}); retrying in {} s",
                row.id,
                wait_ms / 1000
            )
        }
        PostbackState::Failed => log::warn!("postback {} failed: {why}", row.id),
        PostbackState::Dead => {
            log::warn!("postback {} dead after {attempts} attempts: {why}", row.id)
        }
    }
}
