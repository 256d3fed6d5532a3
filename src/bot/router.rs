//! Where each update goes: payments, commands and wizard answers in private
//! chats, button presses by their typed data, observed actions to the task
//! dialogue. A failing handler logs and returns; it never stops the loop.

use grammers_client::peer::{Peer, PeerMap};
use grammers_client::update::{CallbackQuery, Update};
use grammers_session::types::{PeerId, PeerKind};
use grammers_tl_types as tl;

use super::buttons::Button;
use super::event::{self, Command, Event};
use super::texts::{self, Lang};
use super::{admin, ads_glue, advertiser, payments, statistic, tasks, Shared};
use crate::store::users::TgUser;

/// Updates of one Telegram user are handled in order; this picks the user.
pub(crate) fn order_key(u: &Update) -> Option<i64> {
    match u {
        // Our own outgoing messages carry the self-user sentinel: nothing to order.
        Update::NewMessage(m) => m.sender_id().and_then(|p| p.bare_id()),
        Update::CallbackQuery(q) => q.sender_id().bare_id(),
        // Deletions carry no user: order them per channel (negative, apart from users).
        Update::MessageDeleted(d) => d.channel_id().map(|c| -c),
        Update::Raw(r) => event::order_key(&r.raw),
        _ => None,
    }
}

