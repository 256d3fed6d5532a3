//! The simulated world (users, chats, messages, invites, payments) and its update engine.
//!
//! One `World` sits behind one mutex (simulator.md §3, "keep a single global lock"): an action
//! or an RPC assigns pts/qts/seq, logs the update for getDifference and enqueues the push in the
//! same critical section, so every connection sees updates in pts order.
//!
//! Update boxes follow simulator.md §3 and <https://core.telegram.org/api/updates>:
//! * common pts: private and basic-group messages, edits, deletions (the bot's own included);
//! * qts: participant changes, reactions, join requests, bot stopped, boosts, paid media, votes;
//! * per-channel pts: channel and supergroup messages;
//! * no box: callback queries and pre-checkout queries (they cannot be recovered by
//!   getDifference, as in Telegram: telegram.md §1.6 "no qts → not recoverable").

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use grammers_tl_types::{self as tl, Serializable};
use tokio::sync::mpsc::UnboundedSender;

use crate::crypto::AuthKey;
use crate::obs::{
    Button, ButtonKind, JoinRequestDecision, Observations, ObservedInvite, ObservedMedia,
    ObservedMessage, PeerKey,
};
use crate::tlb;
use crate::{AdminRights, ChatSpec, JoinOutcome, PaymentOutcome, SimConfig, SimError, UserSpec};

pub type SimResult<T> = Result<T, SimError>;

/// Something the writer half of a connection sends to its client.
#[derive(Debug)]
pub enum Outgoing {
    /// An `Updates` push (content-related, not an rpc_result).
    Push(Vec<u8>),
    /// `rpc_result{req_msg_id, result}`; `result` is a boxed object or an `rpc_error`.
    Result { req_msg_id: i64, body: Vec<u8> },
    /// A bare service message (pong, future_salts).
    Service(Vec<u8>),
}

/// How long ago a member added with [`World::add_member`] ("from before the test started")
/// joined: one day.
pub const PRE_EXISTING_MEMBER_AGE: i32 = 86_400;

pub fn now() -> i32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i32)
        .unwrap_or(0)
}

