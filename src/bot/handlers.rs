//! Update handlers: raw Telegram updates in, engine calls and replies out.
//!
//! Which update proves which action, and under which conditions Telegram sends
//! it, is documented in docs/LIMITATIONS.md (from telegram.md). A handler that
//! fails logs the error and returns; it never stops the update loop.

use std::sync::Arc;

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};
use grammers_client::peer::{Peer, PeerMap};
use grammers_client::update::Update;
use grammers_client::InvocationError;
use grammers_session::types::PeerId;
use grammers_session::Session as _;
use grammers_tl_types as tl;

use super::buttons::Button;
use super::texts::{self, Lang};
use super::{invoke, Shared};
use crate::domain::conversion::{decide_action, Decision, RejectReason};
use crate::domain::offer::{Action, ChatKind, ConversionStatus, Offer};
use crate::domain::token;
use crate::engine::{ActionOutcome, StartOutcome};
use crate::store::conversions::Conversion;
use crate::store::events::NewEvent;
use crate::store::leads::Lead;
use crate::store::users::TgUser;
use crate::store::{self, LeadId, OfferId};

/// Updates of one Telegram user are handled in order; this picks the user.
pub(crate) fn order_key(u: &Update) -> Option<i64> {
    use tl::enums::Update as U;
    match u {
        // Our own outgoing messages carry the self-user sentinel: nothing to order.
        Update::NewMessage(m) => m.sender_id().and_then(|p| p.bare_id()),
        Update::CallbackQuery(q) => q.sender_id().bare_id(),
        // Deletions carry no user: order them per channel (negative, apart from users).
        Update::MessageDeleted(d) => d.channel_id().map(|c| -c),
        Update::Raw(r) => match &r.raw {
            U::ChannelParticipant(x) => Some(x.user_id),
            U::ChatParticipant(x) => Some(x.user_id),
            U::BotChatInviteRequester(x) => Some(x.user_id),
            U::BotMessageReaction(x) => Some(PeerId::from(&x.actor).bare_id_unchecked()),
            U::MessagePollVote(x) => Some(PeerId::from(&x.peer).bare_id_unchecked()),
            U::BotPrecheckoutQuery(x) => Some(x.user_id),
            U::BotPurchasedPaidMedia(x) => Some(x.user_id),
            U::BotChatBoost(x) => match &x.boost {
                tl::enums::Boost::Boost(b) => b.user_id,
            },
            U::BotStopped(x) => Some(x.user_id),
            _ => None,
        },
        _ => None,
    }
}

pub(crate) async fn set_commands(sh: &Shared) {
    for (lang, start) in [("ru", "Начать"), ("", "Start")] {
        let req = tl::functions::bots::SetBotCommands {
            scope: tl::enums::BotCommandScope::Default,
            lang_code: lang.into(),
            commands: vec![tl::types::BotCommand {
                ephemeral: false,
                command: "start".into(),
                description: start.into(),
            }
            .into()],
        };
        if let Err(e) = invoke(&sh.client, &req).await {
            log::warn!("bot: could not set commands ({lang}): {e}");
        }
    }
}

pub(crate) async fn handle(sh: &Arc<Shared>, update: Update, peers: &PeerMap) {
    let r = match update {
        Update::NewMessage(m) if !m.outgoing() => on_message(sh, m.into_inner(), peers).await,
        Update::CallbackQuery(q) => on_callback(sh, q, peers).await,
        Update::MessageDeleted(d) => on_deleted(sh, d.channel_id(), d.messages()).await,
        Update::Raw(r) => on_raw(sh, r.raw, peers).await,
        _ => Ok(()),
    };
    if let Err(e) = r {
        log::error!("bot: handling an update failed: {e:#}");
    }
}

fn tg_user(u: &tl::enums::User) -> Option<TgUser> {
    match u {
        tl::enums::User::User(u) => Some(TgUser {
            id: u.id,
            // A "min" user's hash is only valid in the message context: don't keep it.
            access_hash: if u.min { None } else { u.access_hash },
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            lang: u.lang_code.clone(),
            is_premium: u.premium,
        }),
        _ => None,
    }
}

fn user_from_peers(peers: &PeerMap, id: i64) -> Option<TgUser> {
    match peers.get(PeerId::user(id)?)? {
        Peer::User(u) => tg_user(&u.raw),
        _ => None,
    }
}

/// A Telegram timestamp for the audit trail.
fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

fn now(sh: &Shared) -> i64 {
    sh.ctx.clock.now()
}

/// The user's language from what we stored about them.
fn lang_of(sh: &Shared, user: i64) -> Lang {
    let stored = sh
        .ctx
        .store
        .read(|c| store::users::get_user(c, user))
        .ok()
        .flatten();
    Lang::from_code(stored.as_ref().and_then(|u| u.lang.as_deref()))
}

/// Premium flag: the freshest we know (the update's user object, else stored).
fn premium_of(sh: &Shared, user: i64, peers: &PeerMap) -> bool {
    if let Some(u) = user_from_peers(peers, user) {
        // Every update re-announces its users; write only what changed, since
        // this runs on the hot path of every action.
        let stored = sh
            .ctx
            .store
            .read(|c| store::users::get_user(c, user))
            .ok()
            .flatten();
        let changed = stored.as_ref().is_none_or(|s| {
            s.is_premium != u.is_premium
                || (u.access_hash.is_some() && s.access_hash != u.access_hash)
                || (u.username.is_some() && s.username != u.username)
                || (u.lang.is_some() && s.lang != u.lang)
        });
        if changed {
            if let Err(e) = sh
                .ctx
                .store
                .write(|tx| store::users::upsert_user(tx, &u, now(sh)))
            {
                log::error!("bot: saving user {user}: {e}");
            }
        }
        return u.is_premium;
    }
    sh.ctx
        .store
        .read(|c| store::users::get_user(c, user))
        .ok()
        .flatten()
        .is_some_and(|u| u.is_premium)
}

