//! The end user's dialogue: `/start TOKEN` binds them to the click, the task
//! card shows what to do, "Check" asks Telegram, and every observed action
//! (`observe.rs`) is reported to the engine, whose outcome is told to the user.

mod artefacts;
pub mod observe;

pub use artefacts::xtr_invoice;

use grammers_client::message::{Button as TgButton, InputMessage, ReplyMarkup};

use super::buttons::Button;
use super::texts::{self, Lang};
use super::tg::TgError;
use super::{verify, Shared};
use crate::domain::conversion::RejectReason;
use crate::domain::offer::{Action, ConversionStatus, Offer};
use crate::domain::token;
use crate::engine::{ActionOutcome, Seen, StartOutcome};
use crate::store::conversions::Conversion;
use crate::store::leads::Lead;
use crate::store::users::TgUser;
use crate::store::{self, OfferId};

/// `/start [TOKEN]` from `user` (already refreshed from the update).
pub async fn start(sh: &Shared, user: &TgUser, payload: &str, msg_id: i32) -> anyhow::Result<()> {
    let l = Lang::from_code(user.lang.as_deref());
    let t = sh.now();
    let organic = |why: &str| Seen {
        natural_key: format!("start:{}:{msg_id}", user.id),
        kind: "organic_start".into(),
        user: Some(user.id),
        lead: None,
        detail: why.into(),
        at: t,
    };
    if payload.is_empty() {
        sh.ctx.engine.record_event(&organic("no payload"), t)?;
        return sh.say(user.id, texts::welcome_no_token(l)).await;
    }
    if !token::is_start_payload(payload) {
        return sh.say(user.id, texts::unknown_token(l)).await;
    }
    match sh.ctx.engine.start(payload, user, t)? {
        StartOutcome::UnknownToken => {
            sh.ctx.engine.record_event(&organic("unknown token"), t)?;
            sh.say(user.id, texts::unknown_token(l)).await
        }
        StartOutcome::ExpiredToken => sh.say(user.id, texts::unknown_token(l)).await,
        StartOutcome::TakenByOther => sh.say(user.id, texts::taken_by_other(l)).await,
        StartOutcome::OfferClosed(_) => sh.say(user.id, texts::offer_closed(l)).await,
        StartOutcome::Bound {
            lead,
            offer,
            conversion,
            closed,
            ..
        } => {
            if conversion.status != ConversionStatus::Lead {
                return reply_outcome(sh, user.id, l, &conversion).await;
            }
            if let Some(why) = closed {
                return sh.say(user.id, texts::not_now(l, why)).await;
            }
            show_task(sh, &lead, &offer, user.id, l).await
        }
    }
}

/// Tells the user what a decided conversion means for them.
pub async fn reply_outcome(sh: &Shared, uid: i64, l: Lang, c: &Conversion) -> anyhow::Result<()> {
    let text = match (c.status, c.reason) {
        (ConversionStatus::Hold, _) => texts::accepted(l, true).to_string(),
        (ConversionStatus::Approved, _) => texts::accepted(l, false).to_string(),
        (ConversionStatus::Rejected, Some(RejectReason::AlreadyDone)) => {
            texts::already_done(l).to_string()
        }
        (ConversionStatus::Rejected, r) => texts::rejected(l, r),
        (ConversionStatus::Lead, _) => return Ok(()),
    };
    sh.say(uid, text).await
}