/// A deterministic, non-zero access hash per peer id (per-account hashes are not modelled).
pub fn access_hash(id: i64) -> i64 {
    ((id as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5A5A_5A5A) as i64 | 1
}

pub fn peer_tl(p: PeerKey) -> tl::enums::Peer {
    match p {
        PeerKey::User(user_id) => tl::types::PeerUser { user_id }.into(),
        PeerKey::Chat(chat_id) => tl::types::PeerChat { chat_id }.into(),
        PeerKey::Channel(channel_id) => tl::types::PeerChannel { channel_id }.into(),
    }
}

#[derive(Clone, Debug)]
pub struct UserRec {
    pub id: i64,
    pub spec: UserSpec,
    pub is_bot: bool,
    pub phone: Option<String>,
    pub password: Option<String>,
    /// The user blocked the bot (`updateBotStopped{stopped: true}`).
    pub blocked_bot: bool,
    /// The user has a private chat with the bot (wrote to it at least once).
    pub started_bot: bool,
    /// Until when the bot may message the user because of a join request (telegram.md §1.1:
    /// "Bot may DM the requester for 5 min even if he never started the bot" \[S30]).
    pub dm_window_until: i32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatKind {
    Channel,
    Supergroup,
    Basic,
}

#[derive(Clone, Debug)]
pub struct Member {
    pub date: i32,
    pub admin: Option<AdminRights>,
    pub invite: Option<String>,
}

/// A message with the bits of state the simulator needs besides its TL form.
#[derive(Clone, Debug)]
pub struct Msg {
    pub tl: tl::enums::Message,
    /// user id -> emoji
    pub reactions: BTreeMap<i64, String>,
    pub invoice: Option<InvoiceInfo>,
    pub poll: Option<PollInfo>,
    pub paid_media: Option<(i64, Option<String>)>,
    /// For a channel post: the id of its automatic forward in the linked discussion group.
    pub discussion_copy: Option<i32>,
    /// Sent by the bot.
    pub by_bot: bool,
}

impl Msg {
    pub fn new(tl: tl::enums::Message) -> Self {
        Self {
            tl,
            reactions: BTreeMap::new(),
            invoice: None,
            poll: None,
            paid_media: None,
            discussion_copy: None,
            by_bot: false,
        }
    }
}

#[derive(Clone, Debug)]
pub struct InvoiceInfo {
    pub currency: String,
    pub amount: i64,
    pub payload: Vec<u8>,
    pub title: String,
}

#[derive(Clone, Debug)]
pub struct PollInfo {
    pub id: i64,
    pub options: Vec<Vec<u8>>,
    pub public_voters: bool,
    pub votes: BTreeMap<i64, Vec<usize>>,
}

#[derive(Clone, Debug)]
pub struct ChatRec {
    pub id: i64,
    pub kind: ChatKind,
    pub spec: ChatSpec,
    pub date: i32,
    pub creator: Option<i64>,
    pub members: BTreeMap<i64, Member>,
    pub linked: Option<i64>,
    /// Channel pts as the bot sees it (channels and supergroups).
    pub pts: i32,
    pub log: Vec<LogEntry>,
    pub next_msg_id: i32,
    pub msgs: BTreeMap<i32, Msg>,
    /// Pending join requests: user -> link.
    pub join_requests: BTreeMap<i64, String>,
    pub boosts: Vec<tl::types::Boost>,
    pub admin_log: Vec<tl::types::ChannelAdminLogEvent>,
}

impl ChatRec {
    pub fn peer(&self) -> PeerKey {
        match self.kind {
            ChatKind::Basic => PeerKey::Chat(self.id),
            _ => PeerKey::Channel(self.id),
        }
    }
    pub fn is_channel_like(&self) -> bool {
        self.kind != ChatKind::Basic
    }
}

/// One logged update, with the peers it mentions (sent along so senders resolve).
#[derive(Clone, Debug)]
pub struct LogEntry {
    pub pts: i32,
    pub qts: i32,
    pub date: i32,
    pub update: tl::enums::Update,
    pub users: Vec<i64>,
    pub chats: Vec<i64>,
}

/// The update state of one account (the bot, or a user account that logged in).
#[derive(Debug, Default)]
pub struct Account {
    pub pts: i32,
    pub qts: i32,
    pub seq: i32,
    pub log: Vec<LogEntry>,
    pub next_msg_id: i32,
    /// Private-chat and basic-group messages, by the account's own message ids.
    pub msgs: BTreeMap<i32, Msg>,
}

#[derive(Clone, Debug)]
pub struct InviteRec {
    pub chat: i64,
    pub link: String,
    /// The part after `t.me/+` (or `t.me/joinchat/`), what `messages.checkChatInvite` takes.
    pub hash: String,
    /// Who created it: the bot (`exportChatInvite`) or the chat's owner (control API).
    pub admin: i64,
    pub title: Option<String>,
    pub expire_date: Option<i32>,
    pub usage_limit: Option<i32>,
    pub request_needed: bool,
    pub revoked: bool,
    pub date: i32,
    /// Users currently in the chat thanks to this link (usage_limit counts simultaneous members,
    /// telegram.md §1.1 limitation (a)).
    pub joined: Vec<i64>,
    pub requested: Vec<i64>,
}

#[derive(Clone, Debug)]
pub struct PaymentRec {
    pub user: i64,
    pub msg_id: i32,
    pub query_id: i64,
    /// The invoice as it was when the user paid (the bot may delete the message meanwhile).
    pub invoice: InvoiceInfo,
    pub outcome: Option<PaymentOutcome>,
}

pub struct KeyState {
    pub key: AuthKey,
    pub account: Option<i64>,
}

pub struct Subscriber {
    pub conn_id: u64,
    pub tx: UnboundedSender<Outgoing>,
}

#[derive(Clone, Debug)]
pub struct StarsTx {
    pub id: String,
    pub user: i64,
    pub amount: i64,
    pub date: i32,
    pub payload: Vec<u8>,
    pub refund: bool,
}

#[derive(Clone, Debug)]
pub struct PendingCallback {
    pub user: i64,
    pub msg_id: i32,
}

pub struct World {
    pub cfg: SimConfig,
    pub keys: HashMap<[u8; 8], KeyState>,
    pub users: HashMap<i64, UserRec>,
    pub usernames: HashMap<String, PeerKey>,
    pub chats: HashMap<i64, ChatRec>,
    pub accounts: HashMap<i64, Account>,
    pub subscribers: HashMap<i64, Vec<Subscriber>>,
    /// Writer channels of live connections, by connection id.
    pub conns: HashMap<u64, UnboundedSender<Outgoing>>,
    pub invites: HashMap<String, InviteRec>,
    pub payments: HashMap<i64, PaymentRec>,
    pub precheckout: HashMap<i64, i64>,
    pub callbacks: HashMap<i64, PendingCallback>,
    pub stars: Vec<StarsTx>,
    pub obs: Observations,
    pub next_id: i64,
    pub next_query: i64,
    pub drop_next_push: bool,
    /// Errors to answer instead of running a method: (method name, code, message, times left).
    pub injected_errors: Vec<(String, i32, String, u32)>,
    pub pushes_dropped: u64,
    /// phone -> phone_code_hash of a pending `auth.sendCode`.
    pub login_codes: HashMap<String, String>,
    /// Auth keys whose sign-in waits for the 2FA password: key id -> user.
    pub password_needed: HashMap<[u8; 8], i64>,
    /// Users whose `User` object reached the bot in a push delivered to a live connection:
    /// with `SimConfig::short_messages_for_known_users`, their private messages are pushed as
    /// `updateShortMessage` (no user object), as Telegram does for peers the client knows.
    pub bot_known_users: HashSet<i64>,
    /// Files being uploaded: (account, file_id) -> parts.
    pub uploads: HashMap<(i64, i64), crate::files::Upload>,
    /// Photos and documents the bot sent, with their bytes.
    pub files: Vec<crate::files::SentFile>,
    /// SRP verifiers, computed on first use (PBKDF2 with 100,000 rounds is slow).
    pub verifiers: HashMap<i64, crate::srp::Verifier>,
    /// Outstanding `account.getPassword` challenges by auth key.
    pub srp_challenges: HashMap<[u8; 8], (i64, crate::srp::Challenge)>,
}

impl Account {
    /// pts and qts start at 1: grammers treats 0 as "no state" (`NO_PTS`) and would then skip
    /// the qts updates of a difference. seq starts at 0 so a client without saved state still
    /// accepts the first push (simulator.md §4.1).
    pub fn new() -> Self {
        Account {
            pts: 1,
            qts: 1,
            next_msg_id: 1,
            ..Default::default()
        }
    }
}

impl World {
    pub fn new(cfg: SimConfig, key: AuthKey) -> Self {
        let mut w = World {
            keys: HashMap::new(),
            users: HashMap::new(),
            usernames: HashMap::new(),
            chats: HashMap::new(),
            accounts: HashMap::new(),
            subscribers: HashMap::new(),
            conns: HashMap::new(),
            invites: HashMap::new(),
            payments: HashMap::new(),
            precheckout: HashMap::new(),
            callbacks: HashMap::new(),
            stars: Vec::new(),
            obs: Observations::default(),
            next_id: 1_000_000,
            next_query: 7_000_000_000,
            drop_next_push: false,
            injected_errors: Vec::new(),
            pushes_dropped: 0,
            login_codes: HashMap::new(),
            password_needed: HashMap::new(),
            verifiers: HashMap::new(),
            bot_known_users: HashSet::new(),
            srp_challenges: HashMap::new(),
            uploads: HashMap::new(),
            files: Vec::new(),
            cfg,
        };
        w.keys.insert(key.id, KeyState { key, account: None });
        let bot = UserRec {
            id: w.cfg.bot_id,
            spec: UserSpec::new(&w.cfg.bot_first_name).username(&w.cfg.bot_username),
            is_bot: true,
            phone: None,
            password: None,
            blocked_bot: false,
            started_bot: false,
            dm_window_until: 0,
        };
        w.usernames
            .insert(w.cfg.bot_username.to_lowercase(), PeerKey::User(bot.id));
        w.users.insert(bot.id, bot);
        w.accounts.insert(w.cfg.bot_id, Account::new());
        w
    }

    pub fn bot(&self) -> i64 {
        self.cfg.bot_id
    }

    fn alloc_id(&mut self) -> i64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn alloc_query(&mut self) -> i64 {
        self.next_query += 1;
        self.next_query
    }

    // ----- rendering -------------------------------------------------------------------------

    /// A `User` as `viewer` sees it.
    pub fn render_user(&self, id: i64, viewer: i64) -> Option<tl::enums::User> {
        let u = self.users.get(&id)?;
        let mut t = tlb::user(id);
        t.is_self = id == viewer;
        t.bot = u.is_bot;
        t.access_hash = Some(access_hash(id));
        t.first_name = Some(u.spec.first_name.clone());
        t.last_name = u.spec.last_name.clone();
        t.username = u.spec.username.clone();
        t.premium = u.spec.premium;
        // Bots see users' language (Bot API `User.language_code`).
        t.lang_code = u.spec.lang_code.clone();
        if u.is_bot {
            t.bot_info_version = Some(1);
            t.bot_nochats = false;
        }
        if t.is_self {
            t.phone = u.phone.clone();
        }
        Some(t.into())
    }

    /// A `Chat`/`Channel` as `viewer` sees it.
    pub fn render_chat(&self, id: i64, viewer: i64) -> Option<tl::enums::Chat> {
        let c = self.chats.get(&id)?;
        let member = c.members.get(&viewer);
        let count = c.members.len() as i32;
        Some(match c.kind {
            ChatKind::Basic => {
                let mut t = tlb::chat(id, &c.spec.title, count, c.date);
                t.creator = c.creator == Some(viewer);
                t.left = member.is_none();
                t.admin_rights = member.and_then(|m| m.admin.as_ref()).map(tlb::admin_rights);
                t.into()
            }
            _ => {
                let mut t = tlb::channel(id, &c.spec.title, c.date);
                t.broadcast = c.kind == ChatKind::Channel;
                t.megagroup = c.kind == ChatKind::Supergroup;
                t.access_hash = Some(access_hash(id));
                t.username = c.spec.username.clone();
                t.creator = c.creator == Some(viewer);
                t.left = member.is_none();
                t.has_link = c.linked.is_some();
                t.participants_count = Some(count);
                t.admin_rights = member.and_then(|m| m.admin.as_ref()).map(tlb::admin_rights);
                t.into()
            }
        })
    }

    /// Renders each distinct id once, in first-seen order.
    pub fn render_users(&self, ids: &[i64], viewer: i64) -> Vec<tl::enums::User> {
        let mut seen = std::collections::HashSet::new();
        ids.iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| self.render_user(*id, viewer))
            .collect()
    }

    pub fn render_chats(&self, ids: &[i64], viewer: i64) -> Vec<tl::enums::Chat> {
        let mut seen = std::collections::HashSet::new();
        ids.iter()
            .filter(|id| seen.insert(**id))
            .filter_map(|id| self.render_chat(*id, viewer))
            .collect()
    }

    // ----- lookups ---------------------------------------------------------------------------

    pub fn user(&self, id: i64) -> SimResult<&UserRec> {
        self.users
            .get(&id)
            .ok_or_else(|| SimError::new(format!("no user {id}")))
    }

    pub fn chat(&self, id: i64) -> SimResult<&ChatRec> {
        self.chats
            .get(&id)
            .ok_or_else(|| SimError::new(format!("no chat {id}")))
    }

    fn chat_mut(&mut self, id: i64) -> SimResult<&mut ChatRec> {
        self.chats
            .get_mut(&id)
            .ok_or_else(|| SimError::new(format!("no chat {id}")))
    }

    pub fn bot_admin_rights(&self, chat: i64) -> Option<AdminRights> {
        self.chats.get(&chat)?.members.get(&self.bot())?.admin
    }

    pub fn is_member(&self, chat: i64, user: i64) -> bool {
        self.chats
            .get(&chat)
            .is_some_and(|c| c.members.contains_key(&user))
    }

    // ----- update engine ---------------------------------------------------------------------

    /// Sends `bytes` to every live connection of `account`, unless a drop was requested.
    /// `users` are the ids whose `User` objects the push carries: once a push carrying a user
    /// reached at least one live connection of the bot, the user counts as known to the bot
    /// (see [`World::bot_known_users`]).
    fn send_push(&mut self, account: i64, bytes: Vec<u8>, users: &[i64]) {
        if account == self.bot() && self.drop_next_push {
            // Fault injection: the update is logged (getDifference returns it) but never sent.
            self.drop_next_push = false;
            self.pushes_dropped += 1;
            return;
        }
        let mut delivered = false;
        if let Some(subs) = self.subscribers.get_mut(&account) {
            subs.retain(|s| s.tx.send(Outgoing::Push(bytes.clone())).is_ok());
            delivered = !subs.is_empty();
        }
        if delivered && account == self.bot() {
            self.bot_known_users
                .extend(users.iter().copied().filter(|u| self.users.contains_key(u)));
        }
    }

    /// Builds `updates{...}` for `account` with the peers rendered for it.
    pub fn updates_for(
        &self,
        account: i64,
        updates: Vec<tl::enums::Update>,
        users: &[i64],
        chats: &[i64],
        seq: i32,
    ) -> tl::enums::Updates {
        tl::types::Updates {
            updates,
            users: self.render_users(users, account),
            chats: self.render_chats(chats, account),
            date: now(),
            seq,
        }
        .into()
    }

    /// Allocates `count` common pts for `account`; returns the new pts.
    pub fn next_pts(&mut self, account: i64, count: i32) -> i32 {
        let a = self.accounts.entry(account).or_default();
        a.pts += count;
        a.pts
    }

    pub fn next_qts(&mut self, account: i64) -> i32 {
        let a = self.accounts.entry(account).or_default();
        a.qts += 1;
        a.qts
    }

    /// Logs account-box updates (pts or qts already assigned) and pushes them as one batch with
    /// the next seq. Returns the batch (used when it is also an RPC answer).
    pub fn emit(
        &mut self,
        account: i64,
        entries: Vec<LogEntry>,
        extra: Vec<tl::enums::Update>,
        push: bool,
    ) -> tl::enums::Updates {
        let mut users = Vec::new();
        let mut chats = Vec::new();
        let mut ups = extra;
        for e in &entries {
            users.extend_from_slice(&e.users);
            chats.extend_from_slice(&e.chats);
            ups.push(e.update.clone());
        }
        let a = self.accounts.entry(account).or_default();
        a.seq += 1;
        let seq = a.seq;
        a.log.extend(entries);
        let batch = self.updates_for(account, ups, &users, &chats, seq);
        if push {
            self.send_push(account, batch.to_bytes(), &users);
        }
        batch
    }

    /// Pushes updates outside any box (callback and pre-checkout queries), seq = 0.
    pub fn emit_unboxed(
        &mut self,
        account: i64,
        update: tl::enums::Update,
        users: &[i64],
        chats: &[i64],
    ) {
        let batch = self.updates_for(account, vec![update], users, chats, 0);
        self.send_push(account, batch.to_bytes(), users);
    }

    /// A qts update for the bot.
    fn emit_qts(
        &mut self,
        make: impl FnOnce(i32) -> tl::enums::Update,
        users: Vec<i64>,
        chats: Vec<i64>,
    ) {
        let bot = self.bot();
        let qts = self.next_qts(bot);
        let e = LogEntry {
            pts: 0,
            qts,
            date: now(),
            update: make(qts),
            users,
            chats,
        };
        self.emit(bot, vec![e], vec![], true);
    }

    /// A channel-pts update. Only updates the bot can see are given a pts and pushed: the channel
    /// pts is kept as the bot sees it, so invisible messages cause no spurious gaps. (How real
    /// Telegram numbers channel pts for a privacy-mode bot was not observed.) Channel-only batches
    /// carry seq = 0 so a lost common batch cannot block them (simulator.md §3).
    pub fn emit_channel(
        &mut self,
        chat: i64,
        make: impl FnOnce(i32) -> tl::enums::Update,
        users: Vec<i64>,
        visible: bool,
    ) -> Option<tl::enums::Updates> {
        if !visible {
            return None;
        }
        let bot = self.bot();
        let c = self.chats.get_mut(&chat)?;
        c.pts += 1;
        let pts = c.pts;
        let update = make(pts);
        let mut chats = vec![chat];
        if let Some(l) = c.linked {
            chats.push(l);
        }
        c.log.push(LogEntry {
            pts,
            qts: 0,
            date: now(),
            update: update.clone(),
            users: users.clone(),
            chats: chats.clone(),
        });
        let batch = self.updates_for(bot, vec![update], &users, &chats, 0);
        self.send_push(bot, batch.to_bytes(), &users);
        Some(batch)
    }

    // ----- world building --------------------------------------------------------------------

    pub fn add_user(&mut self, spec: UserSpec) -> SimResult<i64> {
        let id = self.alloc_id();
        if let Some(u) = &spec.username {
            let key = u.to_lowercase();
            if self.usernames.contains_key(&key) {
                return Err(SimError::new(format!("username {u} taken")));
            }
            self.usernames.insert(key, PeerKey::User(id));
        }
        self.users.insert(
            id,
            UserRec {
                id,
                spec,
                is_bot: false,
                phone: None,
                password: None,
                blocked_bot: false,
                started_bot: false,
                dm_window_until: 0,
            },
        );
        Ok(id)
    }

    pub fn add_owner_account(
        &mut self,
        spec: UserSpec,
        phone: &str,
        password: Option<&str>,
    ) -> SimResult<i64> {
        let id = self.add_user(spec)?;
        let u = self.users.get_mut(&id).unwrap();
        u.phone = Some(phone.to_string());
        u.password = password.map(str::to_string);
        self.accounts.insert(id, Account::new());
        Ok(id)
    }

    pub fn add_chat(&mut self, kind: ChatKind, spec: ChatSpec) -> SimResult<i64> {
        let id = self.alloc_id();
        if let Some(u) = &spec.username {
            if kind == ChatKind::Basic {
                return Err(SimError::new("basic groups cannot have a username"));
            }
            let key = u.to_lowercase();
            if self.usernames.contains_key(&key) {
                return Err(SimError::new(format!("username {u} taken")));
            }
            self.usernames.insert(key, PeerKey::Channel(id));
        }
        self.chats.insert(
            id,
            ChatRec {
                id,
                kind,
                spec,
                date: now(),
                creator: None,
                members: BTreeMap::new(),
                linked: None,
                pts: 1,
                log: Vec::new(),
                next_msg_id: 1,
                msgs: BTreeMap::new(),
                join_requests: BTreeMap::new(),
                boosts: Vec::new(),
                admin_log: Vec::new(),
            },
        );
        Ok(id)
    }

    pub fn link_discussion(&mut self, channel: i64, group: i64) -> SimResult<()> {
        if self.chat(channel)?.kind != ChatKind::Channel
            || self.chat(group)?.kind != ChatKind::Supergroup
        {
            return Err(SimError::new(
                "a discussion link joins a broadcast channel to a supergroup",
            ));
        }
        self.chat_mut(channel)?.linked = Some(group);
        self.chat_mut(group)?.linked = Some(channel);
        Ok(())
    }

    /// Makes `user` a member (an admin with `admin`) without any update. A new member's join
    /// date is `date`; an existing member keeps theirs.
    pub fn set_member_at(
        &mut self,
        chat: i64,
        user: i64,
        admin: Option<AdminRights>,
        date: i32,
    ) -> SimResult<()> {
        self.user(user)?;
        let c = self.chat_mut(chat)?;
        let m = c.members.entry(user).or_insert(Member {
            date,
            admin: None,
            invite: None,
        });
        m.admin = admin;
        Ok(())
    }

    /// [`World::set_member_at`] with a join date of now.
    pub fn set_member(
        &mut self,
        chat: i64,
        user: i64,
        admin: Option<AdminRights>,
    ) -> SimResult<()> {
        self.set_member_at(chat, user, admin, now())
    }

    /// A member from before the test started: joined [`PRE_EXISTING_MEMBER_AGE`] seconds ago, so
    /// a daemon comparing `channelParticipant.date` with a click time sees an old member
    /// (telegram.md §1.1: "`channelParticipant.date` = join date → compare with click time").
    pub fn add_member(&mut self, chat: i64, user: i64) -> SimResult<()> {
        self.set_member_at(chat, user, None, now() - PRE_EXISTING_MEMBER_AGE)
    }

    pub fn remove_member(&mut self, chat: i64, user: i64) -> SimResult<()> {
        self.chat_mut(chat)?.members.remove(&user);
        Ok(())
    }

    pub fn set_chat_owner(&mut self, chat: i64, user: i64) -> SimResult<()> {
        // The owner created the chat, so was there before the test started as well.
        self.set_member_at(
            chat,
            user,
            Some(AdminRights::all()),
            now() - PRE_EXISTING_MEMBER_AGE,
        )?;
        self.chat_mut(chat)?.creator = Some(user);
        Ok(())
    }

    /// The bot's participant object as the bot sees it (`channelParticipantSelf` /
    /// `channelParticipantAdmin{self}`).
    pub fn bot_channel_participant(&self, m: &Member, actor: i64) -> tl::enums::ChannelParticipant {
        let bot = self.bot();
        match &m.admin {
            Some(a) => tl::types::ChannelParticipantAdmin {
                can_edit: false,
                is_self: true,
                user_id: bot,
                inviter_id: Some(actor),
                promoted_by: actor,
                date: m.date,
                admin_rights: tlb::admin_rights(a),
                rank: None,
            }
            .into(),
            None => tl::types::ChannelParticipantSelf {
                via_request: false,
                user_id: bot,
                inviter_id: actor,
                date: m.date,
                subscription_until_date: None,
                rank: None,
            }
            .into(),
        }
    }

    fn bot_chat_participant(&self, m: &Member, actor: i64) -> tl::enums::ChatParticipant {
        let bot = self.bot();
        match m.admin {
            Some(_) => tl::types::ChatParticipantAdmin {
                user_id: bot,
                inviter_id: actor,
                date: m.date,
                rank: None,
            }
            .into(),
            None => tl::types::ChatParticipant {
                user_id: bot,
                inviter_id: actor,
                date: m.date,
                rank: None,
            }
            .into(),
        }
    }

    /// Adds, promotes, demotes or removes the bot (`new` = None removes it; `Some(None)` is a
    /// plain member, `Some(Some(rights))` an admin) and tells the bot, as Telegram does: the
    /// MTProto side of Bot API's `my_chat_member` ("The bot's chat member status was updated in a
    /// chat", <https://core.telegram.org/bots/api#update>) is `updateChannelParticipant` with
    /// `user_id` = the bot for channels and supergroups
    /// (<https://core.telegram.org/constructor/updateChannelParticipant>, telegram.md §1.1 \[S3])
    /// and `updateChatParticipant` for basic groups
    /// (<https://core.telegram.org/constructor/updateChatParticipant>, "can only be received by
    /// bots", telegram.md §1.1 \[S4]). Both are qts updates (simulator.md §3). The batch carries
    /// the chat in `chats[]` (with its access hash, rendered after the change), which is how a
    /// bot learns a private chat it was added to. No update when nothing changes.
    ///
    /// The actor is the chat's owner ([`World::set_chat_owner`]), or the bot itself when the chat
    /// has none. The "bot was added" service message of groups is not modelled.
    pub fn set_bot_membership(
        &mut self,
        chat: i64,
        new: Option<Option<AdminRights>>,
    ) -> SimResult<()> {
        let bot = self.bot();
        let c = self.chat(chat)?;
        let prev = c.members.get(&bot).cloned();
        if prev.as_ref().map(|m| m.admin) == new {
            return Ok(());
        }
        let actor = c.creator.unwrap_or(bot);
        let kind = c.kind;
        match new {
            Some(admin) => self.set_member(chat, bot, admin)?,
            None => self.remove_member(chat, bot)?,
        }
        let date = now();
        let cur = self.chat(chat)?.members.get(&bot).cloned();
        let users = if actor == bot {
            vec![bot]
        } else {
            vec![bot, actor]
        };
        if kind == ChatKind::Basic {
            let prev_p = prev.as_ref().map(|m| self.bot_chat_participant(m, actor));
            let new_p = cur.as_ref().map(|m| self.bot_chat_participant(m, actor));
            self.emit_qts(
                |qts| {
                    tl::types::UpdateChatParticipant {
                        chat_id: chat,
                        date,
                        actor_id: actor,
                        user_id: bot,
                        prev_participant: prev_p,
                        new_participant: new_p,
                        invite: None,
                        qts,
                    }
                    .into()
                },
                users,
                vec![chat],
            );
        } else {
            let prev_p = prev
                .as_ref()
                .map(|m| self.bot_channel_participant(m, actor));
            let new_p = cur.as_ref().map(|m| self.bot_channel_participant(m, actor));
            self.emit_qts(
                |qts| {
                    tl::types::UpdateChannelParticipant {
                        via_chatlist: false,
                        channel_id: chat,
                        date,
                        actor_id: actor,
                        user_id: bot,
                        prev_participant: prev_p,
                        new_participant: new_p,
                        invite: None,
                        qts,
                    }
                    .into()
                },
                users,
                vec![chat],
            );
        }
        Ok(())
    }

    /// Whether the bot receives an ordinary message in `chat`. Channels: the bot must be an
    /// admin (bots can only be channel members as admins). Groups: privacy mode
    /// (https://core.telegram.org/bots/features#privacy-mode, telegram.md §1.4) lets a member
    /// bot see only commands and replies to it, unless it is an admin.
    fn bot_sees_message(&self, chat: i64, text: &str, reply_to_bot: bool) -> bool {
        let Some(c) = self.chats.get(&chat) else {
            return false;
        };
        let Some(m) = c.members.get(&self.bot()) else {
            return false;
        };
        match c.kind {
            ChatKind::Channel => m.admin.is_some(),
            _ => {
                m.admin.is_some()
                    || !self.cfg.bot_privacy_mode
                    || text.starts_with('/')
                    || reply_to_bot
            }
        }
    }

    /// Stores a message in a channel or supergroup and emits `updateNewChannelMessage`.
    fn put_channel_message(&mut self, chat: i64, mut msg: Msg, users: Vec<i64>) -> SimResult<i32> {
        let reply_to_bot = match &msg.tl {
            tl::enums::Message::Message(m) => match &m.reply_to {
                Some(tl::enums::MessageReplyHeader::Header(h)) => h
                    .reply_to_msg_id
                    .and_then(|id| self.chats.get(&chat)?.msgs.get(&id))
                    .is_some_and(|m| m.by_bot),
                _ => false,
            },
            _ => false,
        };
        let text = match &msg.tl {
            tl::enums::Message::Message(m) => m.message.clone(),
            _ => String::new(),
        };
        let is_service = matches!(msg.tl, tl::enums::Message::Service(_));
        let visible = if is_service {
            // Service messages (joins) reach every member bot.
            self.is_member(chat, self.bot())
        } else {
            self.bot_sees_message(chat, &text, reply_to_bot)
        };
        let c = self.chat_mut(chat)?;
        let id = c.next_msg_id;
        c.next_msg_id += 1;
        set_msg_id(&mut msg.tl, id);
        c.msgs.insert(id, msg.clone());
        let m = msg.tl;
        self.emit_channel(
            chat,
            |pts| {
                tl::types::UpdateNewChannelMessage {
                    message: m,
                    pts,
                    pts_count: 1,
                }
                .into()
            },
            users,
            visible,
        );
        Ok(id)
    }

    /// Stores a message in the bot's private chat with `user` or in a basic group (common box)
    /// and pushes `updateNewMessage`.
    fn put_bot_message(&mut self, mut msg: Msg, users: Vec<i64>, chats: Vec<i64>) -> i32 {
        let bot = self.bot();
        let a = self.accounts.get_mut(&bot).unwrap();
        let id = a.next_msg_id;
        a.next_msg_id += 1;
        set_msg_id(&mut msg.tl, id);
        a.msgs.insert(id, msg.clone());
        let pts = self.next_pts(bot, 1);
        let e = LogEntry {
            pts,
            qts: 0,
            date: now(),
            update: tl::types::UpdateNewMessage {
                message: msg.tl,
                pts,
                pts_count: 1,
            }
            .into(),
            users,
            chats,
        };
        self.emit(bot, vec![e], vec![], true);
        id
    }

    pub fn post_to_channel(&mut self, channel: i64, text: &str) -> SimResult<i32> {
        let c = self.chat(channel)?;
        if c.kind != ChatKind::Channel {
            return Err(SimError::new("not a broadcast channel"));
        }
        let linked = c.linked;
        let mut m = tlb::message(0, PeerKey::Channel(channel).into_tl(), now(), text);
        m.post = true;
        m.views = Some(1);
        m.forwards = Some(0);
        if let Some(g) = linked {
            // Posts of a channel with a discussion group carry the comments counter
            // (messageReplies{comments, channel_id}, https://core.telegram.org/api/threads).
            m.replies = Some(
                tl::types::MessageReplies {
                    comments: true,
                    replies: 0,
                    replies_pts: 0,
                    recent_repliers: None,
                    channel_id: Some(g),
                    max_id: None,
                    read_max_id: None,
                }
                .into(),
            );
        }
        let post_id = self.put_channel_message(channel, Msg::new(m.into()), vec![])?;
        self.auto_forward(channel, post_id, text)?;
        Ok(post_id)
    }

    /// The automatic forward of a channel post into its linked discussion group, whose copy is
    /// the thread root for comments (<https://core.telegram.org/api/discussion>). Applies to the
    /// bot's own posts too.
    pub fn auto_forward(&mut self, channel: i64, post_id: i32, text: &str) -> SimResult<()> {
        let Some(g) = self.chat(channel)?.linked else {
            return Ok(());
        };
        let date = now();
        let mut f = tlb::message(0, PeerKey::Channel(g).into_tl(), date, text);
        f.from_id = Some(PeerKey::Channel(channel).into_tl());
        f.fwd_from = Some(
            tl::types::MessageFwdHeader {
                imported: false,
                saved_out: false,
                from_id: Some(PeerKey::Channel(channel).into_tl()),
                from_name: None,
                date,
                channel_post: Some(post_id),
                post_author: None,
                saved_from_peer: Some(PeerKey::Channel(channel).into_tl()),
                saved_from_msg_id: Some(post_id),
                saved_from_id: None,
                saved_from_name: None,
                saved_date: None,
                psa_type: None,
            }
            .into(),
        );
        let copy = self.put_channel_message(g, Msg::new(f.into()), vec![])?;
        if let Some(p) = self.chat_mut(channel)?.msgs.get_mut(&post_id) {
            p.discussion_copy = Some(copy);
        }
        Ok(())
    }

    pub fn send_group_message(
        &mut self,
        chat: i64,
        user: i64,
        text: &str,
        reply_to: Option<(i32, i32)>,
    ) -> SimResult<i32> {
        self.user(user)?;
        let c = self.chat(chat)?;
        if c.kind == ChatKind::Channel {
            return Err(SimError::new("users cannot post in a broadcast channel"));
        }
        if !c.members.contains_key(&user) {
            return Err(SimError::new("user is not a member of the group"));
        }
        let peer = c.peer();
        let mut m = tlb::message(0, peer.into_tl(), now(), text);
        m.from_id = Some(PeerKey::User(user).into_tl());
        if let Some((msg, top)) = reply_to {
            m.reply_to = Some(reply_header(msg, Some(top)));
        }
        if c.kind == ChatKind::Basic {
            let visible = self.bot_sees_message(chat, text, false);
            if !visible {
                // Not delivered to the bot; it has no id in the bot's box either.
                return Ok(0);
            }
            return Ok(self.put_bot_message(Msg::new(m.into()), vec![user], vec![chat]));
        }
        self.put_channel_message(chat, Msg::new(m.into()), vec![user])
    }

    // ----- user actions ----------------------------------------------------------------------

    fn private_message(&mut self, user: i64, text: &str) -> SimResult<i32> {
        self.users
            .get_mut(&user)
            .ok_or_else(|| SimError::new(format!("no user {user}")))?
            .started_bot = true;
        // The peer of an incoming private message is the other user (as the bot sees it).
        let mut m = tlb::message(0, PeerKey::User(user).into_tl(), now(), text);
        m.from_id = Some(PeerKey::User(user).into_tl());
        if self.cfg.short_messages_for_known_users && self.bot_known_users.contains(&user) {
            return Ok(self.put_short_message(user, m));
        }
        Ok(self.put_bot_message(Msg::new(m.into()), vec![user], vec![]))
    }

    /// An incoming private text message pushed as `updateShortMessage`: "Info about a message
    /// sent to (received from) another user" with only `user_id`, no `User` object
    /// (<https://core.telegram.org/constructor/updateShortMessage>). Telegram uses it when the
    /// client already knows the sender; a client that does not cannot resolve the sender
    /// (simulator.md §4.2). It carries pts but no seq (grammers' `adaptor.rs` turns it into
    /// `updateShort`, which skips the seq check), so seq is not advanced. The log keeps the full
    /// `updateNewMessage` with the user, so getDifference still returns the user object.
    fn put_short_message(&mut self, user: i64, m: tl::types::Message) -> i32 {
        let bot = self.bot();
        let a = self.accounts.get_mut(&bot).unwrap();
        let id = a.next_msg_id;
        a.next_msg_id += 1;
        let mut m = m;
        m.id = id;
        a.msgs.insert(id, Msg::new(m.clone().into()));
        let pts = self.next_pts(bot, 1);
        let short = tl::types::UpdateShortMessage {
            out: false,
            mentioned: false,
            media_unread: false,
            silent: false,
            id,
            user_id: user,
            message: m.message.clone(),
            pts,
            pts_count: 1,
            date: m.date,
            fwd_from: None,
            via_bot_id: None,
            reply_to: None,
            entities: m.entities.clone(),
            ttl_period: None,
        };
        self.accounts.get_mut(&bot).unwrap().log.push(LogEntry {
            pts,
            qts: 0,
            date: m.date,
            update: tl::types::UpdateNewMessage {
                message: m.into(),
                pts,
                pts_count: 1,
            }
            .into(),
            users: vec![user],
            chats: vec![],
        });
        self.send_push(bot, tl::enums::Updates::from(short).to_bytes(), &[]);
        id
    }

    /// The client sends `messages.startBot`, which Telegram turns into a "/start PAYLOAD"
    /// message (telegram.md §1.5). A user who had blocked the bot unblocks it first.
    pub fn user_start_bot(&mut self, user: i64, payload: Option<&str>) -> SimResult<i32> {
        if let Some(p) = payload {
            // Deep-link payloads are 1-64 chars of [A-Za-z0-9_-] (telegram.md §0.1, [S47]).
            if p.is_empty()
                || p.len() > 64
                || !p
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            {
                return Err(SimError::new("invalid start payload"));
            }
        }
        if self.user(user)?.blocked_bot {
            self.user_block_bot(user, false)?;
        }
        let text = match payload {
            Some(p) => format!("/start {p}"),
            None => "/start".to_string(),
        };
        self.private_message(user, &text)
    }

    pub fn user_send_text(&mut self, user: i64, text: &str) -> SimResult<i32> {
        if self.user(user)?.blocked_bot {
            return Err(SimError::new("user has blocked the bot"));
        }
        self.private_message(user, text)
    }

    /// `updateBotCallbackQuery` (<https://core.telegram.org/constructor/updateBotCallbackQuery>).
    /// The button must exist on the bot's message (stricter than needed: Telegram answers
    /// DATA_INVALID for unknown data).
    pub fn user_press_button(
        &mut self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        data: &[u8],
    ) -> SimResult<i64> {
        self.press(user, chat, msg_id, data, false)
    }

    /// A modified client sending callback data that is on no button of the
    /// message: Telegram passes it on ("a bad client can send arbitrary data in
    /// this field", Bot API, CallbackQuery.data), so bots must check it.
    pub fn user_press_forged(&mut self, user: i64, msg_id: i32, data: &[u8]) -> SimResult<i64> {
        self.press(user, None, msg_id, data, true)
    }

    fn press(
        &mut self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        data: &[u8],
        forged: bool,
    ) -> SimResult<i64> {
        self.user(user)?;
        let bot = self.bot();
        let (msg, peer) = match chat {
            None => (self.accounts[&bot].msgs.get(&msg_id), PeerKey::User(user)),
            Some(c) => {
                let ch = self.chat(c)?;
                let peer = ch.peer();
                let msgs = if ch.kind == ChatKind::Basic {
                    &self.accounts[&bot].msgs
                } else {
                    &ch.msgs
                };
                (msgs.get(&msg_id), peer)
            }
        };
        let msg = msg.ok_or_else(|| SimError::new(format!("no bot message {msg_id}")))?;
        let has_button = match &msg.tl {
            tl::enums::Message::Message(m) if m.peer_id == peer.into_tl() && msg.by_bot => {
                buttons_of(&m.reply_markup)
                    .iter()
                    .flatten()
                    .any(|b| b.kind == ButtonKind::Callback(data.to_vec()))
            }
            _ => false,
        };
        if !has_button && !forged {
            return Err(SimError::new("no such callback button on that message"));
        }
        let query_id = self.alloc_query();
        self.callbacks
            .insert(query_id, PendingCallback { user, msg_id });
        let u = tl::types::UpdateBotCallbackQuery {
            query_id,
            user_id: user,
            peer: peer.into_tl(),
            msg_id,
            chat_instance: peer.id() ^ 0x1234,
            data: Some(data.to_vec()),
            game_short_name: None,
        };
        let chats: Vec<i64> = chat.into_iter().collect();
        self.emit_unboxed(bot, u.into(), &[user], &chats);
        Ok(query_id)
    }

    /// The callback data of the button labelled `label` on the bot's message (current markup).
    pub fn callback_data_by_label(
        &self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        label: &str,
    ) -> SimResult<Vec<u8>> {
        let bot = self.bot();
        let msgs = match chat {
            Some(c) if self.chat(c)?.kind != ChatKind::Basic => &self.chat(c)?.msgs,
            _ => &self.accounts[&bot].msgs,
        };
        let msg = msgs
            .get(&msg_id)
            .ok_or_else(|| SimError::new(format!("no bot message {msg_id}")))?;
        let tl::enums::Message::Message(m) = &msg.tl else {
            return Err(SimError::new("not a message with buttons"));
        };
        if chat.is_none() && m.peer_id != PeerKey::User(user).into_tl() {
            return Err(SimError::new(format!(
                "message {msg_id} is not in this chat"
            )));
        }
        buttons_of(&m.reply_markup)
            .into_iter()
            .flatten()
            .find_map(|b| match b.kind {
                ButtonKind::Callback(d) if b.text == label => Some(d),
                _ => None,
            })
            .ok_or_else(|| SimError::new(format!("no callback button labelled {label:?}")))
    }

    /// `updateBotStopped` (qts): telegram.md §1.5.
    pub fn user_block_bot(&mut self, user: i64, stopped: bool) -> SimResult<()> {
        let u = self
            .users
            .get_mut(&user)
            .ok_or_else(|| SimError::new(format!("no user {user}")))?;
        if u.blocked_bot == stopped {
            return Ok(());
        }
        u.blocked_bot = stopped;
        self.emit_qts(
            |qts| {
                tl::types::UpdateBotStopped {
                    user_id: user,
                    date: now(),
                    stopped,
                    qts,
                }
                .into()
            },
            vec![user],
            vec![],
        );
        Ok(())
    }

    /// Premium changes send no update; the flag shows in the next `User` object
    /// (telegram.md §1.8, §1.10).
    pub fn set_premium(&mut self, user: i64, premium: bool) -> SimResult<()> {
        self.users
            .get_mut(&user)
            .ok_or_else(|| SimError::new(format!("no user {user}")))?
            .spec
            .premium = premium;
        Ok(())
    }

    /// A user joins (directly, by link, or approved request). telegram.md §1.1: the bot gets
    /// `updateChannelParticipant`/`updateChatParticipant` only as an admin; a member bot still
    /// sees the join service message in groups.
    fn do_join(
        &mut self,
        user: i64,
        chat: i64,
        invite: Option<String>,
        by_request: bool,
    ) -> SimResult<()> {
        self.user(user)?;
        if self.is_member(chat, user) {
            return Err(SimError::new("already a member"));
        }
        let bot = self.bot();
        let date = now();
        let invite_tl = invite.as_deref().and_then(|l| self.invite_tl(l));
        let c = self.chat_mut(chat)?;
        c.members.insert(
            user,
            Member {
                date,
                admin: None,
                invite: invite.clone(),
            },
        );
        let kind = c.kind;
        let peer = c.peer();
        let action = if by_request {
            tl::enums::MessageAction::ChatJoinedByRequest
        } else if invite.is_some() {
            tl::types::MessageActionChatJoinedByLink { inviter_id: bot }.into()
        } else {
            tl::types::MessageActionChatAddUser { users: vec![user] }.into()
        };
        c.admin_log.push(tl::types::ChannelAdminLogEvent {
            id: date as i64 * 1000 + c.admin_log.len() as i64,
            date,
            user_id: user,
            // Recent actions distinguish plain joins, joins by link and approved requests
            // (telegram.md §1.1, https://core.telegram.org/api/recent-actions).
            action: match (invite_tl.clone(), by_request) {
                (Some(invite), true) => {
                    tl::types::ChannelAdminLogEventActionParticipantJoinByRequest {
                        invite,
                        approved_by: bot,
                    }
                    .into()
                }
                (Some(invite), false) => {
                    tl::types::ChannelAdminLogEventActionParticipantJoinByInvite {
                        via_chatlist: false,
                        invite,
                    }
                    .into()
                }
                (None, _) => tl::enums::ChannelAdminLogEventAction::ParticipantJoin,
            },
        });
        if let Some(link) = &invite {
            if let Some(i) = self.invites.get_mut(link) {
                i.joined.push(user);
            }
            if let Some(o) = self.obs.invite_links.iter_mut().find(|o| &o.link == link) {
                o.usage += 1;
            }
        }
        let bot_admin = self.bot_admin_rights(chat).is_some();
        if bot_admin {
            let new = if kind == ChatKind::Basic {
                None
            } else {
                Some(
                    tl::types::ChannelParticipant {
                        user_id: user,
                        date,
                        subscription_until_date: None,
                        rank: None,
                    }
                    .into(),
                )
            };
            let inv = invite_tl.clone();
            if kind == ChatKind::Basic {
                self.emit_qts(
                    |qts| {
                        tl::types::UpdateChatParticipant {
                            chat_id: chat,
                            date,
                            actor_id: user,
                            user_id: user,
                            prev_participant: None,
                            new_participant: Some(
                                tl::types::ChatParticipant {
                                    user_id: user,
                                    inviter_id: user,
                                    date,
                                    rank: None,
                                }
                                .into(),
                            ),
                            invite: inv,
                            qts,
                        }
                        .into()
                    },
                    vec![user],
                    vec![chat],
                );
            } else {
                self.emit_qts(
                    |qts| {
                        tl::types::UpdateChannelParticipant {
                            via_chatlist: false,
                            channel_id: chat,
                            date,
                            actor_id: user,
                            user_id: user,
                            prev_participant: None,
                            new_participant: new,
                            invite: inv,
                            qts,
                        }
                        .into()
                    },
                    vec![user],
                    vec![chat],
                );
            }
        }
        // Groups show a join service message; broadcast channels do not.
        if kind != ChatKind::Channel {
            let mut s = tlb::message_service(0, peer.into_tl(), date, action);
            s.from_id = Some(PeerKey::User(user).into_tl());
            if kind == ChatKind::Basic {
                if self.is_member(chat, self.bot()) {
                    self.put_bot_message(Msg::new(s.into()), vec![user], vec![chat]);
                }
            } else {
                self.put_channel_message(chat, Msg::new(s.into()), vec![user])?;
            }
        }
        Ok(())
    }

    pub fn user_join(&mut self, user: i64, chat: i64) -> SimResult<()> {
        self.do_join(user, chat, None, false)
    }

    pub fn user_join_via_link(&mut self, user: i64, link: &str) -> SimResult<JoinOutcome> {
        self.user(user)?;
        let inv = self
            .invite_by_link(link)
            .cloned()
            .ok_or_else(|| SimError::new("INVITE_HASH_INVALID"))?;
        let link = inv.link.as_str();
        if inv.revoked || inv.expire_date.is_some_and(|d| d <= now()) {
            return Err(SimError::new("INVITE_HASH_EXPIRED"));
        }
        if self.is_member(inv.chat, user) {
            return Ok(JoinOutcome::AlreadyMember);
        }
        if inv.request_needed {
            // Join request: `updateBotChatInviteRequester` (bots only, telegram.md §1.1 [S5]),
            // delivered when the bot is an admin that can invite users.
            let chat = inv.chat;
            self.chat_mut(chat)?
                .join_requests
                .insert(user, link.to_string());
            if let Some(i) = self.invites.get_mut(link) {
                i.requested.push(user);
            }
            if let Some(u) = self.users.get_mut(&user) {
                u.dm_window_until = now() + 300;
            }
            let peer = self.chat(chat)?.peer();
            if self.bot_admin_rights(chat).is_some_and(|r| r.invite_users) {
                let invite = self.invite_tl(link).unwrap();
                self.emit_qts(
                    |qts| {
                        tl::types::UpdateBotChatInviteRequester {
                            peer: peer.into_tl(),
                            date: now(),
                            user_id: user,
                            about: String::new(),
                            invite,
                            qts,
                            query_id: None,
                        }
                        .into()
                    },
                    vec![user],
                    vec![chat],
                );
            }
            return Ok(JoinOutcome::Requested);
        }
        if let Some(limit) = inv.usage_limit {
            // usage_limit counts users currently in the chat through the link (telegram.md §1.1).
            let current = inv
                .joined
                .iter()
                .filter(|u| self.is_member(inv.chat, **u))
                .count() as i32;
            if current >= limit {
                return Err(SimError::new("USERS_TOO_MUCH"));
            }
        }
        self.do_join(user, inv.chat, Some(link.to_string()), false)?;
        Ok(JoinOutcome::Joined)
    }

    /// `messages.hideChatJoinRequest`: approve joins the user (the update carries the link).
    pub fn decide_join_request(&mut self, chat: i64, user: i64, approved: bool) -> SimResult<()> {
        let link = self
            .chat_mut(chat)?
            .join_requests
            .remove(&user)
            .ok_or_else(|| SimError::new("HIDE_REQUESTER_MISSING"))?;
        let peer = self.chat(chat)?.peer();
        self.obs.join_request_decisions.push(JoinRequestDecision {
            chat: peer,
            user_id: user,
            approved,
        });
        if approved {
            self.do_join(user, chat, Some(link), true)?;
        }
        Ok(())
    }

    pub fn user_leave(&mut self, user: i64, chat: i64) -> SimResult<()> {
        let date = now();
        let c = self.chat_mut(chat)?;
        let m = c
            .members
            .remove(&user)
            .ok_or_else(|| SimError::new("not a member"))?;
        let kind = c.kind;
        let peer = c.peer();
        c.admin_log.push(tl::types::ChannelAdminLogEvent {
            id: date as i64 * 1000 + c.admin_log.len() as i64,
            date,
            user_id: user,
            action: tl::enums::ChannelAdminLogEventAction::ParticipantLeave,
        });
        if self.bot_admin_rights(chat).is_some() {
            // Leaving = prev_participant set, new_participant absent (telegram.md §1.1 [S3]).
            if kind == ChatKind::Basic {
                self.emit_qts(
                    |qts| {
                        tl::types::UpdateChatParticipant {
                            chat_id: chat,
                            date,
                            actor_id: user,
                            user_id: user,
                            prev_participant: Some(
                                tl::types::ChatParticipant {
                                    user_id: user,
                                    inviter_id: user,
                                    date: m.date,
                                    rank: None,
                                }
                                .into(),
                            ),
                            new_participant: None,
                            invite: None,
                            qts,
                        }
                        .into()
                    },
                    vec![user],
                    vec![chat],
                );
            } else {
                self.emit_qts(
                    |qts| {
                        tl::types::UpdateChannelParticipant {
                            via_chatlist: false,
                            channel_id: chat,
                            date,
                            actor_id: user,
                            user_id: user,
                            prev_participant: Some(
                                tl::types::ChannelParticipant {
                                    user_id: user,
                                    date: m.date,
                                    subscription_until_date: None,
                                    rank: None,
                                }
                                .into(),
                            ),
                            new_participant: None,
                            invite: None,
                            qts,
                        }
                        .into()
                    },
                    vec![user],
                    vec![chat],
                );
            }
        }
        if kind != ChatKind::Channel {
            let mut s = tlb::message_service(
                0,
                peer.into_tl(),
                date,
                tl::types::MessageActionChatDeleteUser { user_id: user }.into(),
            );
            s.from_id = Some(PeerKey::User(user).into_tl());
            if kind == ChatKind::Basic {
                if self.is_member(chat, self.bot()) {
                    self.put_bot_message(Msg::new(s.into()), vec![user], vec![chat]);
                }
            } else {
                self.put_channel_message(chat, Msg::new(s.into()), vec![user])?;
            }
        }
        Ok(())
    }

    /// Whether the bot receives every message of `chat`: as an admin, or in a group as a member
    /// with privacy mode off (<https://core.telegram.org/bots/features#privacy-mode>,
    /// telegram.md §1.4 \[S46]).
    fn bot_sees_all_messages(&self, chat: i64) -> bool {
        let Some(c) = self.chats.get(&chat) else {
            return false;
        };
        c.members.get(&self.bot()).is_some_and(|m| {
            m.admin.is_some() || (c.kind != ChatKind::Channel && !self.cfg.bot_privacy_mode)
        })
    }

    /// A user deletes their own message in a group (e.g. their comment in a discussion group).
    /// Supergroups: `updateDeleteChannelMessages` ("Some messages in a supergroup/channel were
    /// deleted", <https://core.telegram.org/constructor/updateDeleteChannelMessages>; telegram.md
    /// §1.4: "Deletion: `updateDeleteChannelMessages`"), a per-channel pts update, sent when the
    /// bot sees the group's messages (admin, or privacy mode off). Basic groups: `msg_id` is
    /// the id in the bot's box and the bot gets `updateDeleteMessages` (common pts) if it
    /// received the message. A deleted comment no longer counts in the post's
    /// `messageReplies.replies`.
    pub fn user_delete_message(&mut self, user: i64, chat: i64, msg_id: i32) -> SimResult<()> {
        self.user(user)?;
        let c = self.chat(chat)?;
        let kind = c.kind;
        let linked = c.linked;
        let bot = self.bot();
        let msg = if kind == ChatKind::Basic {
            self.accounts[&bot]
                .msgs
                .get(&msg_id)
                .filter(|m| message_peer(&m.tl) == Some(PeerKey::Chat(chat)))
        } else {
            c.msgs.get(&msg_id)
        }
        .ok_or_else(|| SimError::new(format!("no message {msg_id} in chat {chat}")))?;
        if message_sender(&msg.tl) != Some(user) {
            // Only their own messages: deleting others' needs admin rights.
            return Err(SimError::new("MESSAGE_DELETE_FORBIDDEN"));
        }
        let top = match &msg.tl {
            tl::enums::Message::Message(m) => match &m.reply_to {
                Some(tl::enums::MessageReplyHeader::Header(h)) => {
                    h.reply_to_top_id.or(h.reply_to_msg_id)
                }
                _ => None,
            },
            _ => None,
        };
        if kind == ChatKind::Basic {
            self.accounts.get_mut(&bot).unwrap().msgs.remove(&msg_id);
            let pts = self.next_pts(bot, 1);
            let e = LogEntry {
                pts,
                qts: 0,
                date: now(),
                update: tl::types::UpdateDeleteMessages {
                    messages: vec![msg_id],
                    pts,
                    pts_count: 1,
                }
                .into(),
                users: vec![],
                chats: vec![chat],
            };
            self.emit(bot, vec![e], vec![], true);
            return Ok(());
        }
        self.chat_mut(chat)?.msgs.remove(&msg_id);
        if let (Some(channel), Some(top)) = (linked.filter(|_| kind == ChatKind::Supergroup), top) {
            let post = self.chats.get_mut(&channel).and_then(|ch| {
                ch.msgs
                    .values_mut()
                    .find(|p| p.discussion_copy == Some(top))
            });
            if let Some(tl::enums::Message::Message(p)) = post.map(|p| &mut p.tl) {
                if let Some(tl::enums::MessageReplies::Replies(r)) = &mut p.replies {
                    r.replies = (r.replies - 1).max(0);
                }
            }
        }
        let visible = self.bot_sees_all_messages(chat);
        self.emit_channel(
            chat,
            |pts| {
                tl::types::UpdateDeleteChannelMessages {
                    channel_id: chat,
                    messages: vec![msg_id],
                    pts,
                    pts_count: 1,
                }
                .into()
            },
            vec![],
            visible,
        );
        Ok(())
    }

    /// Reactions: groups give `updateBotMessageReaction` with the actor, channels only
    /// anonymous `updateBotMessageReactions` counts; both only where the bot is admin
    /// (telegram.md §1.3, \[S1]\[S39]\[S40]). Basic-group messages are addressed by the bot's ids.
    pub fn user_react(
        &mut self,
        user: i64,
        chat: i64,
        msg_id: i32,
        emoji: Option<&str>,
    ) -> SimResult<()> {
        self.user(user)?;
        let c = self.chat(chat)?;
        let kind = c.kind;
        let peer = c.peer();
        if kind != ChatKind::Channel && !c.members.contains_key(&user) {
            return Err(SimError::new("user is not a member of the group"));
        }
        let bot = self.bot();
        let msgs = if kind == ChatKind::Basic {
            &mut self.accounts.get_mut(&bot).unwrap().msgs
        } else {
            &mut self.chats.get_mut(&chat).unwrap().msgs
        };
        let msg = msgs
            .get_mut(&msg_id)
            .ok_or_else(|| SimError::new(format!("no message {msg_id}")))?;
        let old = msg.reactions.get(&user).cloned();
        match emoji {
            Some(e) => {
                msg.reactions.insert(user, e.to_string());
            }
            None => {
                msg.reactions.remove(&user);
            }
        }
        if old.as_deref() == emoji {
            return Ok(());
        }
        let mut counts: BTreeMap<String, i32> = BTreeMap::new();
        for e in msg.reactions.values() {
            *counts.entry(e.clone()).or_default() += 1;
        }
        if self.bot_admin_rights(chat).is_none() {
            return Ok(());
        }
        let reaction = |e: &str| -> tl::enums::Reaction {
            tl::types::ReactionEmoji {
                emoticon: e.to_string(),
            }
            .into()
        };
        let date = now();
        let chats = vec![chat];
        if kind == ChatKind::Channel {
            let reactions = counts
                .iter()
                .map(|(e, n)| {
                    tl::types::ReactionCount {
                        chosen_order: None,
                        reaction: reaction(e),
                        count: *n,
                    }
                    .into()
                })
                .collect();
            self.emit_qts(
                |qts| {
                    tl::types::UpdateBotMessageReactions {
                        peer: peer.into_tl(),
                        msg_id,
                        date,
                        reactions,
                        qts,
                    }
                    .into()
                },
                vec![],
                chats,
            );
        } else {
            self.emit_qts(
                |qts| {
                    tl::types::UpdateBotMessageReaction {
                        peer: peer.into_tl(),
                        msg_id,
                        date,
                        actor: PeerKey::User(user).into_tl(),
                        old_reactions: old.iter().map(|e| reaction(e)).collect(),
                        new_reactions: emoji.iter().map(|e| reaction(e)).collect(),
                        qts,
                    }
                    .into()
                },
                vec![user],
                chats,
            );
        }
        Ok(())
    }

    /// A comment is a message in the linked discussion group replying to the automatic forward
    /// of the post (telegram.md §1.4, <https://core.telegram.org/api/threads>).
    pub fn user_comment(
        &mut self,
        user: i64,
        channel: i64,
        post_id: i32,
        text: &str,
    ) -> SimResult<i32> {
        let c = self.chat(channel)?;
        let group = c
            .linked
            .ok_or_else(|| SimError::new("channel has no discussion group"))?;
        let copy = c
            .msgs
            .get(&post_id)
            .and_then(|m| m.discussion_copy)
            .ok_or_else(|| SimError::new("post has no discussion thread"))?;
        // Commenting does not require joining the group in Telegram's apps; the user is added
        // as a member silently here so later group actions work.
        if !self.is_member(group, user) {
            self.set_member(group, user, None)?;
        }
        let id = self.send_group_message(group, user, text, Some((copy, copy)))?;
        if let Some(tl::enums::Message::Message(m)) = self
            .chats
            .get_mut(&channel)
            .and_then(|c| c.msgs.get_mut(&post_id))
            .map(|m| &mut m.tl)
        {
            if let Some(tl::enums::MessageReplies::Replies(r)) = &mut m.replies {
                r.replies += 1;
                r.max_id = Some(id);
            }
        }
        Ok(id)
    }

    /// `updateMessagePollVote` only for non-anonymous polls the bot sent (telegram.md §1.9).
    /// It carries a qts in layer 230; grammers does not track it as qts, so the next qts update
    /// after a vote looks like a gap to grammers and is recovered by getDifference (as it would be
    /// against Telegram).
    pub fn user_vote(
        &mut self,
        user: i64,
        chat: Option<i64>,
        msg_id: i32,
        options: &[usize],
    ) -> SimResult<()> {
        self.user(user)?;
        let bot = self.bot();
        // Channel and supergroup messages live in the chat; private and basic-group ones in
        // the bot's own box.
        let msgs = match chat {
            Some(c) if self.chat(c)?.is_channel_like() => &mut self.chats.get_mut(&c).unwrap().msgs,
            _ => &mut self.accounts.get_mut(&bot).unwrap().msgs,
        };
        let msg = msgs
            .get_mut(&msg_id)
            .ok_or_else(|| SimError::new(format!("no message {msg_id}")))?;
        let by_bot = msg.by_bot;
        let poll = msg
            .poll
            .as_mut()
            .ok_or_else(|| SimError::new("not a poll"))?;
        if options.iter().any(|o| *o >= poll.options.len()) || options.is_empty() {
            return Err(SimError::new("invalid poll option"));
        }
        poll.votes.insert(user, options.to_vec());
        let (poll_id, chosen, public) = (
            poll.id,
            options
                .iter()
                .map(|o| poll.options[*o].clone())
                .collect::<Vec<_>>(),
            poll.public_voters,
        );
        if by_bot && public {
            self.emit_qts(
                |qts| {
                    tl::types::UpdateMessagePollVote {
                        poll_id,
                        peer: PeerKey::User(user).into_tl(),
                        options: chosen,
                        positions: options.iter().map(|o| *o as i32).collect(),
                        qts,
                    }
                    .into()
                },
                vec![user],
                vec![],
            );
        }
        Ok(())
    }

    /// Starts paying an invoice the bot sent to `user`: `updateBotPrecheckoutQuery` (no box,
    /// telegram.md §1.6). The outcome is decided by `messages.setBotPrecheckoutResults` or the
    /// deadline. Returns the payment id.
    pub fn user_pay_invoice(&mut self, user: i64, msg_id: i32) -> SimResult<i64> {
        self.user(user)?;
        let bot = self.bot();
        let msg = self.accounts[&bot]
            .msgs
            .get(&msg_id)
            .ok_or_else(|| SimError::new(format!("no bot message {msg_id}")))?;
        let inv = msg
            .invoice
            .clone()
            .ok_or_else(|| SimError::new("message is not an invoice"))?;
        if message_peer(&msg.tl) != Some(PeerKey::User(user)) {
            return Err(SimError::new(format!(
                "invoice {msg_id} was not sent to user {user}"
            )));
        }
        let query_id = self.alloc_query();
        let payment_id = query_id;
        self.payments.insert(
            payment_id,
            PaymentRec {
                user,
                msg_id,
                query_id,
                invoice: inv.clone(),
                outcome: None,
            },
        );
        self.precheckout.insert(query_id, payment_id);
        let u = tl::types::UpdateBotPrecheckoutQuery {
            query_id,
            user_id: user,
            payload: inv.payload,
            info: None,
            shipping_option_id: None,
            currency: inv.currency,
            total_amount: inv.amount,
        };
        self.emit_unboxed(bot, u.into(), &[user], &[]);
        Ok(payment_id)
    }

    /// The bot answered the pre-checkout query. On success the bot gets the service message
    /// `messageActionPaymentSentMe` with a charge id (telegram.md §1.6 \[S15]).
    pub fn answer_precheckout(
        &mut self,
        query_id: i64,
        ok: bool,
        error: Option<String>,
    ) -> Result<(), &'static str> {
        let payment_id = self
            .precheckout
            .remove(&query_id)
            .ok_or("QUERY_ID_INVALID")?;
        let p = self
            .payments
            .get(&payment_id)
            .cloned()
            .ok_or("QUERY_ID_INVALID")?;
        self.obs
            .precheckout_answers
            .push(crate::obs::PrecheckoutAnswer {
                query_id,
                user_id: p.user,
                ok,
                error: error.clone(),
            });
        if !ok {
            self.payments.get_mut(&payment_id).unwrap().outcome = Some(PaymentOutcome::Declined {
                error: error.unwrap_or_default(),
            });
            return Ok(());
        }
        let inv = p.invoice.clone();
        let charge_id = format!("stxsim{payment_id}");
        let date = now();
        self.stars.push(StarsTx {
            id: charge_id.clone(),
            user: p.user,
            amount: inv.amount,
            date,
            payload: inv.payload.clone(),
            refund: false,
        });
        let mut s = tlb::message_service(
            0,
            PeerKey::User(p.user).into_tl(),
            date,
            tl::types::MessageActionPaymentSentMe {
                recurring_init: false,
                recurring_used: false,
                currency: inv.currency,
                total_amount: inv.amount,
                payload: inv.payload,
                info: None,
                shipping_option_id: None,
                charge: tl::types::PaymentCharge {
                    id: charge_id.clone(),
                    provider_charge_id: charge_id.clone(),
                }
                .into(),
                subscription_until_date: None,
            }
            .into(),
        );
        s.from_id = Some(PeerKey::User(p.user).into_tl());
        self.put_bot_message(Msg::new(s.into()), vec![p.user], vec![]);
        self.payments.get_mut(&payment_id).unwrap().outcome =
            Some(PaymentOutcome::Paid { charge_id });
        Ok(())
    }

    /// No answer within the deadline: the payment fails (Bot API: ~10 s, telegram.md §1.6 \[S48]).
    pub fn expire_precheckout(&mut self, payment_id: i64) {
        if let Some(p) = self.payments.get_mut(&payment_id) {
            if p.outcome.is_none() {
                p.outcome = Some(PaymentOutcome::TimedOut);
                self.precheckout.remove(&p.query_id);
            }
        }
    }

    /// `updateBotPurchasedPaidMedia` only for paid media with a payload sent by the bot in a
    /// non-channel chat (telegram.md §1.7 \[S17]\[S18]).
    pub fn user_buy_paid_media(&mut self, user: i64, msg_id: i32) -> SimResult<()> {
        self.user(user)?;
        let bot = self.bot();
        let msg = self.accounts[&bot]
            .msgs
            .get(&msg_id)
            .ok_or_else(|| SimError::new(format!("no bot message {msg_id}")))?;
        let (stars, payload) = msg
            .paid_media
            .clone()
            .ok_or_else(|| SimError::new("message is not paid media"))?;
        self.stars.push(StarsTx {
            id: format!("stxmedia{}", self.next_query + 1),
            user,
            amount: stars,
            date: now(),
            payload: payload.clone().unwrap_or_default().into_bytes(),
            refund: false,
        });
        self.next_query += 1;
        if let Some(payload) = payload.filter(|p| !p.is_empty()) {
            self.emit_qts(
                |qts| {
                    tl::types::UpdateBotPurchasedPaidMedia {
                        user_id: user,
                        payload,
                        qts,
                    }
                    .into()
                },
                vec![user],
                vec![],
            );
        }
        Ok(())
    }

    /// `updateBotChatBoost` for admins (telegram.md §1.8 \[S23]). Boosting needs Premium.
    pub fn user_boost(&mut self, user: i64, chat: i64) -> SimResult<()> {
        if !self.user(user)?.spec.premium {
            return Err(SimError::new("PREMIUM_ACCOUNT_REQUIRED"));
        }
        let c = self.chat(chat)?;
        if !c.is_channel_like() {
            return Err(SimError::new(
                "only channels and supergroups can be boosted",
            ));
        }
        let peer = c.peer();
        let date = now();
        let mut b = tlb::boost(&format!("boost{}{}", chat, user), user, date);
        b.user_id = Some(user);
        self.chat_mut(chat)?.boosts.push(b.clone());
        if self.bot_admin_rights(chat).is_some() {
            self.emit_qts(
                |qts| {
                    tl::types::UpdateBotChatBoost {
                        peer: peer.into_tl(),
                        boost: b.into(),
                        qts,
                    }
                    .into()
                },
                vec![user],
                vec![chat],
            );
        }
        Ok(())
    }

    // ----- invites ---------------------------------------------------------------------------

    pub fn invite_tl(&self, link: &str) -> Option<tl::enums::ExportedChatInvite> {
        let i = self.invites.get(link)?;
        let mut t = tlb::invite(&i.link, i.admin, i.date);
        t.title = i.title.clone();
        t.expire_date = i.expire_date;
        t.usage_limit = i.usage_limit;
        t.request_needed = i.request_needed;
        t.revoked = i.revoked;
        let usage = i.joined.len() as i32;
        t.usage = (usage > 0).then_some(usage);
        let req = i.requested.len() as i32;
        t.requested = (req > 0).then_some(req);
        Some(t.into())
    }

    /// The invite a link or hash names: `https://t.me/+HASH`, `t.me/joinchat/HASH`, `+HASH`
    /// or the bare hash (<https://core.telegram.org/api/links#chat-invite-links>).
    pub fn invite_by_link(&self, link: &str) -> Option<&InviteRec> {
        if let Some(i) = self.invites.get(link) {
            return Some(i);
        }
        let hash = invite_hash(link);
        self.invites.values().find(|i| i.hash == hash)
    }

    /// A bot-exported invite (`messages.exportChatInvite`, observed) with a generated hash.
    pub fn create_invite(
        &mut self,
        chat: i64,
        title: Option<String>,
        expire_date: Option<i32>,
        usage_limit: Option<i32>,
        request_needed: bool,
    ) -> String {
        let bot = self.bot();
        let link = self
            .create_invite_as(
                chat,
                bot,
                None,
                title.clone(),
                expire_date,
                usage_limit,
                request_needed,
            )
            .expect("generated invite hashes are unique");
        let peer = self.chats[&chat].peer();
        self.obs.invite_links.push(ObservedInvite {
            chat: peer,
            link: link.clone(),
            title,
            expire_date,
            usage_limit,
            request_needed,
            revoked: false,
            usage: 0,
        });
        link
    }

    /// Creates an invite link for `chat` by `admin` with `hash` (generated when None), not
    /// recorded in the observations ([`World::create_invite`] records the bot's).
    #[allow(clippy::too_many_arguments)]
    pub fn create_invite_as(
        &mut self,
        chat: i64,
        admin: i64,
        hash: Option<String>,
        title: Option<String>,
        expire_date: Option<i32>,
        usage_limit: Option<i32>,
        request_needed: bool,
    ) -> SimResult<String> {
        self.chat(chat)?;
        let hash = match hash {
            Some(h) => {
                if h.is_empty()
                    || h.len() > 64
                    || !h
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                {
                    return Err(SimError::new(format!(
                        "invite hash {h:?}: 1-64 characters of [A-Za-z0-9_-]"
                    )));
                }
                if self.invites.values().any(|i| i.hash == h) {
                    return Err(SimError::new(format!("invite hash {h} exists")));
                }
                h
            }
            None => {
                let mut n = self.invites.len() + 1;
                while self
                    .invites
                    .values()
                    .any(|i| i.hash == format!("sim{chat}x{n}"))
                {
                    n += 1;
                }
                format!("sim{chat}x{n}")
            }
        };
        let link = format!("https://t.me/+{hash}");
        self.invites.insert(
            link.clone(),
            InviteRec {
                chat,
                link: link.clone(),
                hash,
                admin,
                title: title.clone(),
                expire_date,
                usage_limit,
                request_needed,
                revoked: false,
                date: now(),
                joined: Vec::new(),
                requested: Vec::new(),
            },
        );
        Ok(link)
    }

    // ----- bot output --------------------------------------------------------------------------

    /// Records what the bot sent (for observations) and stores it.
    pub fn observe_sent(&mut self, peer: PeerKey, msg: &Msg) {
        if let tl::enums::Message::Message(m) = &msg.tl {
            self.obs.messages.push(ObservedMessage {
                peer,
                msg_id: m.id,
                text: m.message.clone(),
                entities: m.entities.as_ref().map_or(0, Vec::len),
                buttons: buttons_of(&m.reply_markup),
                media: observed_media(msg),
                edits: 0,
                edited: false,
                deleted: false,
            });
        }
    }

    pub fn notify_observers_of_edit(&mut self, peer: PeerKey, m: &tl::types::Message, msg: &Msg) {
        let media = observed_media(msg);
        if let Some(o) = self.obs.message_mut(peer, m.id) {
            o.text = m.message.clone();
            o.entities = m.entities.as_ref().map_or(0, Vec::len);
            o.buttons = buttons_of(&m.reply_markup);
            o.media = media;
            o.edits += 1;
            o.edited = true;
        }
    }

    /// The bot's message stores: private/basic-group messages live in the bot's account.
    pub fn bot_msgs_mut(&mut self, peer: PeerKey) -> Option<&mut BTreeMap<i32, Msg>> {
        let bot = self.bot();
        match peer {
            PeerKey::Channel(c) => self.chats.get_mut(&c).map(|c| &mut c.msgs),
            _ => self.accounts.get_mut(&bot).map(|a| &mut a.msgs),
        }
    }

    /// Puts a message the bot sent into its box. For private chats and basic groups the common
    /// pts advances (the bot's own messages count, simulator.md §3); channels advance their pts.
    pub fn store_bot_message(&mut self, peer: PeerKey, mut msg: Msg) -> SimResult<(i32, i32)> {
        let bot = self.bot();
        msg.by_bot = true;
        match peer {
            PeerKey::Channel(c) => {
                let ch = self.chat_mut(c)?;
                let id = ch.next_msg_id;
                ch.next_msg_id += 1;
                set_msg_id(&mut msg.tl, id);
                ch.pts += 1;
                let pts = ch.pts;
                ch.msgs.insert(id, msg.clone());
                ch.log.push(LogEntry {
                    pts,
                    qts: 0,
                    date: now(),
                    update: tl::types::UpdateNewChannelMessage {
                        message: msg.tl.clone(),
                        pts,
                        pts_count: 1,
                    }
                    .into(),
                    users: vec![bot],
                    chats: vec![c],
                });
                self.observe_sent(peer, &msg);
                Ok((id, pts))
            }
            _ => {
                let a = self.accounts.get_mut(&bot).unwrap();
                let id = a.next_msg_id;
                a.next_msg_id += 1;
                set_msg_id(&mut msg.tl, id);
                a.msgs.insert(id, msg.clone());
                let pts = self.next_pts(bot, 1);
                let users = match peer {
                    PeerKey::User(u) => vec![u, bot],
                    _ => vec![bot],
                };
                let chats = match peer {
                    PeerKey::Chat(c) => vec![c],
                    _ => vec![],
                };
                self.accounts.get_mut(&bot).unwrap().log.push(LogEntry {
                    pts,
                    qts: 0,
                    date: now(),
                    update: tl::types::UpdateNewMessage {
                        message: msg.tl.clone(),
                        pts,
                        pts_count: 1,
                    }
                    .into(),
                    users,
                    chats,
                });
                self.observe_sent(peer, &msg);
                Ok((id, pts))
            }
        }
    }
}

