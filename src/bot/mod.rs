//! The Telegram bot: the only module that imports grammers.
//!
//! One OS thread owns a current-thread tokio runtime with the grammers client,
//! logged in as the bot ([`spawn`]). Updates stream with `catch_up`, so what
//! Telegram still holds after a restart is delivered. Each update is routed to
//! a task per Telegram user, so one user's updates are handled in order while
//! different users proceed concurrently. Handlers turn raw updates into
//! engine calls (`crate::engine`), which are idempotent: a repeated update
//! finds its conversion already decided.
//!
//! A scheduler on the same runtime ends hold windows (re-checking with
//! Telegram), reconciles memberships of conversions in hold, and converts
//! share links that got visitors.

mod admin;
pub mod ads;
mod ads_glue;
mod advertiser;
pub mod buttons;
pub mod event;
mod notify;
mod payments;
mod router;
mod scheduler;
pub mod session;
mod statistic;
mod tasks;
pub mod texts;
mod tg;
mod verify;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use grammers_client::peer::PeerMap;
use grammers_client::sender::UpdatesConfiguration;
use grammers_client::update::Update;
use grammers_client::{Client, InvocationError, SenderPool};
use tokio::sync::{mpsc, watch};

use crate::clock::Clock;
use crate::config::{Pricing, TelegramConfig};
use crate::domain::offer::{Action, PricePair};
use crate::engine::Engine;
use crate::store::Store;
use grammers_client::message::InputMessage;
use session::StoreSession;
use texts::Lang;
use tg::{Tg, TgError};

/// A user's queue (and its task) ends after this long without updates; the
/// next update starts a new one. Short, so a burst of users does not keep
/// thousands of idle queues alive.
const QUEUE_IDLE: Duration = Duration::from_secs(2);

/// Stack of the bot thread (see `spawn`).
const BOT_STACK: usize = 32 << 20;

/// Update batches grammers may queue before it starts dropping them.
const UPDATES_QUEUE: usize = 10_000;

/// What the bot needs besides Telegram credentials.
#[derive(Clone)]
pub struct BotContext {
    pub telegram: TelegramConfig,
    /// Base of share links (`{public_base_url}/s/TOKEN`).
    pub public_base_url: String,
    pub store: Store,
    pub engine: Engine,
    pub clock: Clock,
    /// How often the scheduler looks for ended holds and reconciles (shortened in tests and the demo).
    pub tick: Duration,
    /// The config's minimum prices; admins override them at run time (`settings`).
    pub pricing: Pricing,
    /// For the admins' "Test postback" (the same sender as `tgtrack postback test`).
    pub postback: crate::config::PostbackConfig,
}

/// A running bot thread.
pub struct BotHandle {
    stop: watch::Sender<bool>,
    poke: mpsc::UnboundedSender<()>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
}

impl BotHandle {
    /// Asks the scheduler to run now (the demo advances its clock, then pokes).
    pub fn poke(&self) {
        let _ = self.poke.send(());
    }

    /// Stops the update loop, saves the update state, and joins the thread.
    pub fn stop(mut self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => anyhow::bail!("the bot thread panicked"),
            None => Ok(()),
        }
    }
}

impl Drop for BotHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Explains the one-time migration away from the cloud Bot API (telegram.md 2.2).
pub const WEBHOOK_NOTE: &str = "tgtrack talks to Telegram over MTProto as the bot. Do not also run the cloud Bot API \
(a webhook or getUpdates) with the same token: Telegram delivers each update to one consumer only, so updates would be \
lost. If the token was used with the Bot API before, call https://api.telegram.org/bot<TOKEN>/deleteWebhook once, then \
.../logOut, and never call the HTTP Bot API with this token again.";

