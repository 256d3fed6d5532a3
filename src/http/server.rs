//! [`run`]: the sidecar's one entry point, used by `main` and by the tests.
//!
//! Threads: tiny_http's accept thread and one thread per open connection (they
//! read and parse requests under the [`tiny_http::Limits`]), plus
//! `http.threads` workers here that take parsed requests from tiny_http's
//! queue, handle them and write the answers.
//!
//! Connections are bounded by `http.max_connections` (default derived from
//! the open-file limit, [`default_max_connections`]); each costs one socket
//! and one thread. Near the cap the connection idle longest is closed to make
//! room; at the cap with none idle, and when the OS refuses a thread, a new
//! connection is answered 503 (patched tiny_http, `PATCHES.md` 6).
//!
//! If tiny_http's accept thread ever stops, `run` returns an error (and
//! [`Shutdown::failure`] says why), so `tgtrack run` exits non-zero and systemd
//! restarts it, rather than living on with no listener.
//!
//! Shutdown: [`Shutdown::trigger`] makes `run` queue one stop marker per
//! worker *behind* the requests already received, so those are answered
//! (in-flight requests finish); each worker stops at its marker; then the
//! listener is closed, so new connections are refused, and `run` returns.

use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::batch::{self, Write, Written};
use super::metrics::{Metrics, Route};
use super::router::{dispatch, error_reply, HttpError, Reply};
use super::{click, share};
use crate::config::{HttpConfig, IpNet};
use crate::store::shares::visitor_salt;
use crate::store::Store;

/// What every handler needs; built once, shared by the workers.
pub struct Context {
    pub(crate) store: Store,
    /// The bot links point to; `None` answers clicks with 503 (no `[telegram]`).
    pub(crate) bot_username: Option<String>,
    pub(crate) trusted_proxies: Vec<IpNet>,
    pub(crate) threads: usize,
    pub(crate) read_timeout: Duration,
    pub(crate) max_connections: usize,
    /// Per-install salt of share visitor hashes, from `settings`.
    pub(crate) visitor_salt: [u8; 32],
    pub(crate) metrics: Metrics,
    /// The conversion engine and clock for `POST /postbacks/relay`; None when
    /// the daemon runs without them (the route then answers 501).
    pub(crate) relay: Option<(crate::engine::Engine, crate::clock::Clock)>,
    /// Stamps clicks and share visits: the clock decisions use (set with the relay).
    pub(crate) clock: crate::clock::Clock,
}

impl Context {
    /// Loads (creating on first start) the share visitor salt. `bot_username`
    /// is `config.bot_username()`; it is checked here too because it ends up
    /// in a `Location` header.
    pub fn new(
        store: Store,
        http: &HttpConfig,
        bot_username: Option<String>,
    ) -> anyhow::Result<Context> {
        if let Some(name) = &bot_username {
            let ok = !name.is_empty()
                && name.len() <= 64
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
            anyhow::ensure!(ok, "bot username {name:?} is not a Telegram username");
        }
        let mut candidate = [0u8; 32];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut candidate);
        let visitor_salt = store
            .write(|tx| visitor_salt(tx, &candidate))
            .context("loading the share visitor salt")?;
        Ok(Context {
            store,
            bot_username,
            trusted_proxies: http.trusted_proxies.clone(),
            threads: http.threads.max(1),
            read_timeout: http.read_timeout,
            max_connections: http.max_connections.unwrap_or_else(default_max_connections),
            visitor_salt,
            metrics: Metrics::default(),
            relay: None,
            clock: crate::clock::Clock::new(),
        })
    }

    /// Enables the signed relay route with the engine that decides its events.
    pub fn with_relay(
        mut self,
        engine: crate::engine::Engine,
        clock: crate::clock::Clock,
    ) -> Context {
        // Clicks and shares are stamped with the same clock as the decisions
        // (the demo runs it ahead): one clock, so stats never split a day.
        self.clock = clock.clone();
        self.relay = Some((engine, clock));
        self
    }

    /// The request counters, e.g. for a test or the benchmark to read.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// File descriptors kept out of the connection budget: the SQLite writer and
/// readers (each with its WAL and shm), the bot's and the postback sender's
/// sockets, logs, and the transient socket of a connection being refused.
const RESERVED_FDS: u64 = 128;

