//! What the bot tells the engine it saw, as facts; every decision about them
//! (join after the click or before, already decided, Premium at decision time,
//! task rows, blocked users) is made here, in one transaction with its audit
//! entry. The bot only translates updates into these calls and the outcomes
//! into Telegram effects.

use super::{observe, open, reject, ActionOutcome, Engine, Open, Result};
use crate::domain::conversion::{joined_after_click, RejectReason};
use crate::domain::offer::{Action, ConversionStatus, Offer};
use crate::domain::task::{TaskKind, TaskRef};
use crate::store::audit::Subject;
use crate::store::events::NewEvent;
use crate::store::leads::Lead;
use crate::store::users::TgUser;
use crate::store::{self, Connection, LeadId, OfferId};

/// A task artefact and where it is (chat, message), when it has a place.
pub type TaskAt = (TaskRef, Option<i64>, Option<i32>);

/// An event for the journal, owned so callers can build it freely.
#[derive(Debug, Clone)]
pub struct Seen {
    pub natural_key: String,
    pub kind: String,
    pub user: Option<i64>,
    pub lead: Option<(OfferId, LeadId)>,
    pub detail: String,
    pub at: i64,
}

impl Engine {
    /// Refreshes what we know about a user from an update's user object. Writes
    /// only what changed: this runs on the hot path of every action.
    pub fn user_seen(&self, u: &TgUser, now: i64) -> Result<()> {
        let stored = self.store.read(|c| store::users::get_user(c, u.id))?;
        let changed = stored.as_ref().is_none_or(|s| {
            s.is_premium != u.is_premium
                || (u.access_hash.is_some() && s.access_hash != u.access_hash)
                || (u.username.is_some() && s.username != u.username)
                || (u.lang.is_some() && s.lang != u.lang)
                || (u.first_name.is_some() && s.first_name != u.first_name)
        });
        if changed {
            self.store
                .write(|tx| store::users::upsert_user(tx, u, now))?;
        }
        Ok(())
    }

    /// Journals an observed event; false if it was already recorded (a repeat).
    pub fn record_event(&self, e: &Seen, now: i64) -> Result<bool> {
        self.store.write(|tx| journal(tx, e, now))
    }

    /// Telegram says the lead's user is a member since `since` (None: since
    /// always, e.g. the creator). Counts only if they joined strictly after the
    /// click; a member from before is rejected as already done.
    pub fn membership_seen(
        &self,
        lead: LeadId,
        since: Option<i64>,
        evidence: &str,
        now: i64,
    ) -> Result<ActionOutcome> {
        self.membership(lead, since, true, evidence, now)
            .map(|o| o.expect("decided when earlier joins are rejected"))
    }

    /// Like [`Engine::membership_seen`], for a reconciliation sweep looking for
    /// joins it missed: a membership from before the click proves nothing new
    /// there (the task card already judged it), so only a later join is decided.
    pub fn missed_join_seen(
        &self,
        lead: LeadId,
        since: Option<i64>,
        evidence: &str,
        now: i64,
    ) -> Result<Option<ActionOutcome>> {
        self.membership(lead, since, false, evidence, now)
    }

    fn membership(
        &self,
        lead: LeadId,
        since: Option<i64>,
        reject_earlier: bool,
        evidence: &str,
        now: i64,
    ) -> Result<Option<ActionOutcome>> {
        let out = self.store.write(|tx| -> Result<Option<ActionOutcome>> {
            let l = load_lead(tx, lead)?;
            let offer = super::load_offer(tx, l.offer_id)?;
            let click_at = store::leads::click_by_id(tx, l.click_id)?
                .map(|c| c.created_at)
                .unwrap_or(l.started_at);
            if joined_after_click(since, click_at) {
                let premium = premium(tx, l.tg_user_id)?;
                observe(tx, lead, offer.action, premium, evidence, now).map(Some)
            } else if reject_earlier {
                already_done(tx, lead, offer.action, evidence, now).map(Some)
            } else {
                Ok(None)
            }
        })?;
        if let Some(o) = &out {
            self.wake_if_decided(o);
        }
        Ok(out)
    }

    /// A reversible action (join, reaction, poll vote, boost, share) was done or
    /// undone. Done decides it once; undone takes it back while it is in hold.
    /// Repeats change nothing. `None` when nothing changed.
    pub fn action_seen(
        &self,
        lead: LeadId,
        action: Action,
        done: bool,
        evidence: &str,
        now: i64,
    ) -> Result<Option<ActionOutcome>> {
        if done {
            let out = self.store.write(|tx| {
                let user = load_lead(tx, lead)?.tg_user_id;
                let premium = premium(tx, user)?;
                observe(tx, lead, action, premium, evidence, now)
            })?;
            self.wake_if_decided(&out);
            return Ok(Some(out));
        }
        let conv = self.store.read(|c| -> Result<_> {
            let l = load_lead(c, lead)?;
            store::conversions::by_key(c, l.offer_id, l.tg_user_id, action)
        })?;
        if let Some(c) = conv.filter(|c| c.status == ConversionStatus::Hold) {
            self.action_undone(c.id, RejectReason::Undone, evidence, now)?;
        }
        Ok(None)
    }

