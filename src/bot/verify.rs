//! The Telegram questions verification asks about an offer's target: is this
//! user a member, do they boost, does the comment still exist. Used by the
//! task dialogue ("Check") and by the scheduler (hold ends, reconciliation).
//! Answers carry no side effects; alerting an operator is the caller's call.

use grammers_session::types::PeerRef;

use super::tg::{Member, TgError, TgResult};
use super::Shared;
use crate::domain::offer::{Action, ChatKind, Offer, OfferStatus};
use crate::domain::task::{TaskKind, TaskRef};
use crate::store::conversions::Conversion;
use crate::store::{self, OfferId};

/// The chat where the offer's action happens, resolving its @username if the
/// session does not know it yet (and remembering the id it resolved to).
pub async fn target_chat(sh: &Shared, offer: &Offer) -> TgResult<Option<PeerRef>> {
    let in_discussion = matches!(offer.action, Action::Comment)
        || (offer.action == Action::Reaction && offer.target.chat_kind == Some(ChatKind::Channel));
    let chat = if in_discussion {
        offer.target.discussion_chat_id
    } else {
        offer.target.chat_id
    };
    if let Some(id) = chat {
        if let Some(r) = sh.tg.channel(id).await? {
            return Ok(Some(r));
        }
    }
    // The @username names the main chat, never the discussion group.
    if in_discussion {
        return Ok(None);
    }
    let Some(name) = &offer.target.username else {
        return Ok(None);
    };
    let peer = match sh.tg.client.resolve_username(name).await {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(None),
        // No such name: nothing to resolve (the operator is told by the caller).
        Err(grammers_client::InvocationError::Rpc(e)) if e.name.starts_with("USERNAME_") => {
            return Ok(None)
        }
        Err(e) => return Err(e.into()),
    };
    let resolved = peer
        .to_ref()
        .await
        .map_err(|e| TgError::Session(e.to_string()))?;
    if let Some(id) = resolved
        .as_ref()
        .and_then(|r| r.id.bare_id())
        .filter(|id| offer.target.chat_id != Some(*id))
    {
        // Updates name chats by id, and username lookups are rate-limited
        // (telegram.md 2.4), so this resolves once per offer.
        if let Err(e) = sh
            .ctx
            .engine
            .target_resolved(OfferId(offer.id), id, sh.now())
        {
            log::error!("bot: offer {}: saving the resolved chat: {e}", offer.id);
        }
        log::info!("bot: offer {}: @{name} is chat {id}", offer.id);
    }
    Ok(resolved)
}

/// Whether the offer's action happens in a chat we must know by id.
pub fn needs_chat(offer: &Offer) -> bool {
    matches!(
        offer.action,
        Action::JoinChannel | Action::JoinRequest | Action::Boost | Action::Reaction
    ) && !(offer.action == Action::Reaction && offer.target.chat_kind == Some(ChatKind::Channel))
}

/// The offer with its chat id filled in, resolving its @username now if it
/// was never resolved. On failure the offer is returned as it was (logged).
pub async fn resolved(sh: &Shared, offer: Offer) -> Offer {
    if !needs_chat(&offer) || offer.target.chat_id.is_some() || offer.target.username.is_none() {
        return offer;
    }
    match target_chat(sh, &offer).await {
        Ok(Some(r)) => {
            let mut offer = offer;
            offer.target.chat_id = r.id.bare_id();
            offer
        }
        Ok(None) => {
            log::warn!(
                "bot: offer {}: @{} does not resolve",
                offer.id,
                offer.target.username.as_deref().unwrap_or("")
            );
            offer
        }
        Err(e) => {
            log::warn!("bot: offer {}: resolving its chat: {e}", offer.id);
            offer
        }
    }
}

/// Seconds before an offer whose @username failed to resolve is tried again.
const RESOLVE_RETRY: i64 = 300;

