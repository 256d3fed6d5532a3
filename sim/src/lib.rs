//! tgsim: a fake Telegram datacenter that the real, unmodified grammers 0.11 client talks to
//! over loopback, for offline end-to-end tests, the demo and load generation (issue 3).
//!
//! grammers skips the RSA/DH key exchange when its session already holds an auth key for the
//! DC, so the simulator and the client share a known 256-byte key ([`seed_session`]). Behind
//! the MTProto layer ([`net`]) sits a small world of users, chats and messages ([`world`]) whose
//! update engine follows Telegram's pts/qts/seq rules; RPCs are answered in [`rpc`].
//!
//! The [`Sim`] handle is the in-process API (documented in `sim/API.md`); `tgsim serve` wraps
//! the same handle in a JSON control API ([`control`]).
//!
//! # Layout
//!
//! * [`net`]: TCP, `transport::Full`, the encrypted session layer and per-connection writers;
//!   the only module that does network I/O for MTProto.
//! * [`crypto`]: the server half of MTProto 2.0 message encryption.
//! * [`rpc`]: unwraps `invokeWithLayer`/`initConnection` and answers each method.
//! * [`world`]: users, chats, messages, invites, payments and the pts/qts/seq update engine.
//! * [`files`]: uploads (`upload.saveFilePart`/`saveBigFilePart`) and the files the bot sent.
//! * [`srp`]: two-step verification (SRP) for owner accounts.
//! * [`tlb`]: builders for layer-230 TL objects.
//! * [`obs`]: observations (what the bot did), the test-facing view.
//! * [`control`]: the HTTP control API and world file of `tgsim serve`.
//!
//! # Invariants
//!
//! * One mutex guards the world. Every pts/qts/seq is assigned, logged and its push enqueued in
//!   one critical section, and an RPC's answer is enqueued under the same lock after the pushes
//!   it caused, so each connection sees updates in order (simulator.md §3).
//! * Salt 0 everywhere, the client's session_id echoed back, no DC options, never transport
//!   -404 (simulator.md §2).

pub mod control;
pub mod crypto;
pub mod files;
pub mod net;
pub mod obs;
pub mod rpc;
pub mod srp;
pub mod tlb;
pub mod world;

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};

pub use obs::{
    Button, ButtonKind, CallbackAnswer, JoinRequestDecision, Observations, ObservedInvite,
    ObservedMedia, ObservedMessage, PeerKey, PrecheckoutAnswer, Refund,
};

use crate::crypto::AuthKey;
use crate::net::Shared;
use crate::world::{ChatKind, World};

/// grammers' default home DC (`grammers-session` `DEFAULT_DC`); seeding it means no migration.
pub const DC_ID: i32 = 2;

/// An error from a world-building call or a user action (bad id, action not possible).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimError(pub String);

impl SimError {
    pub fn new(msg: impl Into<String>) -> Self {
        SimError(msg.into())
    }
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SimError {}

/// Simulator configuration. `SimConfig::default()` suits tests.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Where the MTProto server listens (default 127.0.0.1:0, an ephemeral port).
    pub listen: SocketAddr,
    pub bot_token: String,
    pub bot_id: i64,
    pub bot_username: String,
    pub bot_first_name: String,
    /// The pre-shared auth key; random when `None`.
    pub auth_key: Option<[u8; 256]>,
    /// How long a pre-checkout query waits for the bot (Bot API: 10 s, telegram.md §1.6).
    pub precheckout_timeout: Duration,
    /// The code `auth.signIn` accepts.
    pub login_code: String,
    /// Telegram's default privacy mode for bots in groups (telegram.md §1.4 \[S46]).
    pub bot_privacy_mode: bool,
    /// Push a private text message from a user the bot already received a `User` object for
    /// as `updateShortMessage` (no user object), as Telegram does for peers the client knows
    /// (<https://core.telegram.org/constructor/updateShortMessage>, simulator.md §2.9 and §4.2).
    /// Off by default: every push then carries its users. Also [`Sim::set_short_messages`].
    pub short_messages_for_known_users: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            bot_token: "123456:TEST-TOKEN".into(),
            bot_id: 123456,
            bot_username: "tgsim_bot".into(),
            bot_first_name: "Sim Bot".into(),
            auth_key: None,
            precheckout_timeout: Duration::from_secs(10),
            login_code: "12345".into(),
            bot_privacy_mode: true,
            short_messages_for_known_users: false,
        }
    }
}

