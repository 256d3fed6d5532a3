//! The `/ads` wizard at the edge: loads a chat's wizard state, feeds the pure
//! step function (`ads/`) its input, saves the new state, and runs its effects
//! against Telegram and the store. Each chat has its own row, so two
//! advertisers' wizards never mix; a row that no longer decodes restarts the
//! wizard with an apology.

use std::collections::VecDeque;

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};
use grammers_client::peer::Peer;
use grammers_client::InvocationError;
use grammers_session::types::PeerRef;
use grammers_tl_types as tl;

use super::ads::{
    self, render, AdsButton, AdsState, BotRights, Effect, Env, Input, InspectError, Submission,
    SubmitError, TargetFacts, TmeLink,
};
use super::buttons::Button;
use super::tasks::xtr_invoice;
use super::texts::Lang;
use super::tg::TgError;
use super::Shared;
use crate::domain::offer::{ChatKind, OfferStatus};
use crate::domain::payment::InvoicePayload;
use crate::service::dialogues::{self, Dialogue};
use crate::service::offers::{self as service, Actor, CreateError};
use crate::store::{self, OfferId};

/// The largest budget one Stars invoice may carry (the Bot API's cap on an
/// XTR price; a bigger campaign is split by lowering its cap).
pub const MAX_INVOICE_STARS: i64 = 10_000;

/// The wizard is over (paid, or cancelled): its row goes.
pub fn finished(sh: &Shared, user: i64) -> anyhow::Result<()> {
    dialogues::clear(&sh.ctx.store, Dialogue::Ads, user)?;
    Ok(())
}

/// `/ads`.
pub async fn start(sh: &Shared, user: i64, l: Lang) -> anyhow::Result<()> {
    run(sh, user, l, Input::Start).await
}

/// `/cancel`.
pub async fn cancel(sh: &Shared, user: i64, l: Lang) -> anyhow::Result<()> {
    run(sh, user, l, Input::Cancel).await
}

/// Plain text: consumed when a wizard is running in this chat.
pub async fn text(sh: &Shared, user: i64, l: Lang, text: &str) -> anyhow::Result<bool> {
    // Loaded once: this runs for every plain message of every user.
    let state = load(sh, user);
    if matches!(state, Ok(AdsState::Idle)) {
        return Ok(false);
    }
    run_from(sh, user, l, state, Input::Text(text.to_string())).await?;
    Ok(true)
}

/// A wizard button. The wizard answers stale ones itself.
pub async fn button(
    sh: &Shared,
    user: i64,
    l: Lang,
    b: AdsButton,
) -> anyhow::Result<Option<String>> {
    run(sh, user, l, Input::Button(b)).await?;
    Ok(None)
}

/// The chat's wizard; `Err` when its row no longer decodes.
fn load(sh: &Shared, user: i64) -> Result<AdsState, ()> {
    match dialogues::load(&sh.ctx.store, Dialogue::Ads, user) {
        Ok(None) => Ok(AdsState::Idle),
        Ok(Some((v, json))) => {
            let v = u32::try_from(v).unwrap_or(0);
            ads::decode(v, &json).map_err(|e| {
                log::warn!("bot: wizard of {user} does not decode ({e:?}); restarting it")
            })
        }
        Err(e) => {
            log::error!("bot: loading the wizard of {user}: {e}");
            Err(())
        }
    }
}

fn save(sh: &Shared, user: i64, s: &AdsState) -> anyhow::Result<()> {
    match s {
        AdsState::Idle => dialogues::clear(&sh.ctx.store, Dialogue::Ads, user)?,
        s => dialogues::save(
            &sh.ctx.store,
            Dialogue::Ads,
            user,
            ads::VERSION as i64,
            &s.encode(),
            sh.now(),
        )?,
    }
    Ok(())
}

/// Steps the wizard with `input`, and with the answers its effects produce.
async fn run(sh: &Shared, user: i64, l: Lang, input: Input) -> anyhow::Result<()> {
    run_from(sh, user, l, load(sh, user), input).await
}

