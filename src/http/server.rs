//! [`run`]: the sidecar's one entry point, used by `main` and by the tests.
//!
//! Threads: tiny_http's accept thread and one thread per open connection (they
//! read and parse requests under the [`tiny_http::Limits`]), plus
//! `http.threads` workers here that take parsed requests from tiny_http's
//! queue, handle them and write the answers.
//!
//! Shutdown: [`Shutdown::trigger`] makes `run` queue one stop marker per
//! worker *behind* the requests already received, so those are answered
//! (in-flight requests finish); each worker stops at its marker; then the
//! listener is closed, so new connections are refused, and `run` returns.

use std::net::TcpListener;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use super::metrics::Metrics;
use super::router::{dispatch, error_reply, HttpError};
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
    /// Per-install salt of share visitor hashes, from `settings`.
    pub(crate) visitor_salt: [u8; 32],
    pub(crate) metrics: Metrics,
    /// Group commit of clicks (see `click.rs`).
    pub(crate) clicks: super::click::ClickCommitter,
    /// The conversion engine and clock for `POST /postbacks/relay`; None when
    /// the daemon runs without them (the route then answers 501).
    pub(crate) relay: Option<(crate::engine::Engine, crate::clock::Clock)>,
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
            visitor_salt,
            metrics: Metrics::default(),
            clicks: Default::default(),
            relay: None,
        })
    }

    /// Enables the signed relay route with the engine that decides its events.
    pub fn with_relay(
        mut self,
        engine: crate::engine::Engine,
        clock: crate::clock::Clock,
    ) -> Context {
        self.relay = Some((engine, clock));
        self
    }

    /// The request counters, e.g. for a test or the benchmark to read.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// A stop request for [`run`]; clone it into a signal-handling thread.
#[derive(Clone, Default)]
pub struct Shutdown {
    inner: Arc<(Mutex<bool>, Condvar)>,
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Asks `run` to finish the requests it has and return. Idempotent.
    pub fn trigger(&self) {
        let (flag, cv) = &*self.inner;
        // A poisoned flag is still a flag.
        *flag.lock().unwrap_or_else(|p| p.into_inner()) = true;
        cv.notify_all();
    }

    pub fn is_triggered(&self) -> bool {
        *self.inner.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn wait(&self) {
        let (flag, cv) = &*self.inner;
        let mut stop = flag.lock().unwrap_or_else(|p| p.into_inner());
        while !*stop {
            stop = cv.wait(stop).unwrap_or_else(|p| p.into_inner());
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
    };
    let server = Arc::new(
        tiny_http::Server::from_listener_with_limits(listener, None, limits)
            .map_err(|e| anyhow::anyhow!("starting the HTTP server on {addr}: {e}"))?,
    );
    let ctx = Arc::new(ctx);
    log::info!("http: listening on {addr} with {} workers", ctx.threads);

    let workers = (0..ctx.threads)
        .map(|i| {
            let (server, ctx, shutdown) = (server.clone(), ctx.clone(), shutdown.clone());
            thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || worker(&server, &ctx, &shutdown))
                .context("spawning an HTTP worker")
        })
        .collect::<anyhow::Result<Vec<_>>>();
    let workers = match workers {
        Ok(w) => w,
        Err(e) => {
            // Stop whatever started before failing.
            shutdown.trigger();
            for _ in 0..ctx.threads {
                server.unblock();
            }
            return Err(e);
        }
    };

    shutdown.wait();
    log::info!("http: shutting down; answering requests already received");
    for _ in 0..workers.len() {
        server.unblock();
    }
    for w in workers {
        // A worker only ends by its marker; a panic was already caught per request.
        let _ = w.join();
    }
    // Dropping the last handle closes the listener: new connections are refused.
    drop(server);
    log::info!("http: stopped");
    Ok(())
}

fn worker(server: &tiny_http::Server, ctx: &Context, shutdown: &Shutdown) {
    loop {
        match server.recv() {
            Ok(rq) => handle(ctx, rq),
            // The patched tiny_http reports no accept errors here, so an error is our stop marker.
            Err(_) if shutdown.is_triggered() => return,
            Err(e) => log::warn!("http: receive failed: {e}"),
        }
    }
}

fn handle(ctx: &Context, mut rq: tiny_http::Request) {
    let started = Instant::now();
    // A handler bug must cost one answer (500), not a worker thread.
    let outcome = catch_unwind(AssertUnwindSafe(|| dispatch(ctx, &mut rq)));
    let (route, reply) = match outcome {
        Ok(answer) => answer,
        Err(_) => {
            log::error!("http: handler panicked on {} {}", rq.method(), rq.url());
            let e = HttpError::from(crate::store::StoreError::Corrupt("handler panicked".into()));
            (super::metrics::Route::Other, error_reply(e))
        }
    };
    // Counted before writing, so a client that reads its answer and then asks
    // /metrics sees it; the latency is recorded once the answer is written.
    ctx.metrics.count(route, reply.status);
    if let Err(e) = rq.respond(reply.into_response()) {
        log::debug!("http: could not write the answer: {e}");
    }
    ctx.metrics.observe_latency(started.elapsed());
}