/// A user account to create.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UserSpec {
    pub first_name: String,
    pub last_name: Option<String>,
    pub username: Option<String>,
    pub premium: bool,
    pub lang_code: Option<String>,
}

impl UserSpec {
    pub fn new(first_name: &str) -> Self {
        Self {
            first_name: first_name.into(),
            lang_code: Some("en".into()),
            ..Default::default()
        }
    }
    pub fn username(mut self, u: &str) -> Self {
        self.username = Some(u.into());
        self
    }
    pub fn last_name(mut self, l: &str) -> Self {
        self.last_name = Some(l.into());
        self
    }
    pub fn premium(mut self, p: bool) -> Self {
        self.premium = p;
        self
    }
    pub fn lang(mut self, l: &str) -> Self {
        self.lang_code = Some(l.into());
        self
    }
}

/// A channel or group to create.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatSpec {
    pub title: String,
    pub username: Option<String>,
    pub about: String,
}

impl ChatSpec {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.into(),
            ..Default::default()
        }
    }
    pub fn username(mut self, u: &str) -> Self {
        self.username = Some(u.into());
        self
    }
}

/// An invite link made by the chat's owner (not the bot), e.g. one an advertiser pastes into
/// the bot as `t.me/+HASH` ([`Sim::create_invite_link`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InviteSpec {
    pub chat: i64,
    /// The link's hash (`t.me/+HASH`), 1-64 of `[A-Za-z0-9_-]`; generated when None.
    pub hash: Option<String>,
    /// Joining needs approval (a join request).
    pub request_needed: bool,
    pub title: Option<String>,
    pub expire_date: Option<i32>,
    pub usage_limit: Option<i32>,
    /// Revoked at once (checkChatInvite then answers INVITE_HASH_EXPIRED).
    pub revoked: bool,
}

/// Admin rights (the subset of `chatAdminRights` the daemon cares about).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminRights {
    pub change_info: bool,
    pub post_messages: bool,
    pub edit_messages: bool,
    pub delete_messages: bool,
    pub ban_users: bool,
    pub invite_users: bool,
    pub pin_messages: bool,
    pub add_admins: bool,
}

impl AdminRights {
    /// The right names [`AdminRights::from_names`] accepts (the `chatAdminRights` flag names,
    /// <https://core.telegram.org/constructor/chatAdminRights>).
    pub const NAMES: [&'static str; 8] = [
        "change_info",
        "post_messages",
        "edit_messages",
        "delete_messages",
        "ban_users",
        "invite_users",
        "pin_messages",
        "add_admins",
    ];

    /// Rights from a list of flag names, e.g. `["invite_users", "post_messages"]`; an unknown
    /// name is an error.
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, SimError> {
        let mut r = AdminRights::default();
        for n in names {
            let flag = match n.as_ref() {
                "change_info" => &mut r.change_info,
                "post_messages" => &mut r.post_messages,
                "edit_messages" => &mut r.edit_messages,
                "delete_messages" => &mut r.delete_messages,
                "ban_users" => &mut r.ban_users,
                "invite_users" => &mut r.invite_users,
                "pin_messages" => &mut r.pin_messages,
                "add_admins" => &mut r.add_admins,
                other => {
                    return Err(SimError::new(format!(
                        "unknown admin right {other:?} (known: {})",
                        Self::NAMES.join(", ")
                    )))
                }
            };
            *flag = true;
        }
        Ok(r)
    }

