//! The conversion engine: applies the pure rules of `domain::conversion` to
//! stored rows, one write transaction per decision.
//!
//! Each decision changes the conversion, moves the budget, writes the audit
//! entry and queues the postback in the same transaction (design invariant 4),
//! then wakes the postback worker. Every entry point is idempotent: Telegram
//! may deliver an update twice, and a repeat finds the conversion already
//! decided and changes nothing.

use crate::domain::conversion::{
    decide_action, on_hold_end, on_undone, usage_needed, Decision, RejectReason,
};
use crate::domain::offer::{Action, ConversionStatus, Offer};
use crate::domain::relay::RelayEvent;
use crate::postback::{self, ConversionFacts};
use crate::store::audit::Subject;
use crate::store::conversions::Conversion;
use crate::store::leads::{Bind, Lead};
use crate::store::users::TgUser;
use crate::store::{self, Connection, ConversionId, LeadId, OfferId, Store, StoreError};

pub mod notify;
mod payments;
mod seen;

pub use payments::{Decline, Paid, PaymentOutcome, Refunded, Verdict};
pub use seen::Seen;

#[derive(Clone)]
pub struct Engine {
    store: Store,
    waker: postback::Waker,
}

/// What `/start TOKEN` led to.
#[derive(Debug, Clone, PartialEq)]
pub enum StartOutcome {
    /// The user is bound to the click (now or before, with this token or another one of the same offer).
    Bound {
        lead: Lead,
        offer: Offer,
        first_time: bool,
        conversion: Conversion,
        /// Why the task would not count right now (a cap, the schedule, the
        /// budget): the user is told at once instead of being asked for work
        /// that will be refused. The lead is kept, so they may come back.
        closed: Option<RejectReason>,
    },
    /// Another user already started with this token.
    TakenByOther,
    /// No click has this token.
    UnknownToken,
    /// The click is older than `CLICK_TTL` and was never bound.
    ExpiredToken,
    /// The offer no longer takes part (paused, finished, ...).
    OfferClosed(Offer),
}

/// What a relay event led to.
#[derive(Debug, Clone, PartialEq)]
pub enum RelayOutcome {
    Done(ActionOutcome),
    /// This event id was already accepted for the offer.
    Duplicate,
    /// No lead matches the token or user for this offer.
    UnknownLead,
    OfferClosed,
    /// The offer's action is verified through Telegram, not reported by the advertiser.
    NotARelayOffer,
}

/// What an observed action led to.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionOutcome {
    /// Newly decided now.
    Decided(Conversion),
    /// Already decided earlier (a repeated update, or a second "Check").
    AlreadyDecided(Conversion),
}