/// Starts the bot on its own thread. Returns once the thread runs; login
/// errors are reported by the thread (logged, and returned from `stop`).
pub fn spawn(ctx: BotContext) -> anyhow::Result<BotHandle> {
    let (stop_tx, stop_rx) = watch::channel(false);
    let (poke_tx, poke_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    let thread = std::thread::Builder::new()
        .name("bot".into())
        // The update loop's future holds grammers' client state and our
        // handlers' futures; unoptimized builds need far more than 2 MiB.
        .stack_size(BOT_STACK)
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building the bot's tokio runtime")?;
            let out = rt.block_on(run(ctx, stop_rx, poke_rx, ready_tx));
            if let Err(e) = &out {
                log::error!("bot stopped: {e:#}");
            }
            out
        })
        .context("spawning the bot thread")?;
    // Wait for login so `run` can report a bad token at start instead of later.
    match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            let _ = thread.join();
            anyhow::bail!("{e}");
        }
        Err(_) => {
            let _ = stop_tx.send(true);
            anyhow::bail!(
                "the bot did not log in within 60 s (is Telegram, or the test DC, reachable?)"
            );
        }
    }
    Ok(BotHandle {
        stop: stop_tx,
        poke: poke_tx,
        thread: Some(thread),
    })
}

/// Everything the dialogues share.
pub(crate) struct Shared {
    pub tg: Tg,
    /// The bot's own user id.
    pub me: i64,
    pub ctx: BotContext,
    /// When each offer's operator was last alerted (business time): a setup
    /// problem is reported once an hour, not on every /start.
    pub alerted: std::sync::Mutex<HashMap<i64, i64>>,
    /// When an offer whose @username did not resolve may be tried again.
    pub resolve_retry: std::sync::Mutex<HashMap<i64, i64>>,
}

impl Shared {
    /// Business time: the same clock decisions use (the demo runs it ahead).
    pub fn now(&self) -> i64 {
        self.ctx.clock.now()
    }

    pub fn is_admin(&self, user: i64) -> bool {
        self.ctx.telegram.admins.contains(&user)
    }

    /// The user's language from what we stored about them.
    pub fn lang_of(&self, user: i64) -> Lang {
        let stored = self
            .ctx
            .store
            .read(|c| crate::store::users::get_user(c, user))
            .ok()
            .flatten();
        Lang::from_code(stored.as_ref().and_then(|u| u.lang.as_deref()))
    }

    /// The minimum price of an action now: an admin's override, else the config.
    pub fn minimum(&self, action: Action) -> PricePair {
        crate::store::settings::min_price(&self.ctx.store, &self.ctx.pricing, action)
            .unwrap_or_else(|e| {
                log::error!("bot: reading minimum prices: {e}");
                self.ctx.pricing.minimum(action)
            })
    }

    /// Sends a message. A user who blocked the bot is skipped (logged), not an error.
    pub async fn send(&self, user: i64, msg: InputMessage) -> anyhow::Result<()> {
        self.send_id(user, msg).await.map(drop)
    }