/// Tells the lead's user the outcome if this update decided it.
pub async fn notify(sh: &Shared, lead: &Lead, out: &ActionOutcome) {
    if let ActionOutcome::Decided(c) = out {
        let l = sh.lang_of(lead.tg_user_id);
        if let Err(e) = reply_outcome(sh, lead.tg_user_id, l, c).await {
            log::warn!("bot: telling user {} the outcome: {e:#}", lead.tg_user_id);
        }
    }
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
    sh: &Shared,
    lead: &Lead,
    offer: &Offer,
    user: i64,
    l: Lang,
) -> anyhow::Result<()> {
    let check = TgButton::data(
        texts::check_button(l),
        Button::Check { offer: offer.id }.encode(),
    );
    let open = |link: String| vec![TgButton::url(texts::open_button(l, offer.action), link)];
    let mut rows: Vec<Vec<TgButton>> = Vec::new();
    // The chat is resolved before the task is shown: an action in a chat we
    // cannot name by id would never be matched, and must not be asked for.
    if verify::needs_chat(offer) {
        match verify::target_chat(sh, offer).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                let e = TgError::Unknown(format!("the target chat of offer {}", offer.id));
                return task_unavailable(sh, offer, user, l, e).await;
            }
            Err(e) => return task_unavailable(sh, offer, user, l, e).await,
        }
    }
    match offer.action {
        Action::JoinChannel | Action::JoinRequest => {
            // A user who is already a member before the click does not count.
            match verify::membership(sh, offer, user).await {
                // Already a member when the task is first shown: it counts only if
                // they joined strictly after the click's second (the stricter reading).
                Ok(Some(found)) => {
                    let out = sh.ctx.engine.membership_seen(
                        lead.id,
                        found.since.map(|s| s - 1),
                        "getParticipant when the task was shown",
                        sh.now(),
                    )?;
                    return reply_outcome(sh, user, l, out.conversion()).await;
                }
                Ok(None) => {}
                Err(e) => return task_unavailable(sh, offer, user, l, e).await,
            }
            let link = match (offer.action, public_link(offer)) {
                (Action::JoinChannel, Some(link)) => link,
                _ => match artefacts::invite_link(sh, lead, offer).await {
                    Ok(link) => link,
                    Err(e) => return task_unavailable(sh, offer, user, l, e).await,
                },
            };
            rows.push(open(link));
            rows.push(vec![check]);
        }
        Action::Comment | Action::Reaction => rows.extend(public_link(offer).map(open)),
        Action::Boost => {
            rows.extend(public_link(offer).map(open));
            rows.push(vec![check]);
        }
        Action::ThirdPartyBot => {
            if let Some(url) = &offer.target.url {
                let token = sh
                    .ctx
                    .store
                    .read(|c| store::leads::click_token(c, lead.click_id))?
                    .ok_or_else(|| anyhow::anyhow!("lead {} has no click", lead.id))?;
                let sep = if url.contains('?') { '&' } else { '?' };
                let param = if url.contains("startapp") || url.contains("/app") {
                    "startapp"
                } else {
                    "start"
                };
                rows.push(open(format!("{url}{sep}{param}={token}")));
            }
        }
        Action::Share => {
            let link = artefacts::share_link(sh, lead, offer)?;
            // The button opens Telegram's share dialog rather than the link itself:
            // the user's own tap must not count as a visitor.
            let share = format!(
                "https://t.me/share/url?url={}",
                percent_encoding::utf8_percent_encode(&link, percent_encoding::NON_ALPHANUMERIC)
            );
            rows.push(open(share));
            let text = texts::share_task(l, offer, &link);
            return sh
                .send(
                    user,
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
    sh.send(user, msg).await?;
    match offer.action {
        Action::PollVote => artefacts::send_poll(sh, lead, offer).await,
        Action::StarsPayment => artefacts::send_invoice(sh, lead, offer, l).await,
        Action::PaidMedia => artefacts::send_paid_media(sh, lead, offer).await,
        _ => Ok(()),
    }
}

/// The task cannot be shown because of a setup problem (e.g. the bot is not an
/// admin of the chat): the user gets a polite answer, the admins the reason.
async fn task_unavailable(
    sh: &Shared,
    offer: &Offer,
    user: i64,
    l: Lang,
    e: impl Into<anyhow::Error>,
) -> anyhow::Result<()> {
    let e = e.into();
    setup_problem(sh, offer, &e).await;
    sh.say(user, texts::task_unavailable(l)).await
}

/// Reports a failed Telegram query about an offer: a missing right or an
/// unknown chat is the operator's to fix, so they are told (at most hourly).
pub async fn setup_problem(sh: &Shared, offer: &Offer, e: &anyhow::Error) {
    log::error!("bot: offer {}: {e:#}", offer.id);
    if let Some(TgError::NotAdmin(_) | TgError::Unknown(_)) = e.downcast_ref::<TgError>() {
        let detail = format!(
            "offer {}: {e}; make the bot an administrator of the target chat so actions can be verified",
            offer.id
        );
        sh.operator_alert(offer.id, &detail).await;
        if let Some(TgError::NotAdmin(_)) = e.downcast_ref::<TgError>() {
            crate::bot::notify::admin_rights_lost(sh, offer, &format!("{e}"));
        }
    }
}

/// "Check" pressed: ask Telegram now. Returns the alert to show, if any.
pub async fn check(
    sh: &Shared,
    uid: i64,
    offer_id: i64,
    l: Lang,
) -> anyhow::Result<Option<String>> {
    let offer_id = OfferId(offer_id);
    let found = sh.ctx.store.read(|c| -> store::Result<_> {
        let lead = store::leads::lead_by_offer_user(c, offer_id, uid)?;
        let offer = store::offers::get_offer(c, offer_id)?;
        Ok(lead.zip(offer))
    })?;
    let Some((lead, offer)) = found else {
        return Ok(Some(texts::stale_button(l).into()));
    };
    let t = sh.now();
    let out = match offer.action {
        Action::JoinChannel | Action::JoinRequest => {
            match verify::membership(sh, &offer, uid).await {
                Ok(Some(m)) => sh.ctx.engine.membership_seen(
                    lead.id,
                    m.since,
                    "getParticipant on \"Check\"",
                    t,
                )?,
                Ok(None) => {
                    sh.ctx.engine.note(
                        None,
                        Some(lead.id),
                        "check",
                        "getParticipant: not a member yet",
                        t,
                    )?;
                    return Ok(Some(texts::not_yet(l, offer.action).into()));
                }
                Err(e) => {
                    setup_problem(sh, &offer, &e.into()).await;
                    return Ok(Some(texts::task_unavailable(l).into()));
                }
            }
        }
        Action::Boost => match verify::boosts(sh, &offer, uid).await {
            Ok(true) => match sh.ctx.engine.action_seen(
                lead.id,
                Action::Boost,
                true,
                "premium.getUserBoosts: the user boosts the channel",
                t,
            )? {
                Some(out) => out,
                None => return Ok(None),
            },
            Ok(false) => return Ok(Some(texts::not_yet(l, offer.action).into())),
            Err(e) => {
                setup_problem(sh, &offer, &e.into()).await;
                return Ok(Some(texts::task_unavailable(l).into()));
            }
        },
        _ => return Ok(Some(texts::not_yet(l, offer.action).into())),
    };
    match out {
        ActionOutcome::AlreadyDecided(_) => Ok(Some(texts::already_decided(l).into())),
        ActionOutcome::Decided(c) => {
            reply_outcome(sh, uid, l, &c).await?;
            Ok(None)
        }
    }
}