impl ActionOutcome {
    pub fn conversion(&self) -> &Conversion {
        match self {
            ActionOutcome::Decided(c) | ActionOutcome::AlreadyDecided(c) => c,
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

impl Engine {
    pub fn new(store: Store, waker: postback::Waker) -> Engine {
        Engine { store, waker }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Binds a `/start TOKEN` to the user. One click goes to one user; the same
    /// user starting again is fine. For `start_bot` offers the start is the action.
    pub fn start(&self, token: &str, user: &TgUser, now: i64) -> Result<StartOutcome> {
        let out = self.store.write(|tx| -> Result<StartOutcome> {
            store::users::upsert_user(tx, user, now)?;
            let Some(click) = store::leads::click_by_token(tx, token)? else {
                return Ok(StartOutcome::UnknownToken);
            };
            if click.consumed_at.is_none()
                && crate::domain::conversion::click_expired(click.created_at, now)
            {
                return Ok(StartOutcome::ExpiredToken);
            }
            let offer = store::offers::get_offer(tx, click.offer_id)?
                .ok_or_else(|| StoreError::Corrupt(format!("click {} has no offer", click.id)))?;
            let (lead_id, first_time) =
                match store::leads::bind(tx, &click, user.id, user.is_premium, now)? {
                    Bind::New(id) => (id, true),
                    Bind::Again(id) | Bind::AlreadyLead(id) => (id, false),
                    Bind::TakenByOther => {
                        store::audit::record(
                            tx,
                            Subject {
                                click: Some(click.id),
                                ..Default::default()
                            },
                            now,
                            "start refused",
                            &format!("user {} tried a token bound to another user", user.id),
                        )?;
                        return Ok(StartOutcome::TakenByOther);
                    }
                };
            let lead = store::leads::get_lead(tx, lead_id)?.expect("lead exists");
            if first_time {
                let subject = Subject {
                    lead: Some(lead_id),
                    click: Some(click.id),
                    ..Default::default()
                };
                store::audit::record(
                    tx,
                    subject,
                    now,
                    "start",
                    &format!(
                        "user {} (premium: {}) started the bot",
                        user.id, user.is_premium
                    ),
                )?;
            }
            if !offer.accepts_clicks() && first_time {
                store::audit::record(
                    tx,
                    Subject {
                        lead: Some(lead_id),
                        ..Default::default()
                    },
                    now,
                    "offer closed",
                    &format!("offer is {}", offer.status),
                )?;
            }
            let (conversion, created) = store::conversions::ensure(
                tx,
                OfferId(offer.id),
                Some(lead_id),
                user.id,
                offer.action,
                user.is_premium,
                now,
            )?;
            if created {
                store::audit::record(
                    tx,
                    Subject {
                        conversion: Some(conversion.id),
                        lead: Some(lead_id),
                        ..Default::default()
                    },
                    now,
                    "lead",
                    "conversion opened in status lead",
                )?;
                if offer.accepts_clicks() {
                    let facts = facts(tx, &conversion, &offer, now)?;
                    postback::enqueue(tx, &offer, &facts, ConversionStatus::Lead, now)?;
                }
            }
            if !offer.accepts_clicks() {
                return Ok(StartOutcome::OfferClosed(offer));
            }
            let mut closed = None;
            if conversion.status == ConversionStatus::Lead && offer.action != Action::StartBot {
                let (total, since) = usage_needed(&offer.caps, now, &offer.timezone);
                let usage = store::conversions::usage(tx, OfferId(offer.id), total, since)?;
                if let Decision::Reject(r) = decide_action(&offer, usage, user.is_premium, now) {
                    store::audit::record(
                        tx,
                        Subject {
                            conversion: Some(conversion.id),
                            lead: Some(lead.id),
                            ..Default::default()
                        },
                        now,
                        "task not shown",
                        &format!("the task would not count now: {r}"),
                    )?;
                    closed = Some(r);
                }
            }
            Ok(StartOutcome::Bound {
                lead,
                offer,
                first_time,
                conversion,
                closed,
            })
        })?;
        self.waker.wake();
        // Starting the bot is itself the action of a start_bot offer.
        if let StartOutcome::Bound {
            lead,
            offer,
            first_time,
            closed,
            ..
        } = &out
        {
            if offer.action == Action::StartBot {
                let decided = self.action_observed(
                    lead.id,
                    Action::StartBot,
                    "started the bot from the click",
                    now,
                )?;
                return Ok(StartOutcome::Bound {
                    lead: lead.clone(),
                    offer: offer.clone(),
                    first_time: *first_time,
                    conversion: decided.conversion().clone(),
                    closed: *closed,
                });
            }
        }
        Ok(out)
    }

    /// The attributed user did the offer's action. Decides it once: accept into
    /// hold (or approve at once with no hold window), or reject with the reason.
    pub fn action_observed(
        &self,
        lead: LeadId,
        action: Action,
        evidence: &str,
        now: i64,
    ) -> Result<ActionOutcome> {
        // Premium at decision time: the stored flag, which the bot refreshes
        // from the update's user object before reporting the action.
        let out = self.store.write(|tx| {
            let user = store::leads::get_lead(tx, lead)?
                .ok_or_else(|| StoreError::Corrupt(format!("no lead {lead}")))?
                .tg_user_id;
            let premium = seen::premium(tx, user)?;
            observe(tx, lead, action, premium, evidence, now)
        })?;
        if matches!(out, ActionOutcome::Decided(_)) {
            self.waker.wake();
        }
        Ok(out)
    }

    /// A signed relay event from the advertiser's own bot or mini app. The
    /// event id is recorded in the same transaction as the decision, so a
    /// retry after a crash is either fully new or a clean duplicate.
    pub fn relay(&self, offer: &Offer, ev: &RelayEvent, now: i64) -> Result<RelayOutcome> {
        // Only actions that happen outside Telegram's view may be reported;
        // a relay must never stand in for a check Telegram lets us make.
        if offer.action != Action::ThirdPartyBot {
            return Ok(RelayOutcome::NotARelayOffer);
        }
        let out = self.store.write(|tx| -> Result<RelayOutcome> {
            let lead = match (&ev.start_token, ev.tg_user_id) {
                (Some(token), _) => match store::leads::click_by_token(tx, token)? {
                    Some(click) if click.offer_id.0 == offer.id => {
                        store::leads::lead_by_click(tx, click.id)?
                    }
                    _ => None,
                },
                (None, Some(user)) => {
                    store::leads::lead_by_offer_user(tx, OfferId(offer.id), user)?
                }
                (None, None) => None,
            };
            // Refusals keep no event id: the advertiser may retry the same event
            // once the user has started the bot or the offer is running again.
            let Some(lead) = lead else {
                return Ok(RelayOutcome::UnknownLead);
            };
            if !offer.accepts_clicks() {
                return Ok(RelayOutcome::OfferClosed);
            }
            if !store::events::record_relay_event(tx, OfferId(offer.id), &ev.event_id, now)? {
                return Ok(RelayOutcome::Duplicate);
            }
            let premium =
                store::users::get_user(tx, lead.tg_user_id)?.is_some_and(|u| u.is_premium);
            // Caps and schedule are judged at receipt: a claimed `occurred_at` is
            // kept for the record but cannot move a decision into another window.
            let evidence = match ev.occurred_at {
                Some(at) => format!(
                    "relay event {:?} from the advertiser (signed), occurred at {at}",
                    ev.event_id
                ),
                None => format!("relay event {:?} from the advertiser (signed)", ev.event_id),
            };
            Ok(RelayOutcome::Done(observe(
                tx,
                lead.id,
                offer.action,
                premium,
                &evidence,
                now,
            )?))
        })?;
        if matches!(out, RelayOutcome::Done(ActionOutcome::Decided(_))) {
            self.waker.wake();
        }
        Ok(out)
    }

    /// The user had already done it before the click (e.g. was a member):
    /// rejected without touching the budget.
    pub fn already_done(
        &self,
        lead: LeadId,
        action: Action,
        evidence: &str,
        now: i64,
    ) -> Result<ActionOutcome> {
        let out = self
            .store
            .write(|tx| seen::already_done(tx, lead, action, evidence, now))?;
        self.waker.wake();
        Ok(out)
    }

    /// The user undid the action (left, removed the reaction, deleted the
    /// comment, blocked the bot). Inside the hold window the conversion is
    /// rejected and the Stars go back to the budget. Returns the new status if it changed.
    pub fn action_undone(
        &self,
        conversion: ConversionId,
        reason: RejectReason,
        evidence: &str,
        now: i64,
    ) -> Result<Option<ConversionStatus>> {
        let changed = self.store.write(|tx| -> Result<Option<ConversionStatus>> {
            let Some(conv) = store::conversions::get(tx, conversion)? else {
                return Ok(None);
            };
            let subject = Subject {
                conversion: Some(conv.id),
                lead: conv.lead_id,
                ..Default::default()
            };
            store::audit::record(tx, subject, now, "undone", evidence)?;
            match on_undone(conv.status, conv.hold_until, now) {
                Some(ConversionStatus::Rejected) => {
                    let offer = load_offer(tx, conv.offer_id)?;
                    reject(tx, &offer, &conv, reason, true, now)?;
                    Ok(Some(ConversionStatus::Rejected))
                }
                _ => Ok(None),
            }
        })?;
        if changed.is_some() {
            self.waker.wake();
        }
        Ok(changed)
    }

    /// The hold window of `conversion` ended and Telegram was asked again:
    /// approve if still valid, else reject (refunding the budget).
    pub fn hold_ended(
        &self,
        conversion: ConversionId,
        still_valid: bool,
        evidence: &str,
        now: i64,
    ) -> Result<Option<ConversionStatus>> {
        let changed = self.store.write(|tx| -> Result<Option<ConversionStatus>> {
            let Some(conv) = store::conversions::get(tx, conversion)? else {
                return Ok(None);
            };
            if conv.status != ConversionStatus::Hold {
                return Ok(None);
            }
            let subject = Subject {
                conversion: Some(conv.id),
                lead: conv.lead_id,
                ..Default::default()
            };
            store::audit::record(tx, subject, now, "recheck", evidence)?;
            let offer = load_offer(tx, conv.offer_id)?;
            match on_hold_end(still_valid) {
                ConversionStatus::Approved => {
                    store::conversions::set_status(
                        tx,
                        conv.id,
                        ConversionStatus::Approved,
                        None,
                        now,
                    )?;
                    store::audit::record(
                        tx,
                        subject,
                        now,
                        "decision",
                        "approved at the end of the hold window",
                    )?;
                    let conv = store::conversions::get(tx, conv.id)?.expect("conversion exists");
                    let facts = facts(tx, &conv, &offer, now)?;
                    postback::enqueue(tx, &offer, &facts, ConversionStatus::Approved, now)?;
                    Ok(Some(ConversionStatus::Approved))
                }
                _ => {
                    reject(tx, &offer, &conv, RejectReason::RecheckFailed, true, now)?;
                    Ok(Some(ConversionStatus::Rejected))
                }
            }
        })?;
        if changed.is_some() {
            self.waker.wake();
        }
        Ok(changed)
    }

    /// Moves a conversion to the back of the scheduler's queue: Telegram could
    /// not be asked about it now, or it was just checked.
    pub fn postpone(&self, conversion: ConversionId, until: i64) -> Result<()> {
        self.store
            .write(|tx| store::conversions::postpone(tx, conversion, until))
    }

    /// Records a check that changed nothing (e.g. "Check" pressed before joining).
    pub fn note(
        &self,
        conversion: Option<ConversionId>,
        lead: Option<LeadId>,
        kind: &str,
        detail: &str,
        now: i64,
    ) -> Result<()> {
        self.store.write(|tx| {
            store::audit::record(
                tx,
                Subject {
                    conversion,
                    lead,
                    click: None,
                },
                now,
                kind,
                detail,
            )
        })
    }
}

/// Decides an observed action inside the caller's transaction.
fn observe(
    tx: &Connection,
    lead: LeadId,
    action: Action,
    premium: bool,
    evidence: &str,
    now: i64,
) -> Result<ActionOutcome> {
    let (offer, conv, subject) = match open(tx, lead, action, premium, now)? {
        Open::Pending(offer, conv, subject) => (offer, conv, subject),
        Open::Decided(conv) => return Ok(ActionOutcome::AlreadyDecided(conv)),
    };
    store::audit::record(tx, subject, now, "action", evidence)?;
    let (total, since) = usage_needed(&offer.caps, now, &offer.timezone);
    let usage = store::conversions::usage(tx, conv.offer_id, total, since)?;
    let mut decision = decide_action(&offer, usage, premium, now);
    if let Decision::Accept { price, .. } = decision {
        // The conditional debit is the last word on money: two decisions
        // racing for the last Stars cannot both pass.
        if !store::offers::spend_budget(tx, conv.offer_id, price, now)? {
            decision = Decision::Reject(RejectReason::BudgetExhausted);
        }
    }
    notify::after_decision(tx, &offer, usage, since, &decision, now)?;
    match decision {
        Decision::Accept {
            price,
            hold_until,
            approve_now,
        } => {
            let status = if approve_now {
                ConversionStatus::Approved
            } else {
                ConversionStatus::Hold
            };
            store::conversions::accept(tx, conv.id, status, price, premium, hold_until, now)?;
            // A Stars-payment task is paid by the user; say what they paid, not only the advertiser's price.
            let paid = match offer.action {
                Action::StarsPayment | Action::PaidMedia => offer
                    .target
                    .stars
                    .map(|s| format!("; the user paid {s} Stars"))
                    .unwrap_or_default(),
                _ => String::new(),
            };
            let detail = if approve_now {
                format!("approved at {price} Stars (premium: {premium}){paid}; no hold window")
            } else {
                format!(
                    "accepted into hold at {price} Stars (premium: {premium}){paid} until {}",
                    fmt_time(hold_until)
                )
            };
            store::audit::record(tx, subject, now, "decision", &detail)?;
            let conv = store::conversions::get(tx, conv.id)?.expect("conversion exists");
            let facts = facts(tx, &conv, &offer, now)?;
            postback::enqueue(tx, &offer, &facts, ConversionStatus::Hold, now)?;
            if approve_now {
                postback::enqueue(tx, &offer, &facts, ConversionStatus::Approved, now)?;
            }
            Ok(ActionOutcome::Decided(conv))
        }
        Decision::Reject(reason) => Ok(ActionOutcome::Decided(reject(
            tx, &offer, &conv, reason, false, now,
        )?)),
    }
}

/// A conversion about to be decided, or the decision it already has.
enum Open {
    Pending(Box<Offer>, Conversion, Subject),
    Decided(Conversion),
}

/// Loads (creating if needed) the lead's conversion for `action`. A conversion
/// past `lead` was decided before: the caller reports that instead of deciding twice.
fn open(tx: &Connection, lead: LeadId, action: Action, premium: bool, now: i64) -> Result<Open> {
    let lead = store::leads::get_lead(tx, lead)?
        .ok_or_else(|| StoreError::Corrupt(format!("no lead {lead}")))?;
    let offer = load_offer(tx, lead.offer_id)?;
    let (conv, _) = store::conversions::ensure(
        tx,
        lead.offer_id,
        Some(lead.id),
        lead.tg_user_id,
        action,
        premium,
        now,
    )?;
    if conv.status != ConversionStatus::Lead {
        return Ok(Open::Decided(conv));
    }
    let subject = Subject {
        conversion: Some(conv.id),
        lead: Some(lead.id),
        ..Default::default()
    };
    Ok(Open::Pending(Box::new(offer), conv, subject))
}

fn load_offer(c: &Connection, id: OfferId) -> Result<Offer> {
    store::offers::get_offer(c, id)?.ok_or_else(|| StoreError::Corrupt(format!("no offer {id}")))
}

/// Rejects `conv`, refunding its price if it had been debited, and queues the postback.
fn reject(
    tx: &Connection,
    offer: &Offer,
    conv: &Conversion,
    reason: RejectReason,
    refund: bool,
    now: i64,
) -> Result<Conversion> {
    store::conversions::set_status(tx, conv.id, ConversionStatus::Rejected, Some(reason), now)?;
    if refund && conv.price > 0 {
        store::offers::spend_budget(tx, conv.offer_id, -conv.price, now)?;
    }
    let subject = Subject {
        conversion: Some(conv.id),
        lead: conv.lead_id,
        ..Default::default()
    };
    let refund_note = if refund && conv.price > 0 {
        format!("; {} Stars returned to the budget", conv.price)
    } else {
        String::new()
    };
    store::audit::record(
        tx,
        subject,
        now,
        "decision",
        &format!("rejected: {reason}{refund_note}"),
    )?;
    let conv = store::conversions::get(tx, conv.id)?.expect("conversion exists");
    let facts = facts(tx, &conv, offer, now)?;
    postback::enqueue(tx, offer, &facts, ConversionStatus::Rejected, now)?;
    Ok(conv)
}

/// What the postback may say about a conversion, gathered from its lead and click.
fn facts(tx: &Connection, conv: &Conversion, offer: &Offer, now: i64) -> Result<ConversionFacts> {
    let click = match conv.lead_id {
        Some(l) => match store::leads::get_lead(tx, l)? {
            Some(lead) => store::leads::click_by_id(tx, lead.click_id)?,
            None => None,
        },
        None => None,
    };
    let (uid, subs) = click.map(|c| (c.uid, c.subs)).unwrap_or_default();
    Ok(ConversionFacts {
        conversion_id: conv.id,
        lead_id: conv.lead_id,
        click_uid: uid,
        subs,
        tg_user_id: conv.tg_user_id,
        is_premium: conv.is_premium,
        payout: offer.payout.clone(),
        currency: offer.currency.clone(),
        event_time: now,
        hold_until: conv.hold_until,
    })
}

fn fmt_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests;