pub(crate) async fn handle(sh: &Shared, update: Update, peers: &PeerMap) {
    // Each arm's future is boxed on its own: the caller boxes this future for
    // every update in flight, and an unboxed match is as large as its largest
    // arm (about 58 KB measured with heaptrack, BENCHMARKS.md), whatever arm runs.
    let r = match update {
        Update::NewMessage(m) if !m.outgoing() => {
            Box::pin(on_message(sh, m.into_inner(), peers)).await
        }
        Update::CallbackQuery(q) => Box::pin(on_callback(sh, q, peers)).await,
        Update::MessageDeleted(d) => {
            Box::pin(tasks::observe::deleted(sh, d.channel_id(), d.messages())).await
        }
        Update::Raw(r) => match event::from_raw(&r.raw, sh.me) {
            Some(e) => Box::pin(on_event(sh, e, peers)).await,
            None => Ok(()),
        },
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

/// What we know of `id` after this update: its user object refreshes the
/// stored row (Premium flag, language). Telegram often sends a known user's
/// message without the user object (updateShortMessage): then the stored row
/// is used, so the flag and language are never overwritten with blanks.
fn refresh_user(sh: &Shared, peers: &PeerMap, id: i64) -> TgUser {
    let fresh = PeerId::user(id)
        .and_then(|p| peers.get(p))
        .and_then(|p| match p {
            Peer::User(u) => tg_user(&u.raw),
            _ => None,
        });
    if let Some(u) = fresh {
        if let Err(e) = sh.ctx.engine.user_seen(&u, sh.now()) {
            log::error!("bot: saving user {id}: {e}");
        }
        return u;
    }
    sh.ctx
        .store
        .read(|c| crate::store::users::get_user(c, id))
        .ok()
        .flatten()
        .unwrap_or(TgUser {
            id,
            ..Default::default()
        })
}

async fn on_message(
    sh: &Shared,
    m: grammers_client::message::Message,
    peers: &PeerMap,
) -> anyhow::Result<()> {
    let Some(sender) = m.sender_id().filter(|s| s.bare_id().is_some()) else {
        return Ok(());
    };
    let uid = sender.bare_id_unchecked();
    // Payments arrive as a service message in the private chat.
    if let Some(tl::enums::MessageAction::PaymentSentMe(p)) = m.action() {
        refresh_user(sh, peers, uid);
        let tl::enums::PaymentCharge::Charge(charge) = &p.charge;
        return payments::paid(sh, uid, &p.payload, &p.currency, p.total_amount, &charge.id).await;
    }
    let chat = m.peer_id();
    if chat == sender {
        let user = refresh_user(sh, peers, uid);
        return on_private_text(sh, &user, m.text(), m.id()).await;
    }
    if chat.bare_id().is_some() && matches!(chat.kind(), PeerKind::Channel) {
        // Comments sent as a channel or by an anonymous admin are not a user's action.
        if !matches!(sender.kind(), PeerKind::User) {
            return Ok(());
        }
        refresh_user(sh, peers, uid);
        let top = match m.reply_header() {
            Some(tl::enums::MessageReplyHeader::Header(h)) => {
                h.reply_to_top_id.or(h.reply_to_msg_id)
            }
            _ => None,
        };
        return tasks::observe::group_message(sh, chat.bare_id_unchecked(), uid, m.id(), top).await;
    }
    Ok(())
}

async fn on_private_text(
    sh: &Shared,
    user: &TgUser,
    text: &str,
    msg_id: i32,
) -> anyhow::Result<()> {
    let l = Lang::from_code(user.lang.as_deref());
    let admin = sh.is_admin(user.id);
    match event::command(text, &sh.ctx.telegram.bot_username) {
        Some(Command::Start(payload)) => tasks::start(sh, user, &payload, msg_id).await,
        Some(Command::Ads) => ads_glue::start(sh, user.id, l).await,
        Some(Command::Cancel) => ads_glue::cancel(sh, user.id, l).await,
        Some(Command::Ledger) if admin => statistic::ledger(sh, user.id, l).await,
        Some(Command::Help) | Some(Command::Unknown(_)) => {
            sh.say(user.id, texts::help(l, admin)).await
        }
        Some(Command::PaySupport) => sh.say(user.id, texts::pay_support(l)).await,
        Some(Command::Statistic) => statistic::open(sh, user.id, l).await,
        Some(Command::Campaigns) if admin => admin::review_queue(sh, user.id, l).await,
        Some(Command::Settings) if admin => admin::settings(sh, user.id, l).await,
        Some(Command::Campaigns | Command::Settings | Command::Ledger) => {
            sh.say(user.id, texts::admins_only(l)).await
        }
        // Plain text: an answer to whichever dialogue waits for one.
        None => {
            if admin && admin::text(sh, user.id, l, text).await? {
                return Ok(());
            }
            if ads_glue::text(sh, user.id, l, text).await? {
                return Ok(());
            }
            sh.say(user.id, texts::fallback(l)).await
        }
    }
}

async fn on_callback(sh: &Shared, q: CallbackQuery, peers: &PeerMap) -> anyhow::Result<()> {
    let Some(uid) = q.sender_id().bare_id() else {
        return Ok(());
    };
    let user = refresh_user(sh, peers, uid);
    let l = Lang::from_code(user.lang.as_deref());
    let alert = match Button::decode(q.data()) {
        None => Some(texts::stale_button(l).to_string()),
        Some(Button::Check { offer }) => tasks::check(sh, uid, offer, l).await?,
        Some(Button::Ads(b)) => ads_glue::button(sh, uid, l, b).await?,
        Some(Button::Admin(b)) => {
            if sh.is_admin(uid) {
                admin::button(sh, uid, l, b).await?
            } else {
                // A forged or forwarded admin button: refused, and nothing changes.
                log::warn!("bot: user {uid} pressed an admin button");
                Some(texts::admins_only(l).to_string())
            }
        }
        Some(Button::Campaign(b)) => advertiser::campaign_button(sh, uid, l, b).await?,
        Some(Button::Stats(b)) => statistic::button(sh, uid, l, b).await?,
    };
    match alert {
        Some(text) => q.answer().alert(text).send().await?,
        None => q.answer().send().await?,
    }
    Ok(())
}

async fn on_event(sh: &Shared, e: Event, peers: &PeerMap) -> anyhow::Result<()> {
    use tasks::observe as o;
    match e {
        Event::Membership {
            chat,
            user,
            joined,
            date,
            invite,
        } => {
            refresh_user(sh, peers, user);
            o::membership(sh, chat, user, joined, date, invite.as_deref()).await
        }
        Event::JoinRequest { peer, user, invite } => {
            o::join_request(sh, peer, user, invite.as_deref()).await
        }
        Event::Reaction {
            chat,
            msg_id,
            user,
            added,
            date,
            qts,
        } => {
            refresh_user(sh, peers, user);
            o::reaction(sh, chat, msg_id, user, added, date, qts).await
        }
        Event::PollVote {
            poll_id,
            user,
            voted,
        } => {
            refresh_user(sh, peers, user);
            o::poll_vote(sh, poll_id, user, voted).await
        }
        Event::Precheckout {
            query_id,
            user,
            payload,
            currency,
            amount,
        } => payments::precheckout(sh, query_id, user, &payload, &currency, amount).await,
        Event::PaidMediaBought { user, payload } => {
            refresh_user(sh, peers, user);
            o::paid_media(sh, user, &payload).await
        }
        Event::Boost { chat, user } => {
            refresh_user(sh, peers, user);
            o::boost(sh, chat, user).await
        }
        Event::BotRights { chat, actor, admin } => {
            sh.ctx.engine.bot_membership(chat, actor, admin, sh.now())?;
            Ok(())
        }
        Event::BotStopped {
            user,
            stopped,
            date,
        } => {
            sh.ctx.engine.bot_stopped(user, stopped, date, sh.now())?;
            Ok(())
        }
    }
}
