//! Observed actions: each event is journaled and reported to the engine for
//! every lead of the acting user it can belong to; the engine decides.

use super::{notify, verify, Shared};
use crate::domain::offer::{Action, ChatKind, Offer};
use crate::domain::payment::InvoicePayload;
use crate::domain::task::TaskRef;
use crate::engine::Seen;
use crate::store::leads::Lead;
use crate::store::{self, LeadId};

/// A Telegram timestamp for the audit trail.
fn when(ts: i64) -> String {
    chrono::DateTime::from_timestamp(ts, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_else(|| ts.to_string())
}

/// The user's leads whose offer has one of `actions`, with their offers. An
/// offer whose chat is known only by @username is resolved first: updates name
/// chats by id, and an action must never be dropped because the id was not
/// known yet (reactions cannot be re-read later).
async fn leads_for(
    sh: &Shared,
    user: i64,
    actions: &[Action],
) -> anyhow::Result<Vec<(Lead, Offer)>> {
    let found = sh.ctx.store.read(|c| -> store::Result<_> {
        let mut out = Vec::new();
        for lead in store::leads::leads_of_user(c, user)? {
            if let Some(o) = store::offers::get_offer(c, lead.offer_id)? {
                if actions.contains(&o.action) {
                    out.push((lead, o));
                }
            }
        }
        Ok(out)
    })?;
    let mut out = Vec::with_capacity(found.len());
    for (lead, offer) in found {
        out.push((lead, verify::resolved(sh, offer).await));
    }
    Ok(out)
}

fn seen(key: String, kind: &str, user: i64, lead: Option<&Lead>, detail: String, at: i64) -> Seen {
    Seen {
        natural_key: key,
        kind: kind.into(),
        user: Some(user),
        lead: lead.map(|l| (l.offer_id, l.id)),
        detail,
        at,
    }
}

/// Reports a reversible action to the engine and tells the user if it decided it.
async fn report(
    sh: &Shared,
    lead: &Lead,
    action: Action,
    done: bool,
    evidence: &str,
) -> anyhow::Result<()> {
    if let Some(out) = sh
        .ctx
        .engine
        .action_seen(lead.id, action, done, evidence, sh.now())?
    {
        notify(sh, lead, &out).await;
    }
    Ok(())
}

pub async fn membership(
    sh: &Shared,
    chat: i64,
    user: i64,
    joined: bool,
    date: i64,
    invite: Option<&str>,
) -> anyhow::Result<()> {
    let leads: Vec<_> = leads_for(sh, user, &[Action::JoinChannel, Action::JoinRequest])
        .await?
        .into_iter()
        .filter(|(_, o)| o.target.chat_id == Some(chat))
        .collect();
    let kind = if joined { "join" } else { "leave" };
    let key = format!("{kind}:{chat}:{user}:{date}");
    let detail = format!("chat {chat}, invite {invite:?}");
    let t = sh.now();
    if leads.is_empty() {
        sh.ctx.engine.record_event(
            &seen(key, &format!("organic_{kind}"), user, None, detail, date),
            t,
        )?;
        return Ok(());
    }
    for (lead, _) in leads {
        // The journal dedupes repeats; decisions do not depend on it: the engine
        // is idempotent, and a crash between the two must not lose the action.
        sh.ctx.engine.record_event(
            &seen(
                format!("{key}:{}", lead.id),
                kind,
                user,
                Some(&lead),
                detail.clone(),
                date,
            ),
            t,
        )?;
        if joined {
            let out = sh.ctx.engine.membership_seen(
                lead.id,
                Some(date),
                &format!(
                    "updateChannelParticipant: joined chat {chat} at {}",
                    when(date)
                ),
                t,
            )?;
            notify(sh, &lead, &out).await;
        } else {
            let action = sh
                .ctx
                .store
                .read(|c| store::offers::get_offer(c, lead.offer_id))?
                .map(|o| o.action)
                .unwrap_or(Action::JoinChannel);
            report(
                sh,
                &lead,
                action,
                false,
                &format!(
                    "updateChannelParticipant: left chat {chat} at {}",
                    when(date)
                ),
            )
            .await?;
        }
    }
    Ok(())
}

pub async fn reaction(
    sh: &Shared,
    chat: i64,
    msg_id: i32,
    user: i64,
    added: bool,
    date: i64,
    qts: i32,
) -> anyhow::Result<()> {
    let mut candidates = Vec::new();
    for (lead, offer) in leads_for(sh, user, &[Action::Reaction]).await? {
        let hit = if offer.target.chat_kind == Some(ChatKind::Channel) {
            // A post's reactions are anonymous in the channel; the offer asks
            // for one on the post's copy in the discussion group (telegram.md 1.3).
            offer.target.discussion_chat_id == Some(chat)
                && sh.tg.discussion_origin(chat, msg_id).await? == offer.target.msg_id
        } else {
            offer.target.chat_id == Some(chat) && offer.target.msg_id == Some(msg_id)
        };
        if hit {
            candidates.push(lead);
        }
    }
    for lead in candidates {
        sh.ctx.engine.record_event(
            &seen(
                format!("reaction:{chat}:{msg_id}:{user}:{date}:{qts}:{}", lead.id),
                "reaction",
                user,
                Some(&lead),
                format!("added: {added}"),
                date,
            ),
            sh.now(),
        )?;
        let evidence = if added {
            format!("updateBotMessageReaction on message {msg_id} in chat {chat}")
        } else {
            "updateBotMessageReaction: reaction removed".to_string()
        };
        report(sh, &lead, Action::Reaction, added, &evidence).await?;
    }
    Ok(())
}

pub async fn poll_vote(sh: &Shared, poll_id: i64, user: i64, voted: bool) -> anyhow::Result<()> {
    let Some(lead) = sh.ctx.engine.lead_of_task(&TaskRef::Poll(poll_id))? else {
        return Ok(());
    };
    if lead.tg_user_id != user {
        return Ok(());
    }
    let evidence = if voted {
        format!("updateMessagePollVote on poll {poll_id}")
    } else {
        "updateMessagePollVote: vote retracted".to_string()
    };
    report(sh, &lead, Action::PollVote, voted, &evidence).await
}

pub async fn paid_media(sh: &Shared, user: i64, payload: &str) -> anyhow::Result<()> {
    let Some(InvoicePayload::Task { lead }) = InvoicePayload::decode(payload.as_bytes()) else {
        return Ok(());
    };
    let Some(lead) = sh
        .ctx
        .store
        .read(|c| store::leads::get_lead(c, LeadId(lead)))?
        .filter(|l| l.tg_user_id == user)
    else {
        return Ok(());
    };
    sh.ctx.engine.record_event(
        &seen(
            format!("paid_media:{}:{payload}", lead.id),
            "paid_media",
            user,
            Some(&lead),
            payload.into(),
            sh.now(),
        ),
        sh.now(),
    )?;
    report(
        sh,
        &lead,
        Action::PaidMedia,
        true,
        "updateBotPurchasedPaidMedia",
    )
    .await
}

pub async fn boost(sh: &Shared, chat: i64, user: i64) -> anyhow::Result<()> {
    for (lead, _) in leads_for(sh, user, &[Action::Boost])
        .await?
        .into_iter()
        .filter(|(_, o)| o.target.chat_id == Some(chat))
    {
        report(
            sh,
            &lead,
            Action::Boost,
            true,
            &format!("updateBotChatBoost in chat {chat}"),
        )
        .await?;
    }
    Ok(())
}

pub async fn join_request(
    sh: &Shared,
    peer: grammers_session::types::PeerId,
    user: i64,
    invite: Option<&str>,
) -> anyhow::Result<()> {
    let Some(link) = invite else { return Ok(()) };
    let Some(lead) = sh
        .ctx
        .engine
        .lead_of_task(&TaskRef::Invite(link.to_string()))?
    else {
        // Not one of our links: the chat's admins decide.
        return Ok(());
    };
    // Approve only the attributed user; someone else using their link is declined.
    let approved = lead.tg_user_id == user;
    let user_ref = sh.tg.user(user).await?;
    let peer = sh
        .tg
        .peer(peer)
        .await?
        .ok_or_else(|| anyhow::anyhow!("join request for an unknown chat"))?;
    let req = grammers_tl_types::functions::messages::HideChatJoinRequest {
        approved,
        peer: (&peer).into(),
        user_id: (&user_ref).into(),
    };
    sh.tg.invoke(&req).await?;
    let detail = format!(
        "join request by user {user} via {link}: {}",
        if approved {
            "approved"
        } else {
            "declined (not the attributed user)"
        }
    );
    sh.ctx
        .engine
        .note(None, Some(lead.id), "join request", &detail, sh.now())?;
    Ok(())
}

/// A message in a supergroup: a comment if it replies to the thread of an
/// offer's post in its discussion group.
pub async fn group_message(
    sh: &Shared,
    chat: i64,
    user: i64,
    msg_id: i32,
    top: Option<i32>,
) -> anyhow::Result<()> {
    let Some(top) = top else { return Ok(()) };
    let candidates: Vec<_> = leads_for(sh, user, &[Action::Comment])
        .await?
        .into_iter()
        .filter(|(_, o)| o.target.discussion_chat_id == Some(chat))
        .collect();
    if candidates.is_empty() {
        return Ok(());
    }
    let post = sh.tg.discussion_origin(chat, top).await?;
    let t = sh.now();
    for (lead, offer) in candidates {
        if post != offer.target.msg_id {
            continue;
        }
        sh.ctx.engine.record_event(
            &seen(
                format!("comment:{chat}:{msg_id}:{}", lead.id),
                "comment",
                user,
                Some(&lead),
                format!("post {post:?}"),
                t,
            ),
            t,
        )?;
        let out = sh.ctx.engine.comment_seen(
            lead.id,
            chat,
            msg_id,
            &format!("comment {msg_id} in the discussion of post {post:?}"),
            t,
        )?;
        notify(sh, &lead, &out).await;
    }
    Ok(())
}

/// Messages deleted in a channel or supergroup: a bought comment among them is undone.
pub async fn deleted(sh: &Shared, channel: Option<i64>, ids: &[i32]) -> anyhow::Result<()> {
    let Some(chat) = channel else { return Ok(()) };
    for id in ids {
        // Several offers may have bought the same comment: undo each.
        for lead in sh.ctx.engine.comment_leads(chat, *id)? {
            report(
                sh,
                &lead,
                Action::Comment,
                false,
                &format!("updateDeleteChannelMessages: comment {id} deleted"),
            )
            .await?;
        }
    }
    Ok(())
}