    /// The lead's user commented under the offer's post: the comment is kept as
    /// the lead's task (deletions and the hold-end re-check look it up) and the
    /// action is decided, in one transaction.
    pub fn comment_seen(
        &self,
        lead: LeadId,
        chat: i64,
        msg: i32,
        evidence: &str,
        now: i64,
    ) -> Result<ActionOutcome> {
        let out = self.store.write(|tx| -> Result<ActionOutcome> {
            let l = load_lead(tx, lead)?;
            if let Some(c) =
                store::conversions::by_key(tx, l.offer_id, l.tg_user_id, Action::Comment)?
                    .filter(|c| c.status != ConversionStatus::Lead)
            {
                return Ok(ActionOutcome::AlreadyDecided(c));
            }
            let task = TaskRef::Comment {
                chat,
                msg,
                lead: lead.0,
            };
            store::leads::add_task(
                tx,
                lead,
                task.kind().as_str(),
                &task.key(),
                Some(chat),
                Some(msg),
                now,
            )?;
            let premium = premium(tx, l.tg_user_id)?;
            observe(tx, lead, Action::Comment, premium, evidence, now)
        })?;
        self.wake_if_decided(&out);
        Ok(out)
    }

    /// The user blocked (or unblocked) the bot. Blocking inside a hold window
    /// rejects every conversion of theirs still in hold.
    pub fn bot_stopped(&self, user: i64, stopped: bool, date: i64, now: i64) -> Result<usize> {
        let rejected = self.store.write(|tx| -> Result<usize> {
            store::users::set_blocked(tx, user, stopped, now)?;
            journal(
                tx,
                &Seen {
                    natural_key: format!("stopped:{user}:{date}:{stopped}"),
                    kind: if stopped {
                        "blocked_bot"
                    } else {
                        "unblocked_bot"
                    }
                    .into(),
                    user: Some(user),
                    lead: None,
                    detail: String::new(),
                    at: date,
                },
                now,
            )?;
            if !stopped {
                return Ok(0);
            }
            let mut n = 0;
            for c in store::conversions::of_user(tx, user)?
                .into_iter()
                .filter(|c| c.status == ConversionStatus::Hold)
            {
                let subject = Subject {
                    conversion: Some(c.id),
                    lead: c.lead_id,
                    ..Default::default()
                };
                store::audit::record(
                    tx,
                    subject,
                    now,
                    "undone",
                    "updateBotStopped: the user blocked the bot",
                )?;
                let offer = super::load_offer(tx, c.offer_id)?;
                reject(tx, &offer, &c, RejectReason::BlockedBot, true, now)?;
                n += 1;
            }
            Ok(n)
        })?;
        if rejected > 0 {
            self.waker.wake();
        }
        Ok(rejected)
    }

    /// Registers a task artefact made for a lead (invite link, poll, invoice,
    /// paid media) so its update can be matched back. Idempotent.
    pub fn task_made(
        &self,
        lead: LeadId,
        task: &TaskRef,
        chat: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.store.write(|tx| {
            store::leads::add_task(tx, lead, task.kind().as_str(), &task.key(), chat, None, now)?;
            store::audit::record(
                tx,
                Subject {
                    lead: Some(lead),
                    ..Default::default()
                },
                now,
                "task",
                &format!("{} made for the user", task.kind().as_str()),
            )
        })
    }

    /// The lead's latest artefact of a kind, decoded.
    pub fn task_of(&self, lead: LeadId, kind: TaskKind) -> Result<Option<TaskAt>> {
        let t = self
            .store
            .read(|c| store::leads::task_of_lead(c, lead, kind.as_str()))?;
        Ok(t.and_then(|t| TaskRef::parse(&t.ref_key).map(|r| (r, t.chat_id, t.msg_id))))
    }

    /// The lead whose artefact has this key, if it is one of ours.
    pub fn lead_of_task(&self, task: &TaskRef) -> Result<Option<Lead>> {
        self.store.read(|c| -> Result<Option<Lead>> {
            match store::leads::lead_by_task(c, &task.key())? {
                Some(t) => store::leads::get_lead(c, t.lead),
                None => Ok(None),
            }
        })
    }