/// The user who sent a message (`from_id` = a user), if any.
pub fn message_sender(m: &tl::enums::Message) -> Option<i64> {
    let from = match m {
        tl::enums::Message::Message(m) => m.from_id.as_ref(),
        tl::enums::Message::Service(m) => m.from_id.as_ref(),
        tl::enums::Message::Empty(_) => None,
    };
    match from {
        Some(tl::enums::Peer::User(u)) => Some(u.user_id),
        _ => None,
    }
}

/// The chat a message belongs to.
pub fn message_peer(m: &tl::enums::Message) -> Option<PeerKey> {
    let p = match m {
        tl::enums::Message::Message(m) => &m.peer_id,
        tl::enums::Message::Service(m) => &m.peer_id,
        tl::enums::Message::Empty(_) => return None,
    };
    Some(match p {
        tl::enums::Peer::User(u) => PeerKey::User(u.user_id),
        tl::enums::Peer::Chat(c) => PeerKey::Chat(c.chat_id),
        tl::enums::Peer::Channel(c) => PeerKey::Channel(c.channel_id),
    })
}

pub fn set_msg_id(m: &mut tl::enums::Message, id: i32) {
    match m {
        tl::enums::Message::Message(m) => m.id = id,
        tl::enums::Message::Service(m) => m.id = id,
        tl::enums::Message::Empty(m) => m.id = id,
    }
}