/// The default `http.max_connections`: each connection holds one socket (and
/// one thread), so half of what the open-file limit leaves after
/// [`RESERVED_FDS`], between 16 and 1024 (448 under the common 1024 limit).
/// The other half is headroom: EMFILE never comes before the cap does.
pub fn default_max_connections() -> usize {
    max_connections_for(open_file_limit())
}

/// The soft open-file limit (`RLIMIT_NOFILE`); `u64::MAX` when unlimited.
pub fn open_file_limit() -> u64 {
    rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX)
}

fn max_connections_for(nofile: u64) -> usize {
    (nofile.saturating_sub(RESERVED_FDS) / 2).clamp(16, 1024) as usize
}

#[derive(Default)]
struct StopState {
    stop: bool,
    failure: Option<String>,
}

/// A stop request for [`run`]; clone it into a signal-handling thread.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<(Mutex<StopState>, Condvar)>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, StopState> {
        // A poisoned flag is still a flag.
        self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks `run` to finish the requests it has and return. Idempotent.
    pub fn trigger(&self) {
        self.state().stop = true;
        self.inner.1.notify_all();
    }

    /// Stops because the server cannot go on (its listener died); `run`
    /// returns this as an error.
    fn fail(&self, why: String) {
        let mut st = self.state();
        st.failure.get_or_insert(why);
        st.stop = true;
        drop(st);
        self.inner.1.notify_all();
    }

    pub fn is_triggered(&self) -> bool {
        self.state().stop
    }

    /// Why the server stopped on its own, if it did.
    pub fn failure(&self) -> Option<String> {
        self.state().failure.clone()
    }

    /// Blocks until a stop is triggered (by anyone) or the server fails.
    pub fn wait(&self) {
        let mut st = self.state();
        while !st.stop {
            st = self.inner.1.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// Serves HTTP on `listener` until `shutdown` is triggered, then answers what
/// was already received and returns once every worker has stopped.
pub fn run(listener: TcpListener, ctx: Context, shutdown: Shutdown) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("reading the listen address")?;
    let limits = tiny_http::Limits {
        max_request_line: super::limits::MAX_REQUEST_LINE,
        max_header_bytes: super::limits::MAX_HEADER_BYTES,
        max_headers: super::limits::MAX_HEADERS,
        max_body: super::limits::MAX_BODY,
        read_timeout: Some(ctx.read_timeout),
        write_timeout: Some(ctx.read_timeout),
        max_connections: ctx.max_connections,
    };
    let nofile = open_file_limit();
    if (ctx.max_connections as u64).saturating_add(RESERVED_FDS) > nofile {
        log::warn!(
            "http: max_connections = {} but the open-file limit is {nofile}: connections will be shed on EMFILE before the cap (raise LimitNOFILE= or lower http.max_connections)",
            ctx.max_connections
        );
    }
    let server = Arc::new(
        tiny_http::Server::from_listener_with_limits(listener, None, limits)
            .map_err(|e| anyhow::anyhow!("starting the HTTP server on {addr}: {e}"))?,
    );
    ctx.metrics.attach_server(server.stats());
    let ctx = Arc::new(ctx);
    log::info!(
        "http: listening on {addr} with {} workers, at most {} connections (open-file limit {nofile})",
        ctx.threads,
        ctx.max_connections
    );

    // One intake thread takes every request off tiny_http's queue: it commits
    // and answers clicks and share visits itself, in batches (`batch.rs`, the
    // single-writer design of the benchmark's limit), and hands anything else
    // to `threads` helpers.
    let (to_helpers, helper_rx) = mpsc::channel::<(tiny_http::Request, Instant)>();
    let helper_rx = Arc::new(Mutex::new(helper_rx));
    let mut workers = Vec::with_capacity(ctx.threads + 1);
    for i in 0..ctx.threads {
        let (rx, ctx) = (helper_rx.clone(), ctx.clone());
        let spawned = thread::Builder::new()
            .name(format!("http-{}", i + 1))
            .spawn(move || helper(&rx, &ctx))
            .context("spawning an HTTP worker");
        match spawned {
            Ok(w) => workers.push(w),
            Err(e) => {
                // Stop whatever started before failing: helpers end when the channel closes.
                drop(to_helpers);
                for w in workers {
                    let _ = w.join();
                }
                return Err(e);
            }
        }
    }
    let intake = {
        let (server, ctx, shutdown) = (server.clone(), ctx.clone(), shutdown.clone());
        thread::Builder::new()
            .name("http-0".into())
            .spawn(move || intake(&server, &ctx, &shutdown, to_helpers))
            .context("spawning the HTTP intake thread")
    };
    match intake {
        Ok(w) => workers.push(w),
        Err(e) => {
            for w in workers {
                let _ = w.join();
            }
            return Err(e);
        }
    }

    shutdown.wait();
    if let Some(why) = shutdown.failure() {
        log::error!("http: {why}; stopping so the service manager restarts the daemon");
    } else {
        log::info!("http: shutting down; answering requests already received");
    }
    // The intake ends at its marker, behind the requests already queued;
    // dropping its sender then ends the helpers once they have answered theirs.
    server.unblock();
    for w in workers {
        // A panic was already caught per request.
        let _ = w.join();
    }
    // Dropping the last handle closes the listener: new connections are refused.
    drop(server);
    if let Some(why) = shutdown.failure() {
        anyhow::bail!("http: {why}");
    }
    log::info!("http: stopped");
    Ok(())
}

/// At most this many requests are taken off the queue at once; their clicks
/// and visits share one commit (see [`handle_batch`]).
const MAX_BATCH: usize = 256;

fn intake(
    server: &tiny_http::Server,
    ctx: &Context,
    shutdown: &Shutdown,
    helpers: mpsc::Sender<(tiny_http::Request, Instant)>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        match server.recv() {
            Ok(rq) => batch.push(rq),
            // Our stop marker.
            Err(_) if shutdown.is_triggered() => return,
            // The patched tiny_http reports one error only: its accept thread stopped.
            Err(e) => {
                shutdown.fail(format!("the listener stopped ({e})"));
                return;
            }
        }
        // Whatever else is already queued joins this batch: the clicks that
        // arrived during the previous commit share the next one. `try_recv`
        // leaves a stop marker in place (PATCHES.md 7), so the next `recv`
        // above sees it.
        let mut failed = None;
        while batch.len() < MAX_BATCH {
            match server.try_recv() {
                Ok(Some(rq)) => batch.push(rq),
                Ok(None) => break,
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        handle_batch(ctx, &mut batch, &helpers);
        if let Some(e) = failed {
            shutdown.fail(format!("the listener stopped ({e})"));
            return;
        }
    }
}

/// A helper: answers the requests that are not click or share GETs, one at a time.
fn helper(rx: &Mutex<mpsc::Receiver<(tiny_http::Request, Instant)>>, ctx: &Context) {
    loop {
        // The receiver is only read; a poisoned lock is still a receiver.
        let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
        match next {
            Ok((rq, started)) => handle(ctx, rq, started),
            // The intake has stopped and everything handed over is answered.
            Err(_) => return,
        }
    }
}

/// A request waiting for the batch's commit: its route, and when it was taken.
type Pending = (tiny_http::Request, Route, Instant);

/// Answers `batch` (emptying it). Click and share GETs are validated and their
/// writes set aside; those are committed together, then answered, when the
/// batch ends. Other requests go to the helpers. An error of a click or visit
/// is answered in order: the writes set aside are committed and answered
/// first, because tiny_http writes the answers of one connection in order and
/// would make this thread wait on itself.
fn handle_batch(
    ctx: &Context,
    batch: &mut Vec<tiny_http::Request>,
    helpers: &mpsc::Sender<(tiny_http::Request, Instant)>,
) {
    let mut pending: Vec<Pending> = Vec::new();
    let mut writes = Vec::new();
    for rq in batch.drain(..) {
        let started = Instant::now();
        if let Some((route, prepared)) = prepare_write(ctx, &rq) {
            match prepared {
                Ok(Ok(Some(write))) => {
                    writes.push(write);
                    pending.push((rq, route, started));
                    continue;
                }
                Ok(Ok(None)) => {} // read-only after all (a preview fetcher): the router answers it
                Ok(Err(e)) => {
                    commit_writes(ctx, &mut pending, &mut writes);
                    respond(ctx, rq, route, error_reply(e), started);
                    continue;
                }
                Err(_) => {
                    commit_writes(ctx, &mut pending, &mut writes);
                    let reply = panicked(&rq);
                    respond(ctx, rq, route, reply, started);
                    continue;
                }
            }
        }
        // tiny_http writes one (pipelining) connection's answers in order, so
        // a helper may wait for a click's answer from this thread, or this
        // thread for a helper's earlier answer; never both ways at once.
        if let Err(mpsc::SendError((rq, started))) = helpers.send((rq, started)) {
            handle(ctx, rq, started);
        }
    }
    commit_writes(ctx, &mut pending, &mut writes);
}

/// A request's validated write, `None` if it makes none; `Err` if validating panicked.
type Prepared = std::thread::Result<Result<Option<Write>, HttpError>>;

/// The write a `GET /click/{offer}?...` or `GET /s/{token}` asks for
/// (validated, with a caught panic as `Err`); `None` for every other request,
/// HEAD included, which the router answers one by one.
fn prepare_write(ctx: &Context, rq: &tiny_http::Request) -> Option<(Route, Prepared)> {
    if *rq.method() != tiny_http::Method::Get {
        return None;
    }
    let (path, query) = rq.url().split_once('?').unwrap_or((rq.url(), ""));
    if let Some(offer) = path.strip_prefix("/click/") {
        let prepared = catch_unwind(AssertUnwindSafe(|| {
            click::prepare(ctx, rq, offer, query).map(|c| c.map(Write::Click))
        }));
        Some((Route::Click, prepared))
    } else if let Some(token) = path.strip_prefix("/s/") {
        let prepared = catch_unwind(AssertUnwindSafe(|| {
            share::prepare(ctx, rq, token).map(|v| v.map(Write::Visit))
        }));
        Some((Route::Share, prepared))
    } else {
        None
    }
}

/// Commits the writes set aside in one transaction, then answers their requests.
fn commit_writes(ctx: &Context, pending: &mut Vec<Pending>, writes: &mut Vec<Write>) {
    if pending.is_empty() {
        return;
    }
    let n = pending.len();
    let committed = catch_unwind(AssertUnwindSafe(|| {
        batch::commit(&ctx.store, writes, ctx.clock.now())
    }));
    writes.clear();
    let mut outcomes: Vec<Result<Written, HttpError>> = match committed {
        Ok(Ok(written)) => written.into_iter().map(Ok).collect(),
        Ok(Err(e)) => {
            let e = Arc::new(e);
            (0..n).map(|_| Err(HttpError::Store(e.clone()))).collect()
        }
        Err(_) => {
            log::error!("http: the batch commit panicked ({n} writes)");
            (0..n).map(|_| Err(panicked_error())).collect()
        }
    };
    for ((rq, route, started), outcome) in pending.drain(..).zip(outcomes.drain(..)) {
        let reply = match outcome {
            Ok(Written::Click(o)) => click::answer(ctx, o),
            Ok(Written::Visit(v)) => share::answer(ctx, v),
            Err(e) => Err(e),
        };
        respond(ctx, rq, route, reply.unwrap_or_else(error_reply), started);
    }
}

fn handle(ctx: &Context, mut rq: tiny_http::Request, started: Instant) {
    // A handler bug must cost one answer (500), not a worker thread.
    let outcome = catch_unwind(AssertUnwindSafe(|| dispatch(ctx, &mut rq)));
    let (route, reply) = match outcome {
        Ok(answer) => answer,
        Err(_) => (Route::Other, panicked(&rq)),
    };
    // Counted before writing, so a client that reads its answer and then asks
    // /metrics sees it; the latency is recorded once the answer is written.
    ctx.metrics.count(route, reply.status);
    if let Err(e) = rq.respond(reply.into_response()) {
        log::debug!("http: could not write the answer: {e}");
    }
    ctx.metrics.observe_latency(started.elapsed());
}

fn respond(ctx: &Context, rq: tiny_http::Request, route: Route, reply: Reply, started: Instant) {
    ctx.metrics.count(route, reply.status);
    if let Err(e) = rq.respond(reply.into_response()) {
        log::debug!("http: could not write the answer: {e}");
    }
    ctx.metrics.observe_latency(started.elapsed());
}

fn panicked(rq: &tiny_http::Request) -> Reply {
    log::error!("http: handler panicked on {} {}", rq.method(), rq.url());
    panicked_reply()
}

fn panicked_reply() -> Reply {
    error_reply(panicked_error())
}

fn panicked_error() -> HttpError {
    HttpError::from(crate::store::StoreError::Corrupt("handler panicked".into()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn max_connections_follow_the_open_file_limit() {
        assert_eq!(super::max_connections_for(1024), 448);
        assert_eq!(super::max_connections_for(100), 16);
        assert_eq!(super::max_connections_for(65_536), 1024);
        assert_eq!(super::max_connections_for(u64::MAX), 1024);
    }
}