    /// Sends a message and returns its id (`None` when the user cannot be reached).
    pub async fn send_id(&self, user: i64, msg: InputMessage) -> anyhow::Result<Option<i32>> {
        match self.tg.send(user, msg).await {
            Ok(id) => Ok(Some(id)),
            Err(TgError::Unreachable(why)) => {
                log::info!("bot: user {user} cannot receive messages ({why})");
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    pub async fn say(&self, user: i64, text: impl Into<String>) -> anyhow::Result<()> {
        self.send(user, InputMessage::new().text(text.into())).await
    }

    /// Tells the operator about a setup problem of an offer: in the audit trail
    /// and to the admins, at most once an hour per offer.
    pub async fn operator_alert(&self, offer: i64, detail: &str) {
        let t = self.now();
        {
            let mut last = self.alerted.lock().unwrap_or_else(|p| p.into_inner());
            if last.get(&offer).is_some_and(|at| t - at < 3600) {
                return;
            }
            last.insert(offer, t);
        }
        log::error!("bot: {detail}");
        if let Err(e) = self
            .ctx
            .engine
            .note(None, None, "operator error", detail, t)
        {
            log::error!("bot: recording an operator error: {e}");
        }
        for admin in &self.ctx.telegram.admins {
            // Admins who never started the bot cannot be messaged; the log and the audit trail still have it.
            if let Err(err) = self.say(*admin, texts::operator_alert(detail)).await {
                log::debug!("bot: could not alert admin {admin}: {err:#}");
            }
        }
    }
}

async fn run(
    ctx: BotContext,
    mut stop: watch::Receiver<bool>,
    poke: mpsc::UnboundedReceiver<()>,
    ready: std::sync::mpsc::Sender<Result<(), String>>,
) -> anyhow::Result<()> {
    let tg = ctx.telegram.clone();
    let session =
        Arc::new(StoreSession::load(ctx.store.clone(), "bot").context("loading the bot session")?);
    if let Some(dc) = &tg.test_dc {
        let key = std::fs::read(&dc.auth_key_file).with_context(|| {
            format!(
                "reading telegram.test_dc.auth_key_file {}",
                dc.auth_key_file.display()
            )
        })?;
        let key: [u8; 256] = key.try_into().map_err(|k: Vec<u8>| {
            anyhow::anyhow!(
                "telegram.test_dc.auth_key_file must hold 256 bytes, not {}",
                k.len()
            )
        })?;
        session.seed_test_dc(dc.address, key);
        log::info!("bot: using the test datacenter at {}", dc.address);
    }
    // grammers drops pushed updates when this queue is full (default 100) and
    // must then recover them with getDifference; a burst of joins would hit it.
    let params = grammers_client::sender::ConnectionParams {
        updates_channel_capacity: std::num::NonZeroUsize::new(UPDATES_QUEUE).expect("non-zero"),
        ..Default::default()
    };
    let SenderPool {
        runner,
        updates,
        handle,
    } = SenderPool::with_configuration(Arc::clone(&session), tg.api_id, params);
    let client = Client::new(handle.clone());
    let pool = tokio::spawn(runner.run());

    let login = async {
        if !client.is_authorized().await? {
            log::info!("bot: signing in");
            client
                .bot_sign_in(tg.bot_token.expose(), tg.api_hash.expose())
                .await?;
        }
        client.get_me().await
    };
    let me = match login.await {
        Ok(me) => me,
        Err(e) => {
            let msg = match &e {
                InvocationError::Rpc(r) if r.name == "ACCESS_TOKEN_INVALID" => {
                    "telegram.bot_token: Telegram refused the token (ACCESS_TOKEN_INVALID); check it with @BotFather".to_string()
                }
                _ => format!("bot login failed: {e}"),
            };
            let _ = ready.send(Err(msg.clone()));
            handle.quit();
            let _ = pool.await;
            anyhow::bail!(msg);
        }
    };
    let me_id = me.id().bare_id_unchecked();
    if me
        .username()
        .is_some_and(|u| !u.eq_ignore_ascii_case(&tg.bot_username))
    {
        log::warn!(
            "bot: logged in as @{} but telegram.bot_username is {}; click links redirect to the configured name",
            me.username().unwrap_or_default(),
            tg.bot_username
        );
    }
    log::info!(
        "bot: logged in as @{} (id {me_id})",
        me.username().unwrap_or("?")
    );
    let _ = ready.send(Ok(()));

    let shared = Arc::new(Shared {
        tg: Tg {
            client: client.clone(),
            session: Arc::clone(&session),
        },
        me: me_id,
        ctx,
        alerted: Default::default(),
        resolve_retry: Default::default(),
    });
    admin::set_commands(&shared).await;

    let mut stream = client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
        .map_err(|e| anyhow::anyhow!("starting the update stream: {e}"))?;
    let sched = tokio::spawn(scheduler::run(Arc::clone(&shared), poke, stop.clone()));

    // One queue per Telegram user keeps that user's updates in order.
    // Items are boxed: a channel block holds 32 items inline, and an update with
    // its peer map is kilobytes, which made every idle queue cost ~256 KiB.
    let mut queues: HashMap<i64, mpsc::UnboundedSender<Queued>> = HashMap::new();
    let mut workers = tokio::task::JoinSet::new();
    // Updates handed to a queue and not yet handled. The update state is saved
    // only when this is zero and the stream has been quiet for a moment (so
    // grammers' own buffer is empty too): a saved state never claims an update
    // that a crash could still lose.
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut last_update = tokio::time::Instant::now();
    let mut dirty = false;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            // Finished queues are reaped at once: a JoinSet keeps a task's memory until joined.
            Some(_) = workers.join_next(), if !workers.is_empty() => {}
            _ = tick.tick() => {
                queues.retain(|_, q| !q.is_closed());
                let quiet = last_update.elapsed() >= Duration::from_secs(1);
                if dirty && quiet && pending.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    match stream.sync_update_state().await {
                        Ok(()) => dirty = false,
                        Err(e) => log::warn!("bot: could not save the update state: {e}"),
                    }
                }
            }
            next = stream.next_raw() => {
                let (raw, state, peers) = match next {
                    Ok(u) => u,
                    Err(InvocationError::Dropped(_)) => break,
                    Err(e) => {
                        // grammers reconnects by itself on the next call and
                        // catches up with getDifference; just say it happened.
                        log::warn!("bot: update stream error: {e}; reconnecting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                last_update = tokio::time::Instant::now();
                dirty = true;
                let peer_handle = peers.handle();
                let update = Box::new((Update::from_raw(&client, raw, state, peers), peer_handle));
                let Some(key) = router::order_key(&update.0) else { continue };
                pending.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let mut update = Some(update);
                if let Some(q) = queues.get(&key) {
                    if let Err(mpsc::error::SendError(u)) = q.send(update.take().expect("present")) {
                        update = Some(u);
                    }
                }
                if let Some(u) = update {
                    let (tx, rx) = mpsc::unbounded_channel();
                    tx.send(u).expect("receiver alive");
                    queues.insert(key, tx);
                    workers.spawn(user_queue(Arc::clone(&shared), rx, Arc::clone(&pending)));
                }
            }
        }
    }
    log::info!("bot: stopping; finishing the updates already received");
    sched.abort();
    // Closing the queues lets each worker finish what it holds, then end.
    drop(queues);
    let drained = tokio::time::timeout(Duration::from_secs(10), async {
        while workers.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        log::warn!("bot: some updates were still being handled at stop; they will be fetched again at the next start");
        workers.abort_all();
    } else if let Err(e) = stream.sync_update_state().await {
        log::warn!("bot: could not save the update state: {e}");
    }
    handle.quit();
    let _ = pool.await;
    Ok(())
}

/// An update waiting in a user's queue, with the peers it came with.
type Queued = Box<(Update, PeerMap)>;

/// Handles one user's updates in order; ends after `QUEUE_IDLE` without any.
async fn user_queue(
    shared: Arc<Shared>,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    pending: Arc<std::sync::atomic::AtomicUsize>,
) {
    loop {
        match tokio::time::timeout(QUEUE_IDLE, rx.recv()).await {
            Ok(Some(item)) => handle_boxed(&shared, &pending, item).await,
            Ok(None) => return,
            Err(_) => {
                // Close first, then drain: an update sent between the timeout
                // and the close is still handled here, never dropped.
                rx.close();
                while let Ok(item) = rx.try_recv() {
                    handle_boxed(&shared, &pending, item).await;
                }
                return;
            }
        }
    }
}

/// One update's handling as a boxed future: the handler's future is large, and
/// an unboxed one would be part of every waiting user's task (kilobytes each).
fn handle_boxed(
    shared: &Arc<Shared>,
    pending: &Arc<std::sync::atomic::AtomicUsize>,
    item: Queued,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    let (shared, pending) = (Arc::clone(shared), Arc::clone(pending));
    Box::pin(async move {
        let (u, peers) = *item;
        router::handle(&shared, u, &peers).await;
        pending.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    })
}