/// The hash of an invite link: what follows `t.me/+` or `t.me/joinchat/` (or the text itself).
pub fn invite_hash(link: &str) -> &str {
    let l = link.trim();
    let l = l
        .strip_prefix("https://")
        .or_else(|| l.strip_prefix("http://"))
        .unwrap_or(l);
    let l = l.strip_prefix("telegram.me/").unwrap_or(l);
    let l = l.strip_prefix("t.me/").unwrap_or(l);
    let l = l.strip_prefix("joinchat/").unwrap_or(l);
    let l = l.strip_prefix('+').unwrap_or(l);
    l.trim_end_matches('/')
}

pub fn reply_header(msg: i32, top: Option<i32>) -> tl::enums::MessageReplyHeader {
    let mut h: tl::types::MessageReplyHeader = tlb::blank(|b| 0u32.serialize(b));
    h.reply_to_msg_id = Some(msg);
    h.reply_to_top_id = top.filter(|t| *t != msg);
    h.into()
}

pub fn buttons_of(markup: &Option<tl::enums::ReplyMarkup>) -> Vec<Vec<Button>> {
    let Some(tl::enums::ReplyMarkup::ReplyInlineMarkup(m)) = markup else {
        return Vec::new();
    };
    m.rows
        .iter()
        .map(|tl::enums::KeyboardInlineButtonRow::Row(r)| {
            r.buttons
                .iter()
                .map(|tl::enums::KeyboardInlineButton::Button(b)| {
                    Button::new(
                        b.text.clone(),
                        match &b.r#type {
                            tl::enums::InlineButtonType::Callback(c) => {
                                ButtonKind::Callback(c.data.clone())
                            }
                            tl::enums::InlineButtonType::Url(u) => ButtonKind::Url(u.url.clone()),
                            other => ButtonKind::Other(
                                format!("{other:?}")
                                    .split('(')
                                    .next()
                                    .unwrap_or_default()
                                    .to_string(),
                            ),
                        },
                    )
                })
                .collect()
        })
        .collect()
}