/// The session's reference to a user (id and access hash), needed to address
/// them. Every user who wrote to the bot or acted in a chat it sees is cached.
async fn user_ref(sh: &Shared, user: i64) -> anyhow::Result<grammers_session::types::PeerRef> {
    let id = PeerId::user(user).ok_or_else(|| anyhow::anyhow!("{user} is not a user id"))?;
    sh.session
        .peer_ref(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user {user} is not in the session cache"))
}

async fn send(sh: &Shared, user: i64, msg: InputMessage) -> anyhow::Result<()> {
    let peer = user_ref(sh, user).await?;
    let mut tries = 0;
    loop {
        match sh.client.send_message(peer, msg.clone()).await {
            Ok(_) => return Ok(()),
            Err(InvocationError::Rpc(e)) if e.code == 420 && tries < 3 => {
                tokio::time::sleep(std::time::Duration::from_secs(
                    e.value.unwrap_or(1).min(600) as u64,
                ))
                .await;
                tries += 1;
            }
            Err(InvocationError::Rpc(e))
                if e.name == "USER_IS_BLOCKED" || e.name == "INPUT_USER_DEACTIVATED" =>
            {
                log::info!("bot: user {user} cannot receive messages ({})", e.name);
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        }
    }
}

async fn reply_text(sh: &Shared, user: i64, text: impl Into<String>) -> anyhow::Result<()> {
    send(sh, user, InputMessage::new().text(text.into())).await
}

fn record_event(
    sh: &Shared,
    key: String,
    kind: &str,
    user: Option<i64>,
    lead: Option<&Lead>,
    detail: String,
    at: i64,
) -> bool {
    let e = NewEvent {
        natural_key: &key,
        kind,
        tg_user_id: user,
        offer_id: lead.map(|l| l.offer_id),
        lead_id: lead.map(|l| l.id),
        detail: &detail,
        occurred_at: at,
    };
    match sh
        .ctx
        .store
        .write(|tx| store::events::record(tx, &e, now(sh)))
    {
        Ok(new) => new,
        Err(e) => {
            log::error!("bot: recording event {key}: {e}");
            true
        }
    }
}

// ---- private messages -------------------------------------------------------------------------

async fn on_message(
    sh: &Arc<Shared>,
    m: grammers_client::message::Message,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let chat = m.peer_id();
    let Some(sender) = m.sender_id().filter(|s| s.bare_id().is_some()) else {
        return Ok(());
    };
    // Payments arrive as a service message in the private chat.
    if let Some(tl::enums::MessageAction::PaymentSentMe(p)) = m.action() {
        return on_payment(sh, sender.bare_id_unchecked(), p, peers).await;
    }
    match chat {
        c if c == sender => on_private_text(sh, &m, peers).await,
        c if c.bare_id().is_some()
            && matches!(c.kind(), grammers_session::types::PeerKind::Channel) =>
        {
            on_group_message(sh, &m, peers).await
        }
        _ => Ok(()),
    }
}

async fn on_private_text(
    sh: &Arc<Shared>,
    m: &grammers_client::message::Message,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let uid = m.sender_id().expect("checked").bare_id_unchecked();
    // Telegram often sends a known user's private message without the user
    // object (updateShortMessage): fall back to what we stored, so the Premium
    // flag and language are never overwritten with blanks.
    let user = match user_from_peers(peers, uid) {
        Some(u) => u,
        None => sh
            .ctx
            .store
            .read(|c| store::users::get_user(c, uid))?
            .unwrap_or(TgUser {
                id: uid,
                ..Default::default()
            }),
    };
    let l = Lang::from_code(user.lang.as_deref());
    let text = m.text().trim();
    let Some(rest) = text.strip_prefix("/start") else {
        return reply_text(sh, uid, texts::fallback(l)).await;
    };
    // "/start@ourbot payload" in groups; in private chats just "/start payload".
    let rest = rest.split_once(' ').map(|(_, p)| p.trim()).unwrap_or("");
    let t = now(sh);
    if rest.is_empty() {
        sh.ctx
            .store
            .write(|tx| store::users::upsert_user(tx, &user, t))?;
        record_event(
            sh,
            format!("start:{uid}:{}", m.id()),
            "organic_start",
            Some(uid),
            None,
            "no payload".into(),
            t,
        );
        return reply_text(sh, uid, texts::welcome_no_token(l)).await;
    }
    if !token::is_start_payload(rest) {
        return reply_text(sh, uid, texts::unknown_token(l)).await;
    }
    match sh.ctx.engine.start(rest, &user, t)? {
        StartOutcome::UnknownToken => {
            record_event(
                sh,
                format!("start:{uid}:{}", m.id()),
                "organic_start",
                Some(uid),
                None,
                "unknown token".into(),
                t,
            );
            reply_text(sh, uid, texts::unknown_token(l)).await
        }
        StartOutcome::ExpiredToken => reply_text(sh, uid, texts::unknown_token(l)).await,
        StartOutcome::TakenByOther => reply_text(sh, uid, texts::taken_by_other(l)).await,
        StartOutcome::OfferClosed(_) => reply_text(sh, uid, texts::offer_closed(l)).await,
        StartOutcome::Bound {
            lead,
            offer,
            conversion,
            ..
        } => {
            if conversion.status != ConversionStatus::Lead {
                return reply_outcome(sh, uid, l, &conversion).await;
            }
            show_task(sh, &lead, &offer, &user, l).await
        }
    }
}

/// Replies with what a decided conversion means for the user.
async fn reply_outcome(sh: &Shared, uid: i64, l: Lang, c: &Conversion) -> anyhow::Result<()> {
    let text = match c.status {
        ConversionStatus::Hold => texts::accepted(l, true).to_string(),
        ConversionStatus::Approved => texts::accepted(l, false).to_string(),
        ConversionStatus::Rejected if c.reason.as_deref() == Some("already_done") => {
            texts::already_done(l).to_string()
        }
        ConversionStatus::Rejected => texts::rejected(l, c.reason.as_deref().unwrap_or("")),
        ConversionStatus::Lead => return Ok(()),
    };
    reply_text(sh, uid, text).await
}

fn public_link(offer: &Offer) -> Option<String> {
    let u = offer.target.username.as_ref()?;
    Some(match (offer.action, offer.target.msg_id) {
        (Action::Comment, Some(id)) => format!("https://t.me/{u}/{id}?comment=1"),
        (Action::Reaction, Some(id)) => format!("https://t.me/{u}/{id}"),
        (Action::Boost, _) => format!("https://t.me/boost/{u}"),
        _ => format!("https://t.me/{u}"),
    })
}

/// Sends the task card, preparing whatever the action needs first.
async fn show_task(
    sh: &Arc<Shared>,
    lead: &Lead,
    offer: &Offer,
    user: &TgUser,
    l: Lang,
) -> anyhow::Result<()> {
    let t = now(sh);
    let check = TgButton::data(
        texts::check_button(l),
        Button::Check { offer: offer.id }.encode(),
    );
    let mut rows: Vec<Vec<TgButton>> = Vec::new();
    match offer.action {
        Action::JoinChannel | Action::JoinRequest => {
            // A user who is already a member before the click does not count.
            match membership(sh, offer, lead.tg_user_id).await {
                // Already a member when the task is first shown: it counts only if
                // they joined strictly after the click's second (the stricter reading).
                Ok(Some(found)) => {
                    return decide_membership(
                        sh,
                        lead,
                        offer,
                        Member {
                            since: found.since.map(|s| s - 1),
                        },
                        l,
                    )
                    .await
                }
                Ok(None) => {}
                Err(e) => return task_unavailable(sh, user.id, l, e).await,
            }
            let link = match (offer.action, public_link(offer)) {
                (Action::JoinChannel, Some(link)) => link,
                _ => match invite_link(sh, lead, offer).await {
                    Ok(link) => link,
                    Err(e) => return task_unavailable(sh, user.id, l, e).await,
                },
            };
            rows.push(vec![TgButton::url(
                texts::open_button(l, offer.action),
                link,
            )]);
            rows.push(vec![check]);
        }
        Action::Comment | Action::Reaction => {
            if let Some(link) = public_link(offer) {
                rows.push(vec![TgButton::url(
                    texts::open_button(l, offer.action),
                    link,
                )]);
            }
        }
        Action::Boost => {
            if let Some(link) = public_link(offer) {
                rows.push(vec![TgButton::url(
                    texts::open_button(l, offer.action),
                    link,
                )]);
            }
            rows.push(vec![check]);
        }
        Action::ThirdPartyBot => {
            if let Some(url) = &offer.target.url {
                let token = store_token_of(sh, lead)?;
                let sep = if url.contains('?') { '&' } else { '?' };
                let param = if url.contains("startapp") || url.contains("/app") {
                    "startapp"
                } else {
                    "start"
                };
                rows.push(vec![TgButton::url(
                    texts::open_button(l, offer.action),
                    format!("{url}{sep}{param}={token}"),
                )]);
            }
        }
        Action::Share => {
            let link = share_link(sh, lead, offer, t)?;
            // The button opens Telegram's share dialog rather than the link itself:
            // the user's own tap must not count as a visitor.
            let share = format!(
                "https://t.me/share/url?url={}",
                percent_encoding::utf8_percent_encode(&link, percent_encoding::NON_ALPHANUMERIC)
            );
            rows.push(vec![TgButton::url(
                texts::open_button(l, offer.action),
                share,
            )]);
            let text = format!("{}\n\n{link}", texts::task(l, offer));
            return send(
                sh,
                user.id,
                InputMessage::new()
                    .text(text)
                    .reply_markup(ReplyMarkup::from_buttons(&rows)),
            )
            .await;
        }
        Action::PollVote | Action::StarsPayment | Action::PaidMedia | Action::StartBot => {}
    }
    let mut msg = InputMessage::new().text(texts::task(l, offer));
    if !rows.is_empty() {
        msg = msg.reply_markup(ReplyMarkup::from_buttons(&rows));
    }
    send(sh, user.id, msg).await?;
    match offer.action {
        Action::PollVote => send_poll(sh, lead, offer).await,
        Action::StarsPayment => send_invoice(sh, lead, offer, l).await,
        Action::PaidMedia => send_paid_media(sh, lead, offer).await,
        _ => Ok(()),
    }
}

/// The task cannot be shown because of a setup problem (e.g. the bot is not an
/// admin of the chat): the user gets a polite answer, the admins the reason.
async fn task_unavailable(sh: &Shared, user: i64, l: Lang, e: anyhow::Error) -> anyhow::Result<()> {
    log::error!("bot: {e:#}");
    reply_text(sh, user, texts::task_unavailable(l)).await
}

/// Tells the operator about a setup problem of an offer: in the audit trail
/// and to the admins, at most once an hour per offer.
async fn operator_alert(sh: &Shared, offer: i64, detail: &str) {
    let t = now(sh);
    {
        let mut last = sh.alerted.lock().unwrap_or_else(|p| p.into_inner());
        if last.get(&offer).is_some_and(|at| t - at < 3600) {
            return;
        }
        last.insert(offer, t);
    }
    log::error!("bot: {detail}");
    if let Err(e) = sh.ctx.engine.note(None, None, "operator error", detail, t) {
        log::error!("bot: recording an operator error: {e}");
    }
    for admin in &sh.ctx.telegram.admins {
        // Admins who never started the bot cannot be messaged; the log and the audit trail still have it.
        if let Err(err) = reply_text(sh, *admin, texts::operator_alert(detail)).await {
            log::debug!("bot: could not alert admin {admin}: {err:#}");
        }
    }
}

fn store_token_of(sh: &Shared, lead: &Lead) -> anyhow::Result<String> {
    let click = sh
        .ctx
        .store
        .read(|c| store::leads::click_token(c, lead.click_id))?;
    click.ok_or_else(|| anyhow::anyhow!("lead {} has no click", lead.id))
}

fn share_link(sh: &Shared, lead: &Lead, offer: &Offer, t: i64) -> anyhow::Result<String> {
    let existing = sh
        .ctx
        .store
        .read(|c| store::leads::task_of_lead(c, lead.id, "share"))?;
    let token = match existing {
        Some(task) => task.ref_key.trim_start_matches("share:").to_string(),
        None => {
            let token = token::click_token();
            let target = offer.target.url.clone().unwrap_or_default();
            sh.ctx.store.write(|tx| -> store::Result<()> {
                store::shares::insert_share(
                    tx,
                    &store::shares::NewShare {
                        token: &token,
                        offer: lead.offer_id,
                        lead_id: Some(lead.id.0),
                        tg_user_id: Some(lead.tg_user_id),
                        target_url: &target,
                    },
                    t,
                )?;
                store::leads::add_task(
                    tx,
                    lead.id,
                    "share",
                    &format!("share:{token}"),
                    None,
                    None,
                    t,
                )
            })?;
            token
        }
    };
    Ok(format!("{}/s/{token}", sh.ctx.public_base_url))
}

/// The input channel of an offer's target chat, resolving its @username if
/// the session does not know it yet.
async fn target_channel(
    sh: &Shared,
    offer: &Offer,
) -> anyhow::Result<Option<grammers_session::types::PeerRef>> {
    let in_discussion = matches!(offer.action, Action::Comment)
        || (offer.action == Action::Reaction && offer.target.chat_kind == Some(ChatKind::Channel));
    let chat = if in_discussion {
        offer.target.discussion_chat_id
    } else {
        offer.target.chat_id
    };
    if let Some(id) = chat {
        if let Some(p) = PeerId::channel(id) {
            if let Some(r) = sh.session.peer_ref(p).await? {
                return Ok(Some(r));
            }
        }
    }
    // The @username names the main chat, never the discussion group.
    if in_discussion {
        return Ok(None);
    }
    let Some(name) = &offer.target.username else {
        return Ok(None);
    };
    let Some(peer) = sh.client.resolve_username(name).await? else {
        return Ok(None);
    };
    let resolved = peer
        .to_ref()
        .await
        .map_err(|e| anyhow::anyhow!("resolving @{name}: {e}"))?;
    if let Some(r) = &resolved {
        // Remember the id: updates name chats by id, and username lookups are
        // rate-limited (telegram.md 2.4), so this resolves once per offer.
        if let Some(id) =
            r.id.bare_id()
                .filter(|id| offer.target.chat_id != Some(*id))
        {
            sh.ctx.store.write(|tx| {
                store::offers::set_target_chat_id(tx, OfferId(offer.id), id, now(sh))
            })?;
            log::info!("bot: offer {}: @{name} is chat {id}", offer.id);
        }
    }
    Ok(resolved)
}

/// Resolves the chats of active offers known only by @username, so join and
/// boost updates (which name chats by id) match them from the first one.
pub(crate) async fn resolve_offer_targets(sh: &Shared) {
    let offers =
        match sh.ctx.store.read(|c| {
            store::offers::offers_with_status(c, crate::domain::offer::OfferStatus::Active)
        }) {
            Ok(o) => o,
            Err(e) => return log::error!("bot: listing offers: {e}"),
        };
    for offer in offers
        .into_iter()
        .filter(|o| o.target.chat_id.is_none() && o.target.username.is_some())
    {
        if let Err(e) = target_channel(sh, &offer).await {
            log::warn!(
                "bot: offer {}: cannot resolve @{}: {e:#}",
                offer.id,
                offer.target.username.as_deref().unwrap_or("")
            );
        }
    }
}

/// A channel member as getParticipant reports it: when they joined, if known.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Member {
    pub since: Option<i64>,
}

/// Asks Telegram whether the lead's user is a member of the offer's chat.
/// `Ok(None)` = not a member. Errors name the operator's fix (bot not admin).
pub(crate) async fn membership(
    sh: &Shared,
    offer: &Offer,
    user: i64,
) -> anyhow::Result<Option<Member>> {
    let Some(channel) = target_channel(sh, offer).await? else {
        anyhow::bail!(
            "offer {}: the bot cannot see the target chat; add the bot to it as an administrator",
            offer.id
        );
    };
    let user_ref = user_ref(sh, user).await?;
    let req = tl::functions::channels::GetParticipant {
        channel: (&channel).into(),
        participant: (&user_ref).into(),
    };
    match invoke(&sh.client, &req).await {
        Ok(tl::enums::channels::ChannelParticipant::Participant(p)) => {
            use tl::enums::ChannelParticipant as P;
            Ok(match p.participant {
                P::Participant(x) => Some(Member {
                    since: Some(x.date as i64),
                }),
                P::ParticipantSelf(x) => Some(Member {
                    since: Some(x.date as i64),
                }),
                P::Admin(x) => Some(Member {
                    since: Some(x.date as i64),
                }),
                P::Creator(_) => Some(Member { since: None }),
                P::Banned(_) | P::Left(_) => None,
            })
        }
        Err(InvocationError::Rpc(e)) if e.name == "USER_NOT_PARTICIPANT" => Ok(None),
        Err(InvocationError::Rpc(e))
            if e.name == "CHAT_ADMIN_REQUIRED" || e.name == "CHANNEL_PRIVATE" =>
        {
            let detail = format!("offer {}: {} from getParticipant: make the bot an administrator of the target chat", offer.id, e.name);
            operator_alert(sh, offer.id, &detail).await;
            anyhow::bail!("offer {}: the bot is not an administrator of the target chat ({}); make it an admin so joins can be verified", offer.id, e.name)
        }
        Err(e) => Err(e.into()),
    }
}

/// Decides a join from a membership check: joined after the click counts;
/// a member since before the click does not.
async fn decide_membership(
    sh: &Shared,
    lead: &Lead,
    offer: &Offer,
    m: Member,
    l: Lang,
) -> anyhow::Result<()> {
    let click_at = sh
        .ctx
        .store
        .read(|c| store::leads::click_by_id(c, lead.click_id))?
        .map(|c| c.created_at)
        .unwrap_or(lead.started_at);
    let t = now(sh);
    let premium = sh
        .ctx
        .store
        .read(|c| store::users::get_user(c, lead.tg_user_id))?
        .is_some_and(|u| u.is_premium);
    let outcome = if crate::domain::conversion::joined_after_click(m.since, click_at) {
        let since = m.since.unwrap_or(click_at);
        sh.ctx.engine.action_observed(
            lead.id,
            offer.action,
            premium,
            &format!(
                "getParticipant: member since {}, after the click",
                when(since)
            ),
            t,
        )?
    } else {
        sh.ctx.engine.already_done(
            lead.id,
            offer.action,
            "getParticipant: already a member before the click",
            t,
        )?
    };
    reply_outcome(sh, lead.tg_user_id, l, outcome.conversion()).await
}

/// A per-user invite link; with `request_needed` for join-request offers, so
/// only the attributed user is approved (telegram.md 1.1).
async fn invite_link(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<String> {
    if let Some(task) = sh
        .ctx
        .store
        .read(|c| store::leads::task_of_lead(c, lead.id, "invite"))?
    {
        return Ok(task.ref_key.trim_start_matches("invite:").to_string());
    }
    let Some(channel) = target_channel(sh, offer).await? else {
        anyhow::bail!("offer {}: the bot cannot see the target chat; add it as an administrator with the invite right", offer.id);
    };
    let t = now(sh);
    let req = tl::functions::messages::ExportChatInvite {
        legacy_revoke_permanent: false,
        request_needed: offer.action == Action::JoinRequest,
        peer: (&channel).into(),
        expire_date: Some((t + 7 * 86400) as i32),
        // usage_limit counts simultaneous members and is not allowed with requests.
        usage_limit: None,
        title: Some(format!("tgtrack lead {}", lead.id)),
        subscription_pricing: None,
    };
    let link = match invoke(&sh.client, &req).await? {
        tl::enums::ExportedChatInvite::ChatInviteExported(x) => x.link,
        tl::enums::ExportedChatInvite::ChatInvitePublicJoinRequests => {
            anyhow::bail!("Telegram returned no link")
        }
    };
    sh.ctx.store.write(|tx| {
        store::leads::add_task(
            tx,
            lead.id,
            "invite",
            &format!("invite:{link}"),
            offer.target.chat_id,
            None,
            t,
        )
    })?;
    Ok(link)
}

fn random_id() -> i64 {
    rand::random()
}

async fn send_media(
    sh: &Shared,
    user: i64,
    media: tl::enums::InputMedia,
) -> anyhow::Result<tl::enums::Updates> {
    let peer = user_ref(sh, user).await?;
    let req = tl::functions::messages::SendMedia {
        silent: false,
        background: false,
        clear_draft: false,
        noforwards: false,
        update_stickersets_order: false,
        invert_media: false,
        allow_paid_floodskip: false,
        peer: (&peer).into(),
        reply_to: None,
        media,
        message: String::new(),
        random_id: random_id(),
        reply_markup: None,
        entities: None,
        schedule_date: None,
        schedule_repeat_period: None,
        send_as: None,
        quick_reply_shortcut: None,
        effect: None,
        allow_paid_stars: None,
        suggested_post: None,
    };
    Ok(invoke(&sh.client, &req).await?)
}

fn sent_message(u: &tl::enums::Updates) -> Option<&tl::types::Message> {
    let list = match u {
        tl::enums::Updates::Updates(x) => &x.updates,
        tl::enums::Updates::Combined(x) => &x.updates,
        _ => return None,
    };
    list.iter().find_map(|u| match u {
        tl::enums::Update::NewMessage(n) => match &n.message {
            tl::enums::Message::Message(m) => Some(m),
            _ => None,
        },
        _ => None,
    })
}

fn text_entities(s: &str) -> tl::enums::TextWithEntities {
    tl::types::TextWithEntities {
        text: s.to_string(),
        entities: vec![],
    }
    .into()
}

async fn send_poll(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<()> {
    let Some(spec) = &offer.target.poll else {
        anyhow::bail!("offer {} has no poll", offer.id)
    };
    let poll = tl::types::Poll {
        id: 0,
        closed: false,
        // Votes are only attributable in non-anonymous polls (telegram.md 1.9).
        public_voters: true,
        multiple_choice: false,
        quiz: false,
        open_answers: false,
        revoting_disabled: false,
        shuffle_answers: false,
        hide_results_until_close: false,
        creator: false,
        subscribers_only: false,
        question: text_entities(&spec.question),
        answers: spec
            .options
            .iter()
            .enumerate()
            .map(|(i, o)| {
                tl::types::PollAnswer {
                    text: text_entities(o),
                    option: vec![i as u8],
                    media: None,
                    added_by: None,
                    date: None,
                }
                .into()
            })
            .collect(),
        close_period: None,
        close_date: None,
        countries_iso2: None,
        hash: 0,
    };
    let media = tl::types::InputMediaPoll {
        poll: poll.into(),
        correct_answers: None,
        attached_media: None,
        solution: None,
        solution_entities: None,
        solution_media: None,
    };
    let updates = send_media(sh, lead.tg_user_id, media.into()).await?;
    let poll_id = sent_message(&updates).and_then(|m| match &m.media {
        Some(tl::enums::MessageMedia::Poll(p)) => match &p.poll {
            tl::enums::Poll::Poll(p) => Some(p.id),
        },
        _ => None,
    });
    let Some(poll_id) = poll_id else {
        anyhow::bail!("Telegram did not return the poll")
    };
    sh.ctx.store.write(|tx| {
        store::leads::add_task(
            tx,
            lead.id,
            "poll",
            &format!("poll:{poll_id}"),
            None,
            None,
            now(sh),
        )
    })?;
    Ok(())
}

async fn send_invoice(sh: &Shared, lead: &Lead, offer: &Offer, l: Lang) -> anyhow::Result<()> {
    let amount = offer.target.stars.unwrap_or(1);
    let payload = format!("lead:{}", lead.id.0);
    let invoice = tl::types::Invoice {
        test: false,
        name_requested: false,
        phone_requested: false,
        email_requested: false,
        shipping_address_requested: false,
        flexible: false,
        phone_to_provider: false,
        email_to_provider: false,
        recurring: false,
        // Stars: currency XTR, no provider (telegram.md 1.6).
        currency: "XTR".into(),
        prices: vec![tl::types::LabeledPrice {
            label: offer.name.clone(),
            amount,
        }
        .into()],
        max_tip_amount: None,
        suggested_tip_amounts: None,
        terms_url: None,
        subscription_period: None,
    };
    let media = tl::types::InputMediaInvoice {
        title: texts::invoice_title(l).into(),
        description: offer.name.clone(),
        photo: None,
        invoice: invoice.into(),
        payload: payload.clone().into_bytes(),
        provider: None,
        provider_data: tl::types::DataJson { data: "{}".into() }.into(),
        start_param: None,
        extended_media: None,
    };
    send_media(sh, lead.tg_user_id, media.into()).await?;
    sh.ctx.store.write(|tx| {
        store::leads::add_task(tx, lead.id, "invoice", &payload, None, None, now(sh))
    })?;
    Ok(())
}

async fn send_paid_media(sh: &Shared, lead: &Lead, offer: &Offer) -> anyhow::Result<()> {
    let payload = format!("lead:{}", lead.id.0);
    let Some(url) = offer.target.url.clone() else {
        anyhow::bail!("offer {} has no media URL", offer.id)
    };
    let media = tl::types::InputMediaPaidMedia {
        stars_amount: offer.target.stars.unwrap_or(1),
        extended_media: vec![tl::types::InputMediaPhotoExternal {
            spoiler: false,
            url,
            ttl_seconds: None,
        }
        .into()],
        payload: Some(payload.clone()),
    };
    send_media(sh, lead.tg_user_id, media.into()).await?;
    sh.ctx.store.write(|tx| {
        store::leads::add_task(
            tx,
            lead.id,
            "paid_media",
            &format!("paid:{payload}"),
            None,
            None,
            now(sh),
        )
    })?;
    Ok(())
}

// ---- buttons ----------------------------------------------------------------------------------

async fn on_callback(
    sh: &Arc<Shared>,
    q: grammers_client::update::CallbackQuery,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let Some(uid) = q.sender_id().bare_id() else {
        return Ok(());
    };
    // Refreshes the stored Premium flag from the user object Telegram sent along.
    premium_of(sh, uid, peers);
    let l = lang_of(sh, uid);
    // Until the /ads glue routes Button::Ads, those answer as stale too.
    let Some(Button::Check { offer }) = Button::decode(q.data()) else {
        q.answer().text(texts::stale_button(l)).send().await?;
        return Ok(());
    };
    let offer_id = OfferId(offer);
    let found = sh.ctx.store.read(|c| -> store::Result<_> {
        let lead = store::leads::lead_by_offer_user(c, offer_id, uid)?;
        let offer = store::offers::get_offer(c, offer_id)?;
        Ok(lead.zip(offer))
    })?;
    let Some((lead, offer)) = found else {
        q.answer().text(texts::stale_button(l)).send().await?;
        return Ok(());
    };
    let conv = sh
        .ctx
        .store
        .read(|c| store::conversions::by_key(c, offer_id, uid, offer.action))?;
    if conv
        .as_ref()
        .is_some_and(|c| c.status != ConversionStatus::Lead)
    {
        q.answer().text(texts::already_decided(l)).send().await?;
        return Ok(());
    }
    match offer.action {
        Action::JoinChannel | Action::JoinRequest => match membership(sh, &offer, uid).await {
            Ok(Some(m)) => {
                q.answer().send().await?;
                decide_membership(sh, &lead, &offer, m, l).await
            }
            Ok(None) => {
                let _ = sh.ctx.engine.note(
                    conv.map(|c| c.id),
                    Some(lead.id),
                    "check",
                    "getParticipant: not a member yet",
                    now(sh),
                );
                q.answer()
                    .alert(texts::not_yet(l, offer.action))
                    .send()
                    .await?;
                Ok(())
            }
            Err(e) => {
                q.answer().alert(texts::task_unavailable(l)).send().await?;
                Err(e)
            }
        },
        Action::Boost => {
            let boosting = has_boost(sh, &offer, uid).await?;
            if boosting {
                q.answer().send().await?;
                let premium = sh
                    .ctx
                    .store
                    .read(|c| store::users::get_user(c, uid))?
                    .is_some_and(|u| u.is_premium);
                let out = sh.ctx.engine.action_observed(
                    lead.id,
                    Action::Boost,
                    premium,
                    "premium.getUserBoosts: the user boosts the channel",
                    now(sh),
                )?;
                reply_outcome(sh, uid, l, out.conversion()).await
            } else {
                q.answer()
                    .alert(texts::not_yet(l, offer.action))
                    .send()
                    .await?;
                Ok(())
            }
        }
        _ => {
            q.answer()
                .alert(texts::not_yet(l, offer.action))
                .send()
                .await?;
            Ok(())
        }
    }
}

pub(crate) async fn has_boost(sh: &Shared, offer: &Offer, user: i64) -> anyhow::Result<bool> {
    let Some(channel) = target_channel(sh, offer).await? else {
        anyhow::bail!("offer {}: the bot cannot see the channel", offer.id)
    };
    let user_ref = user_ref(sh, user).await?;
    let req = tl::functions::premium::GetUserBoosts {
        peer: (&channel).into(),
        user_id: (&user_ref).into(),
    };
    match invoke(&sh.client, &req).await? {
        tl::enums::premium::BoostsList::List(l) => Ok(l.count > 0 || !l.boosts.is_empty()),
    }
}

// ---- raw updates ------------------------------------------------------------------------------

/// The user's leads whose offer has one of `actions`, with their offers.
fn leads_for(sh: &Shared, user: i64, actions: &[Action]) -> anyhow::Result<Vec<(Lead, Offer)>> {
    Ok(sh.ctx.store.read(|c| -> store::Result<_> {
        let mut out = Vec::new();
        for lead in store::leads::leads_of_user(c, user)? {
            if let Some(o) = store::offers::get_offer(c, lead.offer_id)? {
                if actions.contains(&o.action) {
                    out.push((lead, o));
                }
            }
        }
        Ok(out)
    })?)
}

fn conversion_of(sh: &Shared, lead: &Lead, action: Action) -> anyhow::Result<Option<Conversion>> {
    Ok(sh
        .ctx
        .store
        .read(|c| store::conversions::by_key(c, lead.offer_id, lead.tg_user_id, action))?)
}

async fn notify(sh: &Shared, lead: &Lead, out: &ActionOutcome) {
    if let ActionOutcome::Decided(c) = out {
        let l = lang_of(sh, lead.tg_user_id);
        if let Err(e) = reply_outcome(sh, lead.tg_user_id, l, c).await {
            log::warn!("bot: telling user {} the outcome: {e:#}", lead.tg_user_id);
        }
    }
}

async fn joined_or_left(
    sh: &Arc<Shared>,
    chat: i64,
    user: i64,
    joined: bool,
    date: i64,
    invite: Option<&str>,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let leads: Vec<_> = leads_for(sh, user, &[Action::JoinChannel, Action::JoinRequest])?
        .into_iter()
        .filter(|(_, o)| o.target.chat_id == Some(chat))
        .collect();
    let kind = if joined { "join" } else { "leave" };
    let key = format!("{kind}:{chat}:{user}:{date}");
    if leads.is_empty() {
        record_event(
            sh,
            key,
            &format!("organic_{kind}"),
            Some(user),
            None,
            format!("chat {chat}, invite {invite:?}"),
            date,
        );
        return Ok(());
    }
    let t = now(sh);
    for (lead, offer) in leads {
        // The journal dedupes repeats; decisions do not depend on it: the engine
        // is idempotent, and a crash between the two must not lose the action.
        record_event(
            sh,
            format!("{key}:{}", lead.id),
            kind,
            Some(user),
            Some(&lead),
            format!("chat {chat}, invite {invite:?}"),
            date,
        );
        let conv = conversion_of(sh, &lead, offer.action)?;
        if joined {
            if conv
                .as_ref()
                .is_some_and(|c| c.status != ConversionStatus::Lead)
            {
                continue;
            }
            let click_at = sh
                .ctx
                .store
                .read(|c| store::leads::click_by_id(c, lead.click_id))?
                .map(|c| c.created_at)
                .unwrap_or(lead.started_at);
            let premium = premium_of(sh, user, peers);
            let out = if crate::domain::conversion::joined_after_click(Some(date), click_at) {
                sh.ctx.engine.action_observed(
                    lead.id,
                    offer.action,
                    premium,
                    &format!(
                        "updateChannelParticipant: joined chat {chat} at {}",
                        when(date)
                    ),
                    t,
                )?
            } else {
                sh.ctx
                    .engine
                    .already_done(lead.id, offer.action, "joined before the click", t)?
            };
            notify(sh, &lead, &out).await;
        } else if let Some(c) = conv.filter(|c| c.status == ConversionStatus::Hold) {
            sh.ctx.engine.action_undone(
                c.id,
                RejectReason::Undone,
                &format!(
                    "updateChannelParticipant: left chat {chat} at {}",
                    when(date)
                ),
                t,
            )?;
        }
    }
    Ok(())
}

/// Applies an update about a reversible action: done decides it (once), undone
/// takes it back while it is in hold. Repeats change nothing.
async fn reversible(
    sh: &Shared,
    lead: &Lead,
    action: Action,
    done: bool,
    premium: bool,
    evidence: &str,
    t: i64,
) -> anyhow::Result<()> {
    let conv = conversion_of(sh, lead, action)?;
    if done {
        if conv
            .as_ref()
            .is_none_or(|c| c.status == ConversionStatus::Lead)
        {
            let out = sh
                .ctx
                .engine
                .action_observed(lead.id, action, premium, evidence, t)?;
            notify(sh, lead, &out).await;
        }
    } else if let Some(c) = conv.filter(|c| c.status == ConversionStatus::Hold) {
        sh.ctx
            .engine
            .action_undone(c.id, RejectReason::Undone, evidence, t)?;
    }
    Ok(())
}

fn is_member(p: &Option<tl::enums::ChannelParticipant>) -> bool {
    use tl::enums::ChannelParticipant as P;
    matches!(
        p,
        Some(P::Participant(_) | P::ParticipantSelf(_) | P::Admin(_) | P::Creator(_))
    )
}

fn invite_of(i: &Option<tl::enums::ExportedChatInvite>) -> Option<String> {
    match i {
        Some(tl::enums::ExportedChatInvite::ChatInviteExported(x)) => Some(x.link.clone()),
        _ => None,
    }
}

async fn on_raw(sh: &Arc<Shared>, raw: tl::enums::Update, peers: &PeerMap) -> anyhow::Result<()> {
    use tl::enums::Update as U;
    let t = now(sh);
    match raw {
        U::ChannelParticipant(u) => {
            let (was, is) = (
                is_member(&u.prev_participant),
                is_member(&u.new_participant),
            );
            if was != is {
                joined_or_left(
                    sh,
                    u.channel_id,
                    u.user_id,
                    is,
                    u.date as i64,
                    invite_of(&u.invite).as_deref(),
                    peers,
                )
                .await?;
            }
        }
        U::ChatParticipant(u) => {
            let (was, is) = (u.prev_participant.is_some(), u.new_participant.is_some());
            if was != is {
                joined_or_left(
                    sh,
                    u.chat_id,
                    u.user_id,
                    is,
                    u.date as i64,
                    invite_of(&u.invite).as_deref(),
                    peers,
                )
                .await?;
            }
        }
        U::BotChatInviteRequester(u) => on_join_request(sh, u).await?,
        U::BotMessageReaction(u) => {
            let tl::enums::Peer::User(actor) = &u.actor else {
                // Reactions sent as a channel are not a user's action.
                return Ok(());
            };
            let chat = PeerId::from(&u.peer).bare_id_unchecked();
            let user = actor.user_id;
            let added = !u.new_reactions.is_empty();
            let mut candidates = Vec::new();
            for (lead, offer) in leads_for(sh, user, &[Action::Reaction])? {
                let hit = if offer.target.chat_kind == Some(ChatKind::Channel) {
                    // A post's reactions are anonymous in the channel; the offer asks
                    // for one on the post's copy in the discussion group (telegram.md 1.3).
                    offer.target.discussion_chat_id == Some(chat)
                        && discussion_origin(sh, chat, u.msg_id).await? == offer.target.msg_id
                } else {
                    offer.target.chat_id == Some(chat) && offer.target.msg_id == Some(u.msg_id)
                };
                if hit {
                    candidates.push(lead);
                }
            }
            for lead in candidates {
                record_event(
                    sh,
                    format!(
                        "reaction:{chat}:{}:{user}:{}:{}:{}",
                        u.msg_id, u.date, u.qts, lead.id
                    ),
                    "reaction",
                    Some(user),
                    Some(&lead),
                    format!("added: {added}"),
                    u.date as i64,
                );
                let evidence = if added {
                    format!(
                        "updateBotMessageReaction on message {} in chat {chat}",
                        u.msg_id
                    )
                } else {
                    "updateBotMessageReaction: reaction removed".to_string()
                };
                reversible(
                    sh,
                    &lead,
                    Action::Reaction,
                    added,
                    premium_of(sh, user, peers),
                    &evidence,
                    t,
                )
                .await?;
            }
        }
        U::MessagePollVote(u) => {
            let user = PeerId::from(&u.peer).bare_id_unchecked();
            let Some(task) = sh
                .ctx
                .store
                .read(|c| store::leads::lead_by_task(c, &format!("poll:{}", u.poll_id)))?
            else {
                return Ok(());
            };
            let Some(lead) = sh
                .ctx
                .store
                .read(|c| store::leads::get_lead(c, task.lead))?
            else {
                return Ok(());
            };
            if lead.tg_user_id != user {
                return Ok(());
            }
            let voted = !u.options.is_empty();
            let evidence = if voted {
                format!("updateMessagePollVote on poll {}", u.poll_id)
            } else {
                "updateMessagePollVote: vote retracted".to_string()
            };
            reversible(
                sh,
                &lead,
                Action::PollVote,
                voted,
                premium_of(sh, user, peers),
                &evidence,
                t,
            )
            .await?;
        }
        U::BotPrecheckoutQuery(u) => on_precheckout(sh, u).await?,
        U::BotPurchasedPaidMedia(u) => {
            let Some(lead) = lead_for_payload(sh, u.payload.as_bytes(), u.user_id)? else {
                return Ok(());
            };
            record_event(
                sh,
                format!("paid_media:{}:{}", lead.id, u.payload),
                "paid_media",
                Some(u.user_id),
                Some(&lead),
                u.payload.clone(),
                t,
            );
            let out = sh.ctx.engine.action_observed(
                lead.id,
                Action::PaidMedia,
                premium_of(sh, u.user_id, peers),
                "updateBotPurchasedPaidMedia",
                t,
            )?;
            notify(sh, &lead, &out).await;
        }
        U::BotChatBoost(u) => {
            let tl::enums::Boost::Boost(b) = &u.boost;
            let Some(user) = b.user_id else { return Ok(()) };
            let chat = PeerId::from(&u.peer).bare_id_unchecked();
            for (lead, offer) in leads_for(sh, user, &[Action::Boost])?
                .into_iter()
                .filter(|(_, o)| o.target.chat_id == Some(chat))
            {
                let _ = offer;
                if conversion_of(sh, &lead, Action::Boost)?
                    .is_none_or(|c| c.status == ConversionStatus::Lead)
                {
                    let out = sh.ctx.engine.action_observed(
                        lead.id,
                        Action::Boost,
                        premium_of(sh, user, peers),
                        &format!("updateBotChatBoost in chat {chat}"),
                        t,
                    )?;
                    notify(sh, &lead, &out).await;
                }
            }
        }
        U::BotStopped(u) => {
            let stopped = u.stopped;
            sh.ctx
                .store
                .write(|tx| store::users::set_blocked(tx, u.user_id, stopped, t))?;
            record_event(
                sh,
                format!("stopped:{}:{}:{}", u.user_id, u.date, stopped),
                if stopped {
                    "blocked_bot"
                } else {
                    "unblocked_bot"
                },
                Some(u.user_id),
                None,
                String::new(),
                u.date as i64,
            );
            if stopped {
                let holds = sh
                    .ctx
                    .store
                    .read(|c| store::conversions::of_user(c, u.user_id))?;
                for c in holds
                    .into_iter()
                    .filter(|c| c.status == ConversionStatus::Hold)
                {
                    sh.ctx.engine.action_undone(
                        c.id,
                        RejectReason::BlockedBot,
                        "updateBotStopped: the user blocked the bot",
                        t,
                    )?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}

async fn on_join_request(
    sh: &Shared,
    u: tl::types::UpdateBotChatInviteRequester,
) -> anyhow::Result<()> {
    let Some(link) = invite_of(&Some(u.invite.clone())) else {
        return Ok(());
    };
    let Some(task) = sh
        .ctx
        .store
        .read(|c| store::leads::lead_by_task(c, &format!("invite:{link}")))?
    else {
        // Not one of our links: the chat's admins decide.
        return Ok(());
    };
    let Some(lead) = sh
        .ctx
        .store
        .read(|c| store::leads::get_lead(c, task.lead))?
    else {
        return Ok(());
    };
    // Approve only the attributed user; someone else using their link is declined.
    let approved = lead.tg_user_id == u.user_id;
    let user_ref = user_ref(sh, u.user_id).await?;
    let peer = sh
        .session
        .peer_ref(PeerId::from(&u.peer))
        .await?
        .ok_or_else(|| anyhow::anyhow!("join request for an unknown chat"))?;
    let req = tl::functions::messages::HideChatJoinRequest {
        approved,
        peer: (&peer).into(),
        user_id: (&user_ref).into(),
    };
    invoke(&sh.client, &req).await?;
    let detail = format!(
        "join request by user {} via {link}: {}",
        u.user_id,
        if approved {
            "approved"
        } else {
            "declined (not the attributed user)"
        }
    );
    sh.ctx
        .engine
        .note(None, Some(lead.id), "join request", &detail, now(sh))?;
    Ok(())
}

fn lead_for_payload(sh: &Shared, payload: &[u8], user: i64) -> anyhow::Result<Option<Lead>> {
    let Some(id) = std::str::from_utf8(payload)
        .ok()
        .and_then(|p| p.strip_prefix("lead:"))
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    let lead = sh
        .ctx
        .store
        .read(|c| store::leads::get_lead(c, LeadId(id)))?;
    Ok(lead.filter(|l| l.tg_user_id == user))
}

/// Answers a pre-checkout live: Telegram gives about 10 seconds and never
/// replays it (telegram.md 1.6), so this re-checks cap, budget and schedule
/// now and declines with the reason if the payment could not count.
async fn on_precheckout(
    sh: &Shared,
    u: tl::types::UpdateBotPrecheckoutQuery,
) -> anyhow::Result<()> {
    let t = now(sh);
    let l = lang_of(sh, u.user_id);
    let verdict: Result<(), String> = (|| {
        let lead = lead_for_payload(sh, &u.payload, u.user_id)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| texts::stale_button(l).to_string())?;
        let (offer, usage, premium) = sh
            .ctx
            .store
            .read(|c| -> store::Result<_> {
                let offer = store::offers::get_offer(c, lead.offer_id)?;
                let usage = match &offer {
                    Some(o) => {
                        let (total, since) =
                            crate::domain::conversion::usage_needed(&o.caps, t, &o.timezone);
                        store::conversions::usage(c, lead.offer_id, total, since)?
                    }
                    None => Default::default(),
                };
                let premium = store::users::get_user(c, u.user_id)?.is_some_and(|x| x.is_premium);
                Ok((offer, usage, premium))
            })
            .map_err(|e| e.to_string())?;
        let offer = offer.ok_or_else(|| texts::offer_closed(l).to_string())?;
        if u.currency != "XTR" || Some(u.total_amount) != offer.target.stars {
            return Err(texts::stale_button(l).to_string());
        }
        if conversion_of(sh, &lead, offer.action)
            .map_err(|e| e.to_string())?
            .is_some_and(|c| c.status != ConversionStatus::Lead)
        {
            return Err(texts::already_decided(l).to_string());
        }
        match decide_action(&offer, usage, premium, t) {
            Decision::Accept { .. } => Ok(()),
            Decision::Reject(r) => Err(texts::precheckout_declined(l, r.as_str())),
        }
    })();
    let req = tl::functions::messages::SetBotPrecheckoutResults {
        success: verdict.is_ok(),
        query_id: u.query_id,
        error: verdict.as_ref().err().cloned(),
    };
    invoke(&sh.client, &req).await?;
    if let Some(lead) = lead_for_payload(sh, &u.payload, u.user_id)? {
        let detail = match &verdict {
            Ok(()) => format!("pre-checkout of {} {} accepted", u.total_amount, u.currency),
            Err(e) => format!("pre-checkout declined: {e}"),
        };
        sh.ctx
            .engine
            .note(None, Some(lead.id), "precheckout", &detail, t)?;
    }
    Ok(())
}

async fn on_payment(
    sh: &Arc<Shared>,
    user: i64,
    p: &tl::types::MessageActionPaymentSentMe,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let t = now(sh);
    let tl::enums::PaymentCharge::Charge(charge) = &p.charge;
    let lead = lead_for_payload(sh, &p.payload, user)?;
    // Recorded once per charge; the decision below does not depend on it being
    // new, so a crash between the two cannot lose the payment's conversion.
    sh.ctx.store.write(|tx| {
        store::payments::record(
            tx,
            &store::payments::NewPayment {
                tg_user_id: user,
                offer_id: lead.as_ref().map(|l| l.offer_id),
                kind: "task_invoice",
                amount: p.total_amount,
                currency: &p.currency,
                payload: std::str::from_utf8(&p.payload).ok(),
                charge_id: &charge.id,
                status: "paid",
            },
            t,
        )
    })?;
    let Some(lead) = lead else {
        // Paid for nothing we can attribute: give the Stars back.
        return refund(
            sh,
            user,
            &charge.id,
            p.total_amount,
            None,
            "the payment matched no task",
        )
        .await;
    };
    let out = sh.ctx.engine.action_observed(
        lead.id,
        Action::StarsPayment,
        premium_of(sh, user, peers),
        &format!(
            "messageActionPaymentSentMe: {} {} charge {}",
            p.total_amount, p.currency, charge.id
        ),
        t,
    )?;
    // The pre-checkout passed, but a cap, the schedule or the budget can still
    // have closed before the payment landed (another user took the last slot).
    // The user must not pay for a task that does not count.
    if let ActionOutcome::Decided(c) = &out {
        if c.status == ConversionStatus::Rejected {
            notify(sh, &lead, &out).await;
            return refund(
                sh,
                user,
                &charge.id,
                p.total_amount,
                Some(&lead),
                c.reason.as_deref().unwrap_or("rejected"),
            )
            .await;
        }
    }
    notify(sh, &lead, &out).await;
    Ok(())
}

/// Refunds a Stars charge (payments.refundStarsCharge, telegram.md 1.6) and records it.
async fn refund(
    sh: &Shared,
    user: i64,
    charge_id: &str,
    amount: i64,
    lead: Option<&Lead>,
    why: &str,
) -> anyhow::Result<()> {
    let t = now(sh);
    let refund_key = format!("refund:{charge_id}");
    if sh
        .ctx
        .store
        .read(|c| store::payments::exists(c, &refund_key))?
    {
        return Ok(()); // a repeated payment update: already refunded
    }
    let user_ref = user_ref(sh, user)
        .await
        .map_err(|e| anyhow::anyhow!("cannot refund charge {charge_id}: {e:#}"))?;
    let req = tl::functions::payments::RefundStarsCharge {
        user_id: (&user_ref).into(),
        charge_id: charge_id.to_string(),
    };
    invoke(&sh.client, &req).await?;
    sh.ctx.store.write(|tx| {
        store::payments::record(
            tx,
            &store::payments::NewPayment {
                tg_user_id: user,
                offer_id: lead.map(|l| l.offer_id),
                kind: "refund",
                amount: -amount,
                currency: "XTR",
                payload: None,
                charge_id: &refund_key,
                status: "refunded",
            },
            t,
        )
    })?;
    sh.ctx.engine.note(
        None,
        lead.map(|l| l.id),
        "refund",
        &format!("{amount} Stars refunded (charge {charge_id}): {why}"),
        t,
    )?;
    reply_text(sh, user, texts::refunded(lang_of(sh, user))).await
}

// ---- discussion groups ------------------------------------------------------------------------

async fn on_group_message(
    sh: &Arc<Shared>,
    m: &grammers_client::message::Message,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let Some(sender) = m.sender_id() else {
        return Ok(());
    };
    // Comments sent as a channel or by an anonymous admin are not a user's action.
    if !matches!(sender.kind(), grammers_session::types::PeerKind::User) {
        return Ok(());
    }
    let user = sender.bare_id_unchecked();
    let chat = m.peer_id().bare_id_unchecked();
    let Some(tl::enums::MessageReplyHeader::Header(h)) = m.reply_header() else {
        return Ok(());
    };
    let top = h.reply_to_top_id.or(h.reply_to_msg_id);
    let Some(top) = top else { return Ok(()) };
    let candidates: Vec<_> = leads_for(sh, user, &[Action::Comment])?
        .into_iter()
        .filter(|(_, o)| o.target.discussion_chat_id == Some(chat))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let post = discussion_origin(sh, chat, top).await?;
    let t = now(sh);
    for (lead, offer) in candidates {
        if post != offer.target.msg_id {
            continue;
        }
        record_event(
            sh,
            format!("comment:{chat}:{}:{}", m.id(), lead.id),
            "comment",
            Some(user),
            Some(&lead),
            format!("post {post:?}"),
            t,
        );
        if conversion_of(sh, &lead, Action::Comment)?
            .is_some_and(|c| c.status != ConversionStatus::Lead)
        {
            continue;
        }
        sh.ctx.store.write(|tx| {
            store::leads::add_task(
                tx,
                lead.id,
                "comment",
                &format!("comment:{chat}:{}:{}", m.id(), lead.id),
                Some(chat),
                Some(m.id()),
                t,
            )
        })?;
        let out = sh.ctx.engine.action_observed(
            lead.id,
            Action::Comment,
            premium_of(sh, user, peers),
            &format!("comment {} in the discussion of post {post:?}", m.id()),
            t,
        )?;
        notify(sh, &lead, &out).await;
    }
    Ok(())
}

/// One message of a supergroup or channel by id (channels.getMessages, which
/// bots may call). `Ok(None)` when the session does not know the chat;
/// `Ok(Some(None))` when the message does not exist (deleted).
async fn channel_message(
    sh: &Shared,
    chat: i64,
    msg: i32,
) -> anyhow::Result<Option<Option<tl::types::Message>>> {
    // An id outside the channel range (a corrupt row) is a chat we cannot ask about.
    let Some(id) = PeerId::channel(chat) else {
        return Ok(None);
    };
    let Some(channel) = sh.session.peer_ref(id).await? else {
        return Ok(None);
    };
    let req = tl::functions::channels::GetMessages {
        channel: (&channel).into(),
        id: vec![tl::types::InputMessageId { id: msg }.into()],
    };
    let msgs = match invoke(&sh.client, &req).await? {
        tl::enums::messages::Messages::Messages(m) => m.messages,
        tl::enums::messages::Messages::Slice(m) => m.messages,
        tl::enums::messages::Messages::ChannelMessages(m) => m.messages,
        tl::enums::messages::Messages::NotModified(_) => vec![],
    };
    Ok(Some(msgs.into_iter().find_map(|m| match m {
        tl::enums::Message::Message(m) => Some(m),
        _ => None,
    })))
}

/// The channel post a discussion-group thread belongs to: the thread root is
/// the automatic forward, whose `fwd_from.channel_post` is the post's id.
async fn discussion_origin(sh: &Shared, group: i64, root: i32) -> anyhow::Result<Option<i32>> {
    let root = channel_message(sh, group, root).await?.flatten();
    Ok(root.and_then(|m| match m.fwd_from {
        Some(tl::enums::MessageFwdHeader::Header(f)) => f.channel_post.or(f.saved_from_msg_id),
        None => None,
    }))
}

async fn on_deleted(sh: &Shared, channel: Option<i64>, ids: &[i32]) -> anyhow::Result<()> {
    let Some(chat) = channel else { return Ok(()) };
    let t = now(sh);
    for id in ids {
        // Several offers may have bought the same comment: undo each.
        for task in sh
            .ctx
            .store
            .read(|c| store::leads::tasks_at(c, "comment", chat, *id))?
        {
            let Some(lead) = sh
                .ctx
                .store
                .read(|c| store::leads::get_lead(c, task.lead))?
            else {
                continue;
            };
            if let Some(c) = conversion_of(sh, &lead, Action::Comment)?
                .filter(|c| c.status == ConversionStatus::Hold)
            {
                sh.ctx.engine.action_undone(
                    c.id,
                    RejectReason::Undone,
                    &format!("updateDeleteChannelMessages: comment {id} deleted"),
                    t,
                )?;
            }
        }
    }
    Ok(())
}

/// Re-checks a conversion at hold end or in a reconciliation sweep. `Ok(None)`
/// means "cannot tell now" (Telegram unreachable): try again later, never reject on our failure.
pub(crate) async fn still_valid(
    sh: &Shared,
    c: &Conversion,
) -> anyhow::Result<Option<(bool, String)>> {
    let offer = sh
        .ctx
        .store
        .read(|x| store::offers::get_offer(x, c.offer_id))?
        .ok_or_else(|| anyhow::anyhow!("no offer {}", c.offer_id))?;
    Ok(Some(match c.action {
        Action::JoinChannel | Action::JoinRequest => {
            match membership(sh, &offer, c.tg_user_id).await {
                Ok(Some(_)) => (true, "getParticipant: still a member".into()),
                Ok(None) => (false, "getParticipant: no longer a member".into()),
                Err(e) => {
                    log::warn!("bot: re-check of conversion {} failed: {e:#}", c.id);
                    return Ok(None);
                }
            }
        }
        Action::Boost => match has_boost(sh, &offer, c.tg_user_id).await {
            Ok(b) => (b, format!("premium.getUserBoosts: boosting = {b}")),
            Err(_) => return Ok(None),
        },
        Action::Comment => {
            let lead = c.lead_id;
            let task = match lead {
                Some(l) => sh
                    .ctx
                    .store
                    .read(|x| store::leads::task_of_lead(x, l, "comment"))?,
                None => None,
            };
            match task.and_then(|t| t.chat_id.zip(t.msg_id)) {
                Some((chat, msg)) => match comment_exists(sh, chat, msg).await {
                    Ok(e) => (
                        e,
                        format!("channels.getMessages: comment {msg} exists = {e}"),
                    ),
                    Err(_) => return Ok(None),
                },
                _ => (
                    true,
                    "no comment reference kept; no deletion was seen".into(),
                ),
            }
        }
        Action::StartBot => {
            let blocked = sh
                .ctx
                .store
                .read(|x| store::users::is_blocked(x, c.tg_user_id))?;
            (!blocked, format!("bot blocked = {blocked}"))
        }
        // Telegram offers bots no re-check for these (telegram.md 1.3, 1.9). An undo
        // inside the window has already rejected the conversion; one seen after the
        // window but before this check fails it, as a left member fails getParticipant.
        _ => {
            let undone = sh
                .ctx
                .store
                .read(|x| store::audit::has_entry(x, c.id, "undone"))?;
            if undone {
                (
                    false,
                    "the action was undone after the hold window, before this check".into(),
                )
            } else {
                (true, "no undo was seen".into())
            }
        }
    }))
}

async fn comment_exists(sh: &Shared, chat: i64, msg: i32) -> anyhow::Result<bool> {
    // A chat the session does not know cannot be asked: no evidence of deletion.
    Ok(channel_message(sh, chat, msg)
        .await?
        .is_none_or(|m| m.is_some()))
}