/// Resolves the chats of active offers known only by @username, so join and
/// boost updates (which name chats by id) match them from the first one. Runs
/// every scheduler tick, so an offer created while the daemon runs is resolved
/// within a tick; a name that fails is retried every few minutes, not every tick.
pub async fn resolve_offer_targets(sh: &Shared) {
    let offers = match sh
        .ctx
        .store
        .read(|c| store::offers::offers_with_status(c, OfferStatus::Active))
    {
        Ok(o) => o,
        Err(e) => return log::error!("bot: listing offers: {e}"),
    };
    let now = sh.now();
    for offer in offers
        .into_iter()
        .filter(|o| needs_chat(o) && o.target.chat_id.is_none() && o.target.username.is_some())
    {
        let due = {
            let retry = sh.resolve_retry.lock().unwrap_or_else(|p| p.into_inner());
            retry.get(&offer.id).is_none_or(|at| *at <= now)
        };
        if !due {
            continue;
        }
        let failed = match target_chat(sh, &offer).await {
            Ok(Some(_)) => false,
            Ok(None) => true,
            Err(e) => {
                log::warn!(
                    "bot: offer {}: cannot resolve @{}: {e}",
                    offer.id,
                    offer.target.username.as_deref().unwrap_or("")
                );
                true
            }
        };
        {
            let mut retry = sh.resolve_retry.lock().unwrap_or_else(|p| p.into_inner());
            if failed {
                retry.insert(offer.id, now + RESOLVE_RETRY);
            } else {
                retry.remove(&offer.id);
            }
        }
        if failed {
            sh.operator_alert(
                offer.id,
                &format!(
                    "offer {}: @{} does not resolve to a chat the bot can see; check the username and make the bot an administrator",
                    offer.id,
                    offer.target.username.as_deref().unwrap_or("")
                ),
            )
            .await;
        }
    }
}

/// Whether `user` is a member of the offer's chat. `Ok(None)` = not a member.
pub async fn membership(sh: &Shared, offer: &Offer, user: i64) -> TgResult<Option<Member>> {
    let Some(chat) = target_chat(sh, offer).await? else {
        return Err(TgError::Unknown(format!(
            "the target chat of offer {}",
            offer.id
        )));
    };
    sh.tg.membership(&chat, user).await
}

/// Whether `user` boosts the offer's channel.
pub async fn boosts(sh: &Shared, offer: &Offer, user: i64) -> TgResult<bool> {
    let Some(chat) = target_chat(sh, offer).await? else {
        return Err(TgError::Unknown(format!(
            "the channel of offer {}",
            offer.id
        )));
    };
    sh.tg.boosts(&chat, user).await
}

/// Re-checks a conversion at hold end or in a reconciliation sweep. `Ok(None)`
/// means "cannot tell now" (Telegram unreachable, rights lost): try again
/// later, never reject on our failure.
pub async fn still_valid(sh: &Shared, c: &Conversion) -> anyhow::Result<Option<(bool, String)>> {
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
                    log::warn!("bot: re-check of conversion {} failed: {e}", c.id);
                    if let TgError::NotAdmin(_) = e {
                        super::notify::admin_rights_lost(sh, &offer, &e.to_string());
                    }
                    return Ok(None);
                }
            }
        }
        Action::Boost => match boosts(sh, &offer, c.tg_user_id).await {
            Ok(b) => (b, format!("premium.getUserBoosts: boosting = {b}")),
            Err(_) => return Ok(None),
        },
        Action::Comment => {
            let task = match c.lead_id {
                Some(l) => sh.ctx.engine.task_of(l, TaskKind::Comment)?,
                None => None,
            };
            match task {
                Some((TaskRef::Comment { chat, msg, .. }, _, _)) => {
                    match sh.tg.channel_message(chat, msg).await {
                        // A chat the session does not know cannot be asked: no evidence of deletion.
                        Ok(m) => {
                            let exists = m.is_none_or(|m| m.is_some());
                            (
                                exists,
                                format!("channels.getMessages: comment {msg} exists = {exists}"),
                            )
                        }
                        Err(_) => return Ok(None),
                    }
                }
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