/// [`run`] from a state already loaded.
async fn run_from(
    sh: &Shared,
    user: i64,
    l: Lang,
    loaded: Result<AdsState, ()>,
    input: Input,
) -> anyhow::Result<()> {
    let now = sh.now();
    // A campaign's budget is what the advertiser prepays, and a Stars invoice
    // cannot be for 0: every action costs at least 1 Star, whatever the minimum.
    let minimum = |a| {
        let m = sh.minimum(a);
        crate::domain::offer::PricePair {
            regular: m.regular.max(1),
            premium: m.premium.max(1),
        }
    };
    let default_hold = |a| {
        store::settings::default_hold(&sh.ctx.store, a).unwrap_or_else(|_| a.default_hold_seconds())
    };
    let existing = |s: &AdsState| match s {
        AdsState::Active(w) => w.draft.offer_id,
        AdsState::Idle => None,
    };
    let (mut state, mut effects) = match loaded {
        Ok(s) => (s, Vec::new()),
        Err(()) => {
            let (s, e) = ads::restart_after_bad_row();
            save(sh, user, &s)?;
            (s, e)
        }
    };
    let mut inputs = VecDeque::from([input]);
    // A submission whose budget the credit covers: settled after the wizard
    // has shown its waiting screen (which the settlement then closes).
    let mut covered = None;
    loop {
        for e in std::mem::take(&mut effects) {
            match e {
                Effect::Show(screen) => show(sh, user, l, &screen).await?,
                Effect::Inspect(link) => {
                    inputs.push_back(Input::Inspected(inspect(sh, user, &link).await))
                }
                Effect::Submit(sub) => {
                    let r = submit(sh, user, l, *sub).await;
                    if let Ok(id) = r {
                        covered = fully_covered(sh, id);
                    }
                    inputs.push_back(Input::Submitted(r))
                }
                Effect::Discard(id) => discard(sh, user, id),
                Effect::Clear => finished(sh, user)?,
            }
        }
        let Some(input) = inputs.pop_front() else {
            break;
        };
        let draft_id = existing(&state).map(OfferId);
        let slug_taken = |slug: &str| {
            sh.ctx
                .store
                .read(|c| store::offers::slug_taken(c, slug, draft_id))
                .unwrap_or(true)
        };
        let env = Env {
            now,
            minimum: &minimum,
            default_hold: &default_hold,
            slug_taken: &slug_taken,
            our_bot: &sh.ctx.telegram.bot_username,
            max_invoice_stars: MAX_INVOICE_STARS,
        };
        let (next, out) = ads::step(state, input, &env);
        // Saved before the effects run: a crash in between replays at most
        // a message, never loses what the advertiser chose.
        save(sh, user, &next)?;
        reopen_if_editing(sh, user, &next);
        state = next;
        effects = out;
    }
    if let Some(id) = covered {
        paid_from_credit(sh, user, id).await?;
    }
    Ok(())
}

async fn show(sh: &Shared, user: i64, l: Lang, screen: &ads::Screen) -> anyhow::Result<()> {
    let r = render(screen, l);
    let rows: Vec<Vec<TgButton>> = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|(label, b)| TgButton::data(label, Button::Ads(*b).encode()))
                .collect()
        })
        .collect();
    let mut msg = InputMessage::new().html(r.text);
    if !rows.is_empty() {
        msg = msg.reply_markup(ReplyMarkup::from_buttons(&rows));
    }
    sh.send(user, msg).await
}

/// Back in the wizard after asking to pay: the draft offer leaves
/// `awaiting_payment` (its revision moves on), so the invoice already sent is
/// declined as being for the terms before the edit.
fn reopen_if_editing(sh: &Shared, user: i64, s: &AdsState) {
    let AdsState::Active(w) = s else { return };
    let Some(id) = w.draft.offer_id else { return };
    if matches!(w.step, ads::Step::AwaitingPayment | ads::Step::Submitting) {
        return;
    }
    if let Err(e) = service::set_status(
        &sh.ctx.store,
        OfferId(id),
        Some(OfferStatus::AwaitingPayment),
        OfferStatus::Draft,
        Actor::Advertiser(user),
        sh.now(),
    ) {
        // Already a draft (the usual case after the first edit), or paid meanwhile.
        log::debug!("bot: reopening draft {id} of {user}: {e}");
    }
}

/// Cancelled after asking to pay: the draft offer is closed, so its invoice is declined.
fn discard(sh: &Shared, user: i64, id: i64) {
    match service::set_status(
        &sh.ctx.store,
        OfferId(id),
        Some(OfferStatus::AwaitingPayment),
        OfferStatus::Finished,
        Actor::Advertiser(user),
        sh.now(),
    ) {
        Ok(_) => {}
        // Paid meanwhile (or already closed): the payment path decides.
        Err(e) => log::info!("bot: discarding draft {id} of {user}: {e}"),
    }
}

