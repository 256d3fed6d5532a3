//! Wiring of the daemon: the store, the HTTP sidecar, the postback worker,
//! the checkpointer and (with `[telegram]`) the bot, each on its own thread.
//!
//! [`start`] is the one seam for `tgtrack run`, the demo and the end-to-end
//! tests: it takes a bound listener (tests bind 127.0.0.1:0) and returns a
//! [`Daemon`] whose [`Daemon::shutdown`] stops everything in a safe order:
//! no new requests, the bot saves its update state, the worker stops between
//! attempts, and a last checkpoint folds the WAL into the database.

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;

use crate::bot::{self, BotContext, BotHandle};
use crate::clock::Clock;
use crate::config::Config;
use crate::engine::Engine;
use crate::http;
use crate::postback;
use crate::store::Store;

/// Knobs the demo and tests turn; `Default` is what `tgtrack run` uses.
pub struct StartOptions {
    /// An already-bound listener (tests use 127.0.0.1:0); else bind `http.listen`.
    pub listener: Option<TcpListener>,
    pub clock: Clock,
    /// How often the bot's scheduler looks at holds.
    pub tick: Duration,
    pub checkpoint_every: Duration,
}

impl Default for StartOptions {
    fn default() -> Self {
        StartOptions {
            listener: None,
            clock: Clock::new(),
            tick: Duration::from_secs(10),
            checkpoint_every: Duration::from_millis(100),
        }
    }
}

pub struct Daemon {
    pub addr: SocketAddr,
    pub store: Store,
    pub engine: Engine,
    pub clock: Clock,
    http_stop: http::server::Shutdown,
    http: Option<JoinHandle<anyhow::Result<()>>>,
    worker_stop: postback::Stopper,
    worker: Option<JoinHandle<()>>,
    checkpoint_stop: Option<mpsc::Sender<()>>,
    checkpoint: Option<JoinHandle<()>>,
    bot: Option<BotHandle>,
}

/// Starts every part of the daemon and returns once they run (the bot is logged in).
pub fn start(cfg: Config, opts: StartOptions) -> anyhow::Result<Daemon> {
    let store = Store::open(&cfg.database.path, (cfg.http.threads as u32 + 2).min(16))?;
    let listener = match opts.listener {
        Some(l) => l,
        None => TcpListener::bind(cfg.http.listen)
            .with_context(|| format!("http.listen: cannot listen on {}", cfg.http.listen))?,
    };
    let addr = listener.local_addr()?;

    let (checkpoint_stop, checkpoint) = store.spawn_checkpointer(opts.checkpoint_every);

    let (waker, inbox) = postback::worker::channel();
    let worker_stop = inbox.stopper();
    let worker = {
        let (store, pcfg) = (store.clone(), cfg.postback.clone());
        // Due times are written in business time: the worker reads the same clock.
        let clock = opts.clock.clone();
        std::thread::Builder::new()
            .name("postback".into())
            .spawn(move || {
                let options = postback::worker::Options {
                    clock,
                    ..Default::default()
                };
                postback::worker::run_with(store, pcfg, options, inbox)
            })?
    };
    let engine = Engine::new(store.clone(), waker);

    let bot = match &cfg.telegram {
        None => {
            log::warn!("no [telegram] section: running without the bot (click links answer 503 until it is configured)");
            None
        }
        Some(tg) => {
            log::info!("{}", bot::WEBHOOK_NOTE);
            let ctx = BotContext {
                telegram: tg.clone(),
                public_base_url: cfg.http.public_base_url.clone(),
                store: store.clone(),
                engine: engine.clone(),
                clock: opts.clock.clone(),
                tick: opts.tick,
                pricing: cfg.pricing,
                postback: cfg.postback.clone(),
            };
            match bot::spawn(ctx) {
                Ok(b) => Some(b),
                Err(e) => {
                    worker_stop.stop();
                    let _ = worker.join();
                    drop(checkpoint_stop);
                    let _ = checkpoint.join();
                    return Err(e);
                }
            }
        }
    };

    let http_stop = http::server::Shutdown::new();
    let http = {
        let ctx = http::server::Context::new(
            store.clone(),
            &cfg.http,
            cfg.bot_username().map(str::to_string),
        )?
        .with_relay(engine.clone(), opts.clock.clone());
        let stop = http_stop.clone();
        std::thread::Builder::new()
            .name("http".into())
            .spawn(move || http::server::run(listener, ctx, stop))?
    };
    log::info!(
        "tgtrack is up: http://{addr} (public base {})",
        cfg.http.public_base_url
    );
    Ok(Daemon {
        addr,
        store,
        engine,
        clock: opts.clock,
        http_stop,
        http: Some(http),
        worker_stop,
        worker: Some(worker),
        checkpoint_stop: Some(checkpoint_stop),
        checkpoint: Some(checkpoint),
        bot,
    })
}

impl Daemon {
    /// Runs the bot's scheduler now (after the demo advanced the clock).
    pub fn poke_scheduler(&self) {
        if let Some(b) = &self.bot {
            b.poke();
        }
    }

    /// Stops everything, in an order that loses nothing.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> anyhow::Result<()> {
        let mut first_err = None;
        self.http_stop.trigger();
        if let Some(h) = self.http.take() {
            match h.join() {
                Ok(Err(e)) => first_err = first_err.or(Some(e)),
                Err(_) => {
                    first_err = first_err.or(Some(anyhow::anyhow!("the HTTP thread panicked")))
                }
                Ok(Ok(())) => {}
            }
        }
        if let Some(b) = self.bot.take() {
            if let Err(e) = b.stop() {
                first_err = first_err.or(Some(e));
            }
        }
        self.worker_stop.stop();
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
        drop(self.checkpoint_stop.take());
        if let Some(c) = self.checkpoint.take() {
            let _ = c.join();
        }
        match first_err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.stop_all();
    }
}

/// `tgtrack run`: start, then wait for SIGTERM or SIGINT and shut down gracefully.
pub fn run_until_signal(cfg: Config) -> anyhow::Result<()> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])
        .context("installing signal handlers")?;
    let daemon = start(cfg, StartOptions::default())?;
    // If the HTTP server stops on its own (its listener died), stop waiting
    // for a signal: shutting down returns its error, so the process exits
    // non-zero and `Restart=on-failure` brings it back.
    let (http_stop, signals_handle) = (daemon.http_stop.clone(), signals.handle());
    std::thread::Builder::new()
        .name("http-watch".into())
        .spawn(move || {
            http_stop.wait();
            if http_stop.failure().is_some() {
                signals_handle.close();
            }
        })
        .context("spawning the HTTP watcher")?;
    if let Some(sig) = signals.forever().next() {
        log::info!("received signal {sig}; shutting down");
    }
    daemon.shutdown()?;
    log::info!("stopped cleanly");
    Ok(())
}