    pub fn all() -> Self {
        Self {
            change_info: true,
            post_messages: true,
            edit_messages: true,
            delete_messages: true,
            ban_users: true,
            invite_users: true,
            pin_messages: true,
            add_admins: true,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JoinOutcome {
    Joined,
    /// A join request is pending the bot's decision.
    Requested,
    AlreadyMember,
}

/// One payment a user started (`Sim::payments_of`), as the control API's
/// `GET /payments?user=ID` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PaymentInfo {
    pub payment_id: i64,
    pub user: i64,
    /// The invoice message in the user's private chat with the bot.
    pub msg_id: i32,
    pub title: String,
    pub currency: String,
    pub amount: i64,
    /// The invoice payload, as UTF-8 (lossy) and as base64.
    pub payload: String,
    pub payload_b64: String,
    /// None while the bot has not answered the pre-checkout query.
    pub outcome: Option<PaymentOutcome>,
    /// The charge was refunded (`payments.refundStarsCharge`).
    pub refunded: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum PaymentOutcome {
    Paid { charge_id: String },
    Declined { error: String },
    TimedOut,
}

/// A running simulator. Dropping it stops the server.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    key: AuthKey,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
    rt: tokio::runtime::Handle,
}

impl Sim {
    /// Binds the listener and serves in the background on its own runtime (2 worker threads).
    pub fn start(cfg: SimConfig) -> anyhow::Result<Sim> {
        let key = cfg
            .auth_key
            .map(AuthKey::new)
            .unwrap_or_else(AuthKey::random);
        let listener = net::bind(cfg.listen)?;
        let addr = listener.local_addr()?;
        let (version, _) = watch::channel(0u64);
        let (kick, _) = broadcast::channel(4);
        let shared = Arc::new(Shared {
            world: Mutex::new(World::new(cfg, key.clone())),
            cond: Condvar::new(),
            version,
            kick,
            next_conn: AtomicU64::new(1),
        });
        let (stop, stop_rx) = watch::channel(false);
        let (rt_tx, rt_rx) = std::sync::mpsc::channel();
        let sh = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("tgsim".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("tgsim-worker")
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = rt_tx.send(Err(e));
                        return;
                    }
                };
                let _ = rt_tx.send(Ok(rt.handle().clone()));
                rt.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => net::accept_loop(l, sh.clone(), stop_rx).await,
                        Err(e) => log::error!("tgsim: listener: {e}"),
                    }
                    let _ = sh.kick.send(());
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })?;
        let rt = rt_rx.recv()??;
        Ok(Sim {
            shared,
            addr,
            key,
            stop,
            thread: Some(thread),
            rt,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn auth_key(&self) -> [u8; 256] {
        self.key.data
    }

    /// Writes the raw 256-byte auth key (for `tgsim serve --auth-key-file` and the daemon).
    pub fn write_auth_key_file(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        std::fs::write(path, self.key.data)
    }

    /// Registers another (unauthorised) auth key, e.g. for the owner's user-account client.
    pub fn new_auth_key(&self) -> [u8; 256] {
        let k = AuthKey::random();
        let data = k.data;
        self.world().keys.insert(
            k.id,
            world::KeyState {
                key: k,
                account: None,
            },
        );
        data
    }

    pub fn bot_token(&self) -> String {
        self.world().cfg.bot_token.clone()
    }

    pub fn bot_id(&self) -> i64 {
        self.world().cfg.bot_id
    }

    pub fn bot_username(&self) -> String {
        self.world().cfg.bot_username.clone()
    }

    /// Stops the server and closes every connection.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        let _ = self.shared.kick.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }

    fn world(&self) -> MutexGuard<'_, World> {
        self.shared.lock()
    }

    /// Runs `f` on the world, then wakes observation waiters.
    fn with<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let r = f(&mut self.world());
        self.shared.changed();
        r
    }

    // ----- world building ----------------------------------------------------------------------

    pub fn add_user(&self, spec: UserSpec) -> Result<i64, SimError> {
        self.with(|w| w.add_user(spec))
    }

    /// A user who can log in (`auth.sendCode` + `auth.signIn` with `SimConfig::login_code`).
    pub fn add_owner_account(
        &self,
        spec: UserSpec,
        phone: &str,
        password: Option<&str>,
    ) -> Result<i64, SimError> {
        self.with(|w| w.add_owner_account(spec, phone, password))
    }

    pub fn add_channel(&self, spec: ChatSpec) -> Result<i64, SimError> {
        self.with(|w| w.add_chat(ChatKind::Channel, spec))
    }

    pub fn add_supergroup(&self, spec: ChatSpec) -> Result<i64, SimError> {
        self.with(|w| w.add_chat(ChatKind::Supergroup, spec))
    }

    pub fn add_basic_group(&self, spec: ChatSpec) -> Result<i64, SimError> {
        self.with(|w| w.add_chat(ChatKind::Basic, spec))
    }

    pub fn link_discussion(&self, channel: i64, group: i64) -> Result<(), SimError> {
        self.with(|w| w.link_discussion(channel, group))
    }

    /// Makes the bot an administrator of `chat` (added if needed). The bot gets its own
    /// membership update (`updateChannelParticipant` / `updateChatParticipant` with `user_id` =
    /// the bot, qts), carrying the chat with its access hash; see [`World::set_bot_membership`].
    ///
    /// [`World::set_bot_membership`]: world::World::set_bot_membership
    pub fn set_bot_admin(&self, chat: i64, rights: AdminRights) -> Result<(), SimError> {
        self.with(|w| w.set_bot_membership(chat, Some(Some(rights))))
    }

    /// Makes the bot a plain member (added, or demoted from admin), with the same update.
    pub fn set_bot_member(&self, chat: i64) -> Result<(), SimError> {
        self.with(|w| w.set_bot_membership(chat, Some(None)))
    }

    /// Removes the bot from `chat` (update with `new_participant` absent).
    pub fn remove_bot(&self, chat: i64) -> Result<(), SimError> {
        self.with(|w| w.set_bot_membership(chat, None))
    }

    /// A member from before the test started: no update is sent, and the participant's join
    /// `date` is one day ago ([`world::PRE_EXISTING_MEMBER_AGE`]), so a daemon can tell it
    /// from a new join by date.
    pub fn add_member(&self, chat: i64, user: i64) -> Result<(), SimError> {
        self.with(|w| w.add_member(chat, user))
    }

    /// Makes `user` the chat's creator (all admin rights), e.g. the owner account.
    pub fn set_chat_owner(&self, chat: i64, user: i64) -> Result<(), SimError> {
        self.with(|w| w.set_chat_owner(chat, user))
    }

    /// An invite link for `chat` created by its owner (or by the bot's account when the chat
    /// has no owner, but never counted as the bot's: it is not in the observations). Returns
    /// the link, `https://t.me/+HASH`.
    pub fn create_invite_link(&self, spec: InviteSpec) -> Result<String, SimError> {
        self.with(|w| {
            let admin = w.chat(spec.chat)?.creator.unwrap_or(w.cfg.bot_id);
            let link = w.create_invite_as(
                spec.chat,
                admin,
                spec.hash,
                spec.title,
                spec.expire_date,
                spec.usage_limit,
                spec.request_needed,
            )?;
            if spec.revoked {
                w.invites.get_mut(&link).unwrap().revoked = true;
            }
            Ok(link)
        })
    }

    pub fn post_to_channel(&self, channel: i64, text: &str) -> Result<i32, SimError> {
        self.with(|w| w.post_to_channel(channel, text))
    }

    /// A user's message in a group. Returns the message id in the group (for basic groups: the
    /// id in the bot's box, or 0 when the bot does not receive it).
    pub fn send_group_message(&self, chat: i64, user: i64, text: &str) -> Result<i32, SimError> {
        self.with(|w| w.send_group_message(chat, user, text, None))
    }

    /// Runtime switch for [`SimConfig::short_messages_for_known_users`].
    pub fn set_short_messages(&self, on: bool) {
        self.world().cfg.short_messages_for_known_users = on;
    }

    // ----- user actions ------------------------------------------------------------------------

    pub fn user_start_bot(&self, user: i64, payload: Option<&str>) -> Result<i32, SimError> {
        self.with(|w| w.user_start_bot(user, payload))
    }

    pub fn user_send_text(&self, user: i64, text: &str) -> Result<i32, SimError> {
        self.with(|w| w.user_send_text(user, text))
    }

    /// Presses a callback button on the bot's message `msg_id` in the private chat. Returns the
    /// query id; the bot's answer shows up in [`Observations::callback_answers`].
    /// Presses a button with data that is on no button of the message (a
    /// modified client): the bot must check what it gets.
    pub fn user_press_forged(&self, user: i64, msg_id: i32, data: &[u8]) -> Result<i64, SimError> {
        self.with(|w| w.user_press_forged(user, msg_id, data))
    }

    pub fn user_press_button(&self, user: i64, msg_id: i32, data: &[u8]) -> Result<i64, SimError> {
        self.with(|w| w.user_press_button(user, None, msg_id, data))
    }

    /// Presses a callback button on the bot's message `msg_id` in a group or channel.
    pub fn user_press_button_in(
        &self,
        user: i64,
        chat: i64,
        msg_id: i32,
        data: &[u8],
    ) -> Result<i64, SimError> {
        self.with(|w| w.user_press_button(user, Some(chat), msg_id, data))
    }

    /// Presses the callback button labelled `label` on the bot's message `msg_id` (`chat`
    /// None = the private chat), with the data the message's current (possibly edited)
    /// keyboard carries. Returns the query id.
    pub fn user_press_button_labelled(
        &self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        label: &str,
    ) -> Result<i64, SimError> {
        self.with(|w| {
            let data = w.callback_data_by_label(user, chat, msg_id, label)?;
            w.user_press_button(user, chat, msg_id, &data)
        })
    }

    /// Photos and documents the bot sent into the chat with `peer` (a user, group or channel
    /// id), oldest first, with their exact bytes (`SentFile::bytes`).
    pub fn files_sent_to(&self, peer: i64) -> Vec<files::SentFile> {
        self.world()
            .files
            .iter()
            .filter(|f| f.peer.id() == peer)
            .cloned()
            .collect()
    }

    /// The photo or document of the bot's message `msg_id` in the chat with `peer`.
    pub fn sent_file(&self, peer: i64, msg_id: i32) -> Option<files::SentFile> {
        self.world()
            .files
            .iter()
            .find(|f| f.peer.id() == peer && f.msg_id == msg_id)
            .cloned()
    }

    /// The bot's answer to callback query `query_id`, if it answered.
    pub fn callback_answer(&self, query_id: i64) -> Option<CallbackAnswer> {
        self.world()
            .obs
            .callback_answers
            .iter()
            .find(|a| a.query_id == query_id)
            .cloned()
    }

    /// Blocks until the bot answers callback query `query_id` or `timeout` passes.
    pub fn wait_callback_answer(&self, query_id: i64, timeout: Duration) -> Option<CallbackAnswer> {
        self.wait_for(
            |o| o.callback_answers.iter().any(|a| a.query_id == query_id),
            timeout,
        );
        self.callback_answer(query_id)
    }

    pub fn user_join(&self, user: i64, chat: i64) -> Result<(), SimError> {
        self.with(|w| w.user_join(user, chat))
    }

    pub fn user_join_via_link(&self, user: i64, link: &str) -> Result<JoinOutcome, SimError> {
        self.with(|w| w.user_join_via_link(user, link))
    }

    pub fn user_leave(&self, user: i64, chat: i64) -> Result<(), SimError> {
        self.with(|w| w.user_leave(user, chat))
    }

    /// The user deletes their own message `msg_id` in a group (e.g. their comment in a
    /// discussion group). Supergroups: `updateDeleteChannelMessages` (channel pts) when the bot
    /// can see the group (admin, or a member with privacy mode off). Basic groups: `msg_id` is
    /// the id in the bot's box; `updateDeleteMessages` (common pts) if the bot received it.
    pub fn user_delete_message(&self, user: i64, chat: i64, msg_id: i32) -> Result<(), SimError> {
        self.with(|w| w.user_delete_message(user, chat, msg_id))
    }

    pub fn user_react(
        &self,
        user: i64,
        chat: i64,
        msg_id: i32,
        emoji: &str,
    ) -> Result<(), SimError> {
        self.with(|w| w.user_react(user, chat, msg_id, Some(emoji)))
    }

    pub fn user_unreact(&self, user: i64, chat: i64, msg_id: i32) -> Result<(), SimError> {
        self.with(|w| w.user_react(user, chat, msg_id, None))
    }

    pub fn user_comment(
        &self,
        user: i64,
        channel: i64,
        post_id: i32,
        text: &str,
    ) -> Result<i32, SimError> {
        self.with(|w| w.user_comment(user, channel, post_id, text))
    }

    /// Votes in a poll: `chat` None = the private chat with the bot.
    pub fn user_vote(
        &self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        options: &[usize],
    ) -> Result<(), SimError> {
        self.with(|w| w.user_vote(user, chat, msg_id, options))
    }

    /// Starts paying the bot's invoice `msg_id`; returns a payment id for [`Sim::payment_outcome`].
    pub fn user_pay_invoice(&self, user: i64, msg_id: i32) -> Result<i64, SimError> {
        let id = self.with(|w| w.user_pay_invoice(user, msg_id))?;
        let timeout = self.world().cfg.precheckout_timeout;
        let shared = Arc::clone(&self.shared);
        self.rt.spawn(async move {
            tokio::time::sleep(timeout).await;
            shared.lock().expire_precheckout(id);
            shared.changed();
        });
        Ok(id)
    }

    /// Every payment `user` started, oldest first, with its outcome and refund state.
    pub fn payments_of(&self, user: i64) -> Vec<PaymentInfo> {
        let w = self.world();
        let mut out: Vec<PaymentInfo> = w
            .payments
            .iter()
            .filter(|(_, p)| p.user == user)
            .map(|(id, _)| payment_info(&w, *id))
            .collect();
        out.sort_by_key(|p| p.payment_id);
        out
    }

    /// One payment by id.
    pub fn payment(&self, payment_id: i64) -> Option<PaymentInfo> {
        let w = self.world();
        w.payments
            .contains_key(&payment_id)
            .then(|| payment_info(&w, payment_id))
    }

    pub fn payment_outcome(&self, payment_id: i64) -> Option<PaymentOutcome> {
        self.world().payments.get(&payment_id)?.outcome.clone()
    }

    /// Blocks until the payment is decided or `timeout` passes.
    pub fn wait_payment(&self, payment_id: i64, timeout: Duration) -> Option<PaymentOutcome> {
        let mut out = None;
        self.wait_world(timeout, |w| {
            out = w.payments.get(&payment_id).and_then(|p| p.outcome.clone());
            out.is_some()
        });
        out
    }

    /// Async version of [`Sim::wait_payment`], for use inside a tokio runtime.
    pub async fn wait_payment_async(
        &self,
        payment_id: i64,
        timeout: Duration,
    ) -> Option<PaymentOutcome> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.version.subscribe();
        loop {
            if let Some(o) = self.payment_outcome(payment_id) {
                return Some(o);
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return self.payment_outcome(payment_id);
            }
        }
    }

    pub fn user_buy_paid_media(&self, user: i64, msg_id: i32) -> Result<(), SimError> {
        self.with(|w| w.user_buy_paid_media(user, msg_id))
    }

    pub fn user_boost(&self, user: i64, chat: i64) -> Result<(), SimError> {
        self.with(|w| w.user_boost(user, chat))
    }

    pub fn user_block_bot(&self, user: i64) -> Result<(), SimError> {
        self.with(|w| w.user_block_bot(user, true))
    }

    pub fn user_unblock_bot(&self, user: i64) -> Result<(), SimError> {
        self.with(|w| w.user_block_bot(user, false))
    }

    pub fn set_premium(&self, user: i64, premium: bool) -> Result<(), SimError> {
        self.with(|w| w.set_premium(user, premium))
    }

    /// Whether `user` is currently a member of `chat`.
    pub fn is_member(&self, chat: i64, user: i64) -> bool {
        self.world().is_member(chat, user)
    }

    // ----- fault injection -------------------------------------------------------------------

    /// The id, in the linked discussion group, of a channel post's automatic forward (where
    /// its comments and public reactions live, https://core.telegram.org/api/discussion).
    pub fn discussion_copy(&self, channel: i64, post: i32) -> Option<i32> {
        self.world()
            .chats
            .get(&channel)?
            .msgs
            .get(&post)?
            .discussion_copy
    }

    /// The next `times` calls of `method` (e.g. `"channels.getParticipant"`) are answered with
    /// `rpc_error{code, message}` instead of running: e.g. `(420, "FLOOD_WAIT_2")`, which
    /// Telegram sends when a method is called too often (https://core.telegram.org/api/errors).
    pub fn inject_error(&self, method: &str, code: i32, message: &str, times: u32) {
        self.world()
            .injected_errors
            .push((method.to_string(), code, message.to_string(), times));
    }

    /// The next push to the bot is logged but not sent (the client must recover the gap).
    pub fn drop_next_push(&self) {
        self.world().drop_next_push = true;
    }

    /// Closes every client connection; clients reconnect and catch up with getDifference.
    pub fn kick_connections(&self) {
        let _ = self.shared.kick.send(());
    }

    pub fn connection_count(&self) -> usize {
        self.world().conns.len()
    }

    /// Bot state as the server sees it: (pts, qts, seq).
    pub fn bot_update_state(&self) -> (i32, i32, i32) {
        let w = self.world();
        let a = &w.accounts[&w.bot()];
        (a.pts, a.qts, a.seq)
    }

    // ----- observations ----------------------------------------------------------------------

    pub fn observations(&self) -> Observations {
        self.world().obs.clone()
    }

    pub fn sent_to(&self, user: i64) -> Vec<ObservedMessage> {
        self.world().obs.sent_to(user)
    }

    pub fn callback_answers(&self) -> Vec<CallbackAnswer> {
        self.world().obs.callback_answers.clone()
    }

    pub fn precheckout_answers(&self) -> Vec<PrecheckoutAnswer> {
        self.world().obs.precheckout_answers.clone()
    }

    pub fn invite_links(&self) -> Vec<ObservedInvite> {
        self.world().obs.invite_links.clone()
    }

    pub fn join_request_decisions(&self) -> Vec<JoinRequestDecision> {
        self.world().obs.join_request_decisions.clone()
    }

    pub fn deleted_messages(&self) -> Vec<(PeerKey, i32)> {
        self.world().obs.deleted_messages.clone()
    }

    fn wait_world(&self, timeout: Duration, mut pred: impl FnMut(&World) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut w = self.world();
        loop {
            if pred(&w) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            w = match self.shared.cond.wait_timeout(w, left) {
                Ok((g, _)) => g,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
    }

    /// Blocks the calling thread until `pred` holds on the observations or `timeout` passes.
    /// Do not call it on a current-thread runtime that also drives the client; use
    /// [`Sim::wait_for_async`] there.
    pub fn wait_for(&self, mut pred: impl FnMut(&Observations) -> bool, timeout: Duration) -> bool {
        self.wait_world(timeout, |w| pred(&w.obs))
    }

    /// Waits (asynchronously) until `pred` holds on the observations or `timeout` passes.
    pub async fn wait_for_async(
        &self,
        mut pred: impl FnMut(&Observations) -> bool,
        timeout: Duration,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut rx = self.shared.version.subscribe();
        loop {
            if pred(&self.world().obs) {
                return true;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                return pred(&self.world().obs);
            }
        }
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        self.stop_now();
    }
}

fn payment_info(w: &World, id: i64) -> PaymentInfo {
    let p = &w.payments[&id];
    let refunded = match &p.outcome {
        Some(PaymentOutcome::Paid { charge_id }) => w
            .stars
            .iter()
            .any(|t| t.refund && t.id == format!("{charge_id}refund")),
        _ => false,
    };
    PaymentInfo {
        payment_id: id,
        user: p.user,
        msg_id: p.msg_id,
        title: p.invoice.title.clone(),
        currency: p.invoice.currency.clone(),
        amount: p.invoice.amount,
        payload: String::from_utf8_lossy(&p.invoice.payload).into_owned(),
        payload_b64: obs::b64(&p.invoice.payload),
        outcome: p.outcome.clone(),
        refunded,
    }
}

/// Points a grammers session at the simulator: home DC 2 with `addr` and the auth key, so the
/// client skips key generation (simulator.md, "The key idea").
pub async fn seed_session<S: grammers_session::Session>(
    session: &S,
    addr: SocketAddr,
    key: &[u8; 256],
) {
    use std::net::{Ipv4Addr, SocketAddrV4, SocketAddrV6};
    let v4 = match addr {
        SocketAddr::V4(a) => a,
        SocketAddr::V6(a) => SocketAddrV4::new(Ipv4Addr::LOCALHOST, a.port()),
    };
    let opt = grammers_session::types::DcOption {
        id: DC_ID,
        ipv4: v4,
        ipv6: SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0),
        auth_key: Some(*key),
    };
    let _ = session.set_dc_option(&opt).await;
    let _ = session.set_home_dc_id(DC_ID).await;
}