/// Creates (or updates) the awaiting-payment offer and sends the invoice for its budget.
async fn submit(sh: &Shared, user: i64, l: Lang, sub: Submission) -> Result<i64, SubmitError> {
    let mut draft = sub.draft;
    draft.advertiser_id = Some(user);
    draft.hold_seconds = Some(sub.hold_seconds);
    draft.budget_total = Some(sub.budget);
    let minimum = sh.minimum(draft.action);
    let name = draft.name.clone();
    let submitted = match service::submit(
        &sh.ctx.store,
        draft,
        minimum,
        &sub.slug,
        sub.existing.map(OfferId),
        sh.now(),
    ) {
        Ok(x) => x,
        Err(CreateError::SlugTaken(_)) => return Err(SubmitError::SlugTaken),
        Err(CreateError::Draft(e)) if e.field == "price" => return Err(SubmitError::MinimumRaised),
        Err(e) => {
            log::warn!("bot: submitting the campaign of {user}: {e}");
            return Err(SubmitError::Invalid);
        }
    };
    let id = submitted.offer;
    if submitted.to_pay == 0 {
        // The advertiser's credit covers it all: no invoice (one of 0 Stars
        // cannot exist); the payment step is settled after the wizard's screen.
        return Ok(id.0);
    }
    if submitted.credit_applied > 0 {
        let note = super::texts::credit_applied(l, submitted.credit_applied, submitted.to_pay);
        if let Err(e) = sh.say(user, note).await {
            log::warn!("bot: telling {user} about their credit: {e:#}");
        }
    }
    let title: String = super::texts::campaign_invoice_title(l)
        .chars()
        .take(32)
        .collect();
    let description: String = name.chars().take(255).collect();
    let payload = InvoicePayload::Campaign {
        offer: id.0,
        revision: submitted.revision,
    };
    let media = xtr_invoice(&title, &description, &name, submitted.to_pay, payload);
    if let Err(e) = sh.tg.send_media(user, media).await {
        log::error!("bot: sending the invoice of campaign {id}: {e}");
        return Err(SubmitError::Invalid);
    }
    Ok(id.0)
}

/// The draft `id` if the advertiser's credit covers its whole budget.
fn fully_covered(sh: &Shared, id: i64) -> Option<i64> {
    let o = sh
        .ctx
        .store
        .read(|c| store::offers::get_offer(c, OfferId(id)))
        .ok()
        .flatten()?;
    (o.budget_total == Some(o.credit_applied)).then_some(id)
}

/// After a submission the credit fully covered: to review, as if paid.
async fn paid_from_credit(sh: &Shared, user: i64, id: i64) -> anyhow::Result<()> {
    let out = sh
        .ctx
        .engine
        .campaign_paid_from_credit(user, OfferId(id), sh.now())?;
    if let Some(crate::engine::PaymentOutcome::CampaignPaid { offer }) = out {
        super::advertiser::campaign_paid(sh, user, offer).await?;
    }
    Ok(())
}

/// Resolves a link and gathers what the wizard needs to know about its target.
async fn inspect(sh: &Shared, user: i64, link: &TmeLink) -> Result<TargetFacts, InspectError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        log::warn!("bot: inspecting {link:?}: {e}");
        InspectError::Unreachable
    };
    let (chat, post) = match link {
        TmeLink::Username { username }
        | TmeLink::PublicPost { username, .. }
        | TmeLink::BotApp { bot: username, .. } => {
            let peer = match sh.tg.client.resolve_username(username).await {
                Ok(Some(p)) => p,
                Ok(None) => return Err(InspectError::NotFound),
                Err(InvocationError::Rpc(e)) if e.name.starts_with("USERNAME_") => {
                    return Err(InspectError::NotFound)
                }
                Err(e) => return Err(unreachable(&e)),
            };
            if let Peer::User(u) = &peer {
                let me = u.id().bare_id() == Some(sh.me);
                let kind = if me {
                    ChatKind::BotChat
                } else if u.is_bot() {
                    ChatKind::Bot
                } else {
                    ChatKind::User
                };
                return Ok(TargetFacts {
                    kind,
                    chat_id: u.id().bare_id(),
                    username: u.username().map(str::to_string),
                    title: u.full_name(),
                    msg_id: None,
                    post_exists: false,
                    discussion_chat_id: None,
                    discussion_title: None,
                    bot_rights_in_chat: None,
                    bot_rights_in_discussion: None,
                    app_short_name: match link {
                        TmeLink::BotApp { app, .. } => Some(app.clone()),
                        _ => None,
                    },
                });
            }
            let Some(r) = peer.to_ref().await.map_err(|e| unreachable(&e))? else {
                return Err(InspectError::Inaccessible);
            };
            (r, link.post())
        }
        TmeLink::PrivatePost { channel, .. } | TmeLink::PrivateChat { channel } => {
            match sh.tg.channel(*channel).await.map_err(|e| unreachable(&e))? {
                Some(r) => (r, link.post()),
                None => return Err(InspectError::Inaccessible),
            }
        }
        TmeLink::Invite { .. } => {
            // Bots cannot open invite links: the chat is the one this advertiser
            // most recently made the bot an admin of.
            let chat = sh
                .ctx
                .engine
                .chat_promoted_by(user, sh.now())
                .map_err(|e| unreachable(&e))?;
            match chat {
                Some(id) => match sh.tg.channel(id).await.map_err(|e| unreachable(&e))? {
                    Some(r) => (r, None),
                    None => return Err(InspectError::Inaccessible),
                },
                None => return Err(InspectError::Inaccessible),
            }
        }
    };
    chat_facts(sh, &chat, post).await
}