    /// Leads whose comment task is the message `msg` of `chat` (one comment may
    /// have been bought by several offers).
    pub fn comment_leads(&self, chat: i64, msg: i32) -> Result<Vec<Lead>> {
        self.store.read(|c| -> Result<Vec<Lead>> {
            let mut out = Vec::new();
            for t in store::leads::tasks_at(c, TaskKind::Comment.as_str(), chat, msg)? {
                out.extend(store::leads::get_lead(c, t.lead)?);
            }
            Ok(out)
        })
    }

    /// The lead's personal share link token, made on first use.
    pub fn share_token(
        &self,
        lead: &Lead,
        offer: &Offer,
        token: impl FnOnce() -> String,
        now: i64,
    ) -> Result<String> {
        if let Some((TaskRef::Share(t), _, _)) = self.task_of(lead.id, TaskKind::Share)? {
            return Ok(t);
        }
        let token = token();
        let target = offer.target.url.clone().unwrap_or_default();
        self.store.write(|tx| -> Result<()> {
            store::shares::insert_share(
                tx,
                &store::shares::NewShare {
                    token: &token,
                    offer: lead.offer_id,
                    lead_id: Some(lead.id.0),
                    tg_user_id: Some(lead.tg_user_id),
                    target_url: &target,
                },
                now,
            )?;
            let task = TaskRef::Share(token.clone());
            store::leads::add_task(
                tx,
                lead.id,
                task.kind().as_str(),
                &task.key(),
                None,
                None,
                now,
            )
        })?;
        Ok(token)
    }

    /// Remembers the chat id a target @username resolved to: updates name chats by id.
    pub fn target_resolved(&self, offer: OfferId, chat_id: i64, now: i64) -> Result<bool> {
        self.store.write(|tx| {
            let changed = store::offers::set_target_chat_id(tx, offer, chat_id, now)?;
            if changed {
                store::audit::record(
                    tx,
                    Subject::default(),
                    now,
                    "target resolved",
                    &format!("offer {offer}: target chat is {chat_id}"),
                )?;
            }
            Ok(changed)
        })
    }

    /// The stored Premium flag: the bot refreshes it from every update's user
    /// object (`user_seen`) before reporting the action.
    pub fn is_premium(&self, user: i64) -> Result<bool> {
        self.store.read(|c| premium(c, user))
    }

    pub(super) fn wake_if_decided(&self, out: &ActionOutcome) {
        if matches!(out, ActionOutcome::Decided(_)) {
            self.waker.wake();
        }
    }
}

pub(super) fn premium(c: &Connection, user: i64) -> Result<bool> {
    Ok(store::users::get_user(c, user)?.is_some_and(|u| u.is_premium))
}

fn load_lead(c: &Connection, lead: LeadId) -> Result<Lead> {
    store::leads::get_lead(c, lead)?
        .ok_or_else(|| store::StoreError::Corrupt(format!("no lead {lead}")))
}

fn journal(tx: &Connection, e: &Seen, now: i64) -> Result<bool> {
    store::events::record(
        tx,
        &NewEvent {
            natural_key: &e.natural_key,
            kind: &e.kind,
            tg_user_id: e.user,
            offer_id: e.lead.map(|l| l.0),
            lead_id: e.lead.map(|l| l.1),
            detail: &e.detail,
            occurred_at: e.at,
        },
        now,
    )
}

/// The user had already done it before the click: rejected without touching the budget.
pub(super) fn already_done(
    tx: &Connection,
    lead: LeadId,
    action: Action,
    evidence: &str,
    now: i64,
) -> Result<ActionOutcome> {
    let premium = store::leads::get_lead(tx, lead)?.is_some_and(|l| l.premium_at_start);
    let (offer, conv, subject) = match open(tx, lead, action, premium, now)? {
        Open::Pending(offer, conv, subject) => (offer, conv, subject),
        Open::Decided(conv) => return Ok(ActionOutcome::AlreadyDecided(conv)),
    };
    store::audit::record(tx, subject, now, "check", evidence)?;
    Ok(ActionOutcome::Decided(reject(
        tx,
        &offer,
        &conv,
        RejectReason::AlreadyDone,
        false,
        now,
    )?))
}

impl Engine {
    /// The bot itself was added, promoted, demoted or removed in a chat by `actor`.
    pub fn bot_membership(&self, chat: i64, actor: i64, admin: bool, now: i64) -> Result<()> {
        self.store.write(|tx| {
            store::bot_chats::record(tx, chat, actor, admin, now)?;
            store::audit::record(
                tx,
                Subject::default(),
                now,
                "bot rights",
                &format!(
                    "user {actor} made the bot {} of chat {chat}",
                    if admin { "an admin" } else { "a non-admin" }
                ),
            )
        })
    }

    /// The private chat `advertiser` most recently made the bot an admin of (within a day).
    pub fn chat_promoted_by(&self, advertiser: i64, now: i64) -> Result<Option<i64>> {
        self.store
            .read(|c| store::bot_chats::latest_promoted_by(c, advertiser, now - 86400))
    }
}