fn observed_media(msg: &Msg) -> Option<ObservedMedia> {
    let tl::enums::Message::Message(m) = &msg.tl else {
        return None;
    };
    if let Some(inv) = &msg.invoice {
        let (title, description) = match &m.media {
            Some(tl::enums::MessageMedia::Invoice(i)) => (i.title.clone(), i.description.clone()),
            _ => (inv.title.clone(), String::new()),
        };
        return Some(ObservedMedia::Invoice {
            title,
            description,
            currency: inv.currency.clone(),
            amount: inv.amount,
            payload: inv.payload.clone(),
        });
    }
    if let Some(p) = &msg.paid_media {
        return Some(ObservedMedia::PaidMedia {
            stars: p.0,
            payload: p.1.clone(),
        });
    }
    match &m.media {
        Some(tl::enums::MessageMedia::Photo(tl::types::MessageMediaPhoto {
            photo: Some(tl::enums::Photo::Photo(p)),
            ..
        })) => {
            let (width, height, size) = match p.sizes.first() {
                Some(tl::enums::PhotoSize::Size(s)) => (s.w, s.h, s.size as i64),
                _ => (0, 0, 0),
            };
            Some(ObservedMedia::Photo {
                id: p.id,
                width,
                height,
                size,
            })
        }
        Some(tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
            document: Some(tl::enums::Document::Document(d)),
            ..
        })) => Some(ObservedMedia::Document {
            id: d.id,
            file_name: d
                .attributes
                .iter()
                .find_map(|a| match a {
                    tl::enums::DocumentAttribute::Filename(f) => Some(f.file_name.clone()),
                    _ => None,
                })
                .unwrap_or_default(),
            mime_type: d.mime_type.clone(),
            size: d.size,
        }),
        Some(tl::enums::MessageMedia::Poll(p)) => {
            let tl::enums::Poll::Poll(poll) = &p.poll;
            Some(ObservedMedia::Poll {
                question: text_of(&poll.question),
                options: poll
                    .answers
                    .iter()
                    .map(|a| match a {
                        tl::enums::PollAnswer::Answer(a) => text_of(&a.text),
                        tl::enums::PollAnswer::InputPollAnswer(a) => text_of(&a.text),
                    })
                    .collect(),
                anonymous: !poll.public_voters,
            })
        }
        Some(other) => Some(ObservedMedia::Other {
            name: format!("{other:?}")
                .split('(')
                .next()
                .unwrap_or_default()
                .to_string(),
        }),
        None => None,
    }
}

pub fn text_of(t: &tl::enums::TextWithEntities) -> String {
    let tl::enums::TextWithEntities::Entities(t) = t;
    t.text.clone()
}

impl PeerKey {
    pub fn into_tl(self) -> tl::enums::Peer {
        peer_tl(self)
    }
}