async fn chat_facts(
    sh: &Shared,
    chat: &PeerRef,
    post: Option<i32>,
) -> Result<TargetFacts, InspectError> {
    let unreachable = |e: &dyn std::fmt::Display| {
        log::warn!("bot: inspecting chat {}: {e}", chat.id);
        InspectError::Unreachable
    };
    let classify = |e: InvocationError| match &e {
        InvocationError::Rpc(r)
            if matches!(r.name.as_str(), "CHANNEL_PRIVATE" | "CHANNEL_INVALID") =>
        {
            InspectError::Inaccessible
        }
        _ => unreachable(&e),
    };
    let req = tl::functions::channels::GetFullChannel {
        channel: chat.into(),
    };
    let full = sh.tg.invoke(&req).await.map_err(classify)?;
    let tl::enums::messages::ChatFull::Full(full) = full;
    let tl::enums::ChatFull::ChannelFull(cf) = &full.full_chat else {
        return Err(InspectError::Inaccessible);
    };
    let find = |id: i64| {
        full.chats.iter().find_map(|c| match c {
            tl::enums::Chat::Channel(ch) if ch.id == id => Some(ch.clone()),
            _ => None,
        })
    };
    let id = chat.id.bare_id().ok_or(InspectError::Inaccessible)?;
    let ch = find(id).ok_or(InspectError::Inaccessible)?;
    let kind = if ch.broadcast {
        ChatKind::Channel
    } else {
        ChatKind::Supergroup
    };
    let discussion = cf.linked_chat_id.filter(|_| ch.broadcast);
    let rights = |p: Option<PeerRef>| async move {
        let Some(p) = p else { return Ok(None) };
        bot_rights(sh, &p).await
    };
    let bot_rights_in_chat = rights(Some(*chat)).await.map_err(|e| unreachable(&e))?;
    let disc_ref = match discussion {
        Some(d) => sh.tg.channel(d).await.map_err(|e| unreachable(&e))?,
        None => None,
    };
    let bot_rights_in_discussion = rights(disc_ref).await.map_err(|e| unreachable(&e))?;
    let post_exists = match post {
        Some(p) => match sh.tg.channel_message(id, p).await {
            Ok(Some(Some(_))) => true,
            Ok(_) => false,
            Err(e) => return Err(unreachable(&e)),
        },
        None => false,
    };
    Ok(TargetFacts {
        kind,
        chat_id: Some(id),
        username: ch.username.clone(),
        title: ch.title.clone(),
        msg_id: post,
        post_exists,
        discussion_chat_id: discussion,
        discussion_title: discussion.and_then(find).map(|c| c.title),
        bot_rights_in_chat,
        bot_rights_in_discussion,
        app_short_name: None,
    })
}

/// The bot's own standing in a chat (channels.getParticipant with inputPeerSelf).
async fn bot_rights(sh: &Shared, chat: &PeerRef) -> Result<Option<BotRights>, TgError> {
    let req = tl::functions::channels::GetParticipant {
        channel: chat.into(),
        participant: tl::enums::InputPeer::PeerSelf,
    };
    use tl::enums::ChannelParticipant as P;
    match sh.tg.invoke(&req).await {
        Ok(tl::enums::channels::ChannelParticipant::Participant(p)) => Ok(match p.participant {
            P::Creator(_) => Some(BotRights {
                admin: true,
                invite_users: true,
            }),
            P::Admin(a) => {
                let tl::enums::ChatAdminRights::Rights(r) = a.admin_rights;
                Some(BotRights {
                    admin: true,
                    invite_users: r.invite_users,
                })
            }
            P::Participant(_) | P::ParticipantSelf(_) => Some(BotRights::default()),
            P::Banned(_) | P::Left(_) => None,
        }),
        Err(InvocationError::Rpc(e))
            if e.name == "USER_NOT_PARTICIPANT" || e.name == "CHANNEL_PRIVATE" =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
