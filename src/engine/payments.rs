//! Stars payments: the pre-checkout verdict, the payment itself, and refunds,
//! for users paying a task's invoice and advertisers paying a campaign's
//! budget. Each payment is written to the ledger (`payments`) in the same
//! transaction as the decision it leads to.

use super::{observe, ActionOutcome, Engine, Result};
use crate::domain::conversion::{decide_action, usage_needed, Decision, RejectReason};
use crate::domain::offer::{Action, ConversionStatus, OfferStatus, PricePair};
use crate::domain::payment::{InvoicePayload, PaymentKind, PaymentStatus};
use crate::store::audit::Subject;
use crate::store::leads::Lead;
use crate::store::{self, Connection, LeadId, OfferId};

/// The answer to a pre-checkout query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Accept,
    Decline(Decline),
}

/// Why a payment is declined before any money moves. Rendered per language by the bot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decline {
    /// The payload names nothing of ours, or not this payer's.
    UnknownInvoice,
    /// The amount or currency is not what the invoice should say now.
    AmountChanged,
    /// The task was already decided (a second payment would pay for nothing).
    AlreadyDecided,
    /// The task would be rejected now (cap, schedule, budget, offer closed).
    WouldReject(RejectReason),
    /// The campaign draft was edited after this invoice was sent.
    DraftChanged,
    /// The campaign is no longer waiting for payment (paid, cancelled, reviewed).
    CampaignNotAwaitingPayment,
    /// A price is below the minimum an admin set after the draft was made.
    BelowMinimum,
}

/// What a successful payment led to.
#[derive(Debug, Clone, PartialEq)]
pub enum PaymentOutcome {
    /// A task's payment: the conversion's decision. A rejection must be refunded.
    Task { lead: Lead, outcome: ActionOutcome },
    /// A campaign's budget was paid: it now waits for an admin's review.
    CampaignPaid { offer: OfferId },
    /// A repeat of a payment already recorded: nothing to do.
    Repeat,
    /// Paid for nothing we can honour (no such task, the draft changed in the
    /// seconds between pre-checkout and payment): the Stars must go back.
    Refund {
        offer: Option<OfferId>,
        lead: Option<LeadId>,
    },
}

/// A refund Telegram confirmed: who got how much back for which charge, and why.
#[derive(Debug, Clone, Copy)]
pub struct Refunded<'a> {
    pub user: i64,
    pub offer: Option<OfferId>,
    pub lead: Option<LeadId>,
    pub charge_id: &'a str,
    pub amount: i64,
    pub why: &'a str,
}

/// A payment as Telegram reports it (messageActionPaymentSentMe).
#[derive(Debug, Clone)]
pub struct Paid<'a> {
    pub user: i64,
    pub payload: &'a [u8],
    pub currency: &'a str,
    pub amount: i64,
    pub charge_id: &'a str,
}

impl Engine {
    /// Decides a pre-checkout now: Telegram gives about ten seconds and never
    /// replays it, so caps, budget, schedule and the draft are judged live.
    /// `minimum` is the current minimum price of a campaign's action.
    pub fn precheckout(
        &self,
        user: i64,
        payload: &[u8],
        currency: &str,
        amount: i64,
        minimum: impl Fn(Action) -> PricePair,
        now: i64,
    ) -> Result<Verdict> {
        let verdict = self.store.read(|c| -> Result<Verdict> {
            let Some(p) = InvoicePayload::decode(payload) else {
                return Ok(Verdict::Decline(Decline::UnknownInvoice));
            };
            match p {
                InvoicePayload::Task { lead } => {
                    task_verdict(c, user, LeadId(lead), currency, amount, now)
                }
                InvoicePayload::Campaign { offer, revision } => campaign_verdict(
                    c,
                    user,
                    OfferId(offer),
                    revision,
                    currency,
                    amount,
                    &minimum,
                ),
            }
        })?;
        let lead = match InvoicePayload::decode(payload) {
            Some(InvoicePayload::Task { lead }) => Some(LeadId(lead)),
            _ => None,
        };
        let detail = match &verdict {
            Verdict::Accept => {
                format!("pre-checkout of {amount} {currency} by user {user} accepted")
            }
            Verdict::Decline(d) => {
                format!("pre-checkout of {amount} {currency} by user {user} declined: {d:?}")
            }
        };
        self.store.write(|tx| {
            store::audit::record(
                tx,
                Subject {
                    lead,
                    ..Default::default()
                },
                now,
                "precheckout",
                &detail,
            )
        })?;
        Ok(verdict)
    }

    /// Records a successful payment in the ledger and decides what it pays for,
    /// in one transaction. Recorded once per charge id: a repeated update is a `Repeat`.
    pub fn payment_received(&self, p: &Paid<'_>, now: i64) -> Result<PaymentOutcome> {
        let payload = InvoicePayload::decode(p.payload);
        let out = self.store.write(|tx| -> Result<PaymentOutcome> {
            let offer = match payload {
                Some(InvoicePayload::Task { lead }) => store::leads::get_lead(tx, LeadId(lead))?
                    .filter(|l| l.tg_user_id == p.user)
                    .map(|l| l.offer_id),
                Some(InvoicePayload::Campaign { offer, .. }) => Some(OfferId(offer)),
                None => None,
            };
            let kind = match payload {
                Some(InvoicePayload::Campaign { .. }) => PaymentKind::CampaignBudget,
                _ => PaymentKind::TaskInvoice,
            };
            let new = store::payments::record(
                tx,
                &store::payments::NewPayment {
                    tg_user_id: p.user,
                    offer_id: offer,
                    kind: kind.as_str(),
                    amount: p.amount,
                    currency: p.currency,
                    payload: std::str::from_utf8(p.payload).ok(),
                    charge_id: p.charge_id,
                    status: PaymentStatus::Paid.as_str(),
                },
                now,
            )?;
            if !new {
                return Ok(PaymentOutcome::Repeat);
            }
            match payload {
                Some(InvoicePayload::Task { lead }) => {
                    let Some(l) = store::leads::get_lead(tx, LeadId(lead))?
                        .filter(|l| l.tg_user_id == p.user)
                    else {
                        return Ok(PaymentOutcome::Refund {
                            offer: None,
                            lead: None,
                        });
                    };
                    let premium = super::seen::premium(tx, p.user)?;
                    let outcome = observe(
                        tx,
                        l.id,
                        Action::StarsPayment,
                        premium,
                        &format!(
                            "messageActionPaymentSentMe: {} {} charge {}",
                            p.amount, p.currency, p.charge_id
                        ),
                        now,
                    )?;
                    Ok(PaymentOutcome::Task { lead: l, outcome })
                }
                Some(InvoicePayload::Campaign { offer, revision }) => {
                    campaign_paid(tx, p, OfferId(offer), revision, now)
                }
                None => Ok(PaymentOutcome::Refund {
                    offer: None,
                    lead: None,
                }),
            }
        })?;
        if let PaymentOutcome::Task { outcome, .. } = &out {
            self.wake_if_decided(outcome);
        }
        Ok(out)
    }

    /// Whether this charge was already refunded (a repeated update must not refund twice).
    pub fn refunded(&self, charge_id: &str) -> Result<bool> {
        self.store
            .read(|c| store::payments::exists(c, &refund_key(charge_id)))
    }

    /// Records a refund Telegram confirmed (payments.refundStarsCharge).
    pub fn refund_recorded(&self, r: &Refunded<'_>, now: i64) -> Result<()> {
        let Refunded {
            user,
            offer,
            lead,
            charge_id,
            amount,
            why,
        } = *r;
        self.store.write(|tx| {
            store::payments::record(
                tx,
                &store::payments::NewPayment {
                    tg_user_id: user,
                    offer_id: offer,
                    kind: PaymentKind::Refund.as_str(),
                    amount: -amount,
                    currency: "XTR",
                    payload: None,
                    charge_id: &refund_key(charge_id),
                    status: PaymentStatus::Refunded.as_str(),
                },
                now,
            )?;
            store::audit::record(
                tx,
                Subject {
                    lead,
                    ..Default::default()
                },
                now,
                "refund",
                &format!("{amount} Stars refunded to user {user} (charge {charge_id}): {why}"),
            )
        })
    }
}

/// The ledger key of a refund: unique per refunded charge.
fn refund_key(charge_id: &str) -> String {
    format!("refund:{charge_id}")
}

fn task_verdict(
    c: &Connection,
    user: i64,
    lead: LeadId,
    currency: &str,
    amount: i64,
    now: i64,
) -> Result<Verdict> {
    let Some(lead) = store::leads::get_lead(c, lead)?.filter(|l| l.tg_user_id == user) else {
        return Ok(Verdict::Decline(Decline::UnknownInvoice));
    };
    let Some(offer) = store::offers::get_offer(c, lead.offer_id)? else {
        return Ok(Verdict::Decline(Decline::UnknownInvoice));
    };
    if currency != "XTR" || Some(amount) != offer.target.stars {
        return Ok(Verdict::Decline(Decline::AmountChanged));
    }
    if store::conversions::by_key(c, lead.offer_id, user, offer.action)?
        .is_some_and(|c| c.status != ConversionStatus::Lead)
    {
        return Ok(Verdict::Decline(Decline::AlreadyDecided));
    }
    let (total, since) = usage_needed(&offer.caps, now, &offer.timezone);
    let usage = store::conversions::usage(c, lead.offer_id, total, since)?;
    let premium = super::seen::premium(c, user)?;
    Ok(match decide_action(&offer, usage, premium, now) {
        Decision::Accept { .. } => Verdict::Accept,
        Decision::Reject(r) => Verdict::Decline(Decline::WouldReject(r)),
    })
}

fn campaign_verdict(
    c: &Connection,
    user: i64,
    offer: OfferId,
    revision: i64,
    currency: &str,
    amount: i64,
    minimum: &dyn Fn(Action) -> PricePair,
) -> Result<Verdict> {
    let Some(o) = store::offers::get_offer(c, offer)?.filter(|o| o.advertiser_id == Some(user))
    else {
        return Ok(Verdict::Decline(Decline::UnknownInvoice));
    };
    // Back in the wizard for an edit: this invoice is for the terms before it.
    if o.status == OfferStatus::Draft {
        return Ok(Verdict::Decline(Decline::DraftChanged));
    }
    if o.status != OfferStatus::AwaitingPayment {
        return Ok(Verdict::Decline(Decline::CampaignNotAwaitingPayment));
    }
    if o.revision != revision {
        return Ok(Verdict::Decline(Decline::DraftChanged));
    }
    if currency != "XTR" || Some(amount) != o.budget_total.map(|b| b - o.credit_applied) {
        return Ok(Verdict::Decline(Decline::AmountChanged));
    }
    // The credit counted towards this budget must still be there (another
    // campaign may have used it since).
    if store::payments::credit_of(c, user)? < o.credit_applied {
        return Ok(Verdict::Decline(Decline::AmountChanged));
    }
    let min = minimum(o.action);
    if o.price.regular < min.regular || o.price.premium < min.premium {
        return Ok(Verdict::Decline(Decline::BelowMinimum));
    }
    Ok(Verdict::Accept)
}

fn campaign_paid(
    tx: &Connection,
    p: &Paid<'_>,
    offer: OfferId,
    revision: i64,
    now: i64,
) -> Result<PaymentOutcome> {
    let o = store::offers::get_offer(tx, offer)?.filter(|o| o.advertiser_id == Some(p.user));
    let credit = store::payments::credit_of(tx, p.user)?;
    let ok = o.as_ref().is_some_and(|o| {
        o.status == OfferStatus::AwaitingPayment
            && o.revision == revision
            && o.budget_total.map(|b| b - o.credit_applied) == Some(p.amount)
            && credit >= o.credit_applied
            && p.currency == "XTR"
    });
    if !ok {
        // The pre-checkout passed seconds ago; only an edit or a cancel in
        // between gets here. Nothing was bought: the whole charge goes back.
        return Ok(PaymentOutcome::Refund {
            offer: o.map(|o| OfferId(o.id)),
            lead: None,
        });
    }
    let applied = o.map(|o| o.credit_applied).unwrap_or(0);
    to_review(tx, p.user, offer, revision, applied, now)?;
    store::audit::record(
        tx,
        Subject::default(),
        now,
        "campaign paid",
        &format!(
            "offer {offer}: {} Stars paid by user {} (charge {}) and {applied} from credit; waiting for review",
            p.amount, p.user, p.charge_id
        ),
    )?;
    Ok(PaymentOutcome::CampaignPaid { offer })
}

/// Books the credit a campaign uses and sends it to review.
fn to_review(
    tx: &Connection,
    user: i64,
    offer: OfferId,
    revision: i64,
    credit: i64,
    now: i64,
) -> Result<()> {
    if credit > 0 {
        store::payments::record(
            tx,
            &store::payments::NewPayment {
                tg_user_id: user,
                offer_id: Some(offer),
                kind: PaymentKind::CreditUsed.as_str(),
                amount: -credit,
                currency: "XTR",
                payload: None,
                charge_id: &format!("credit-used:{offer}:{revision}"),
                status: PaymentStatus::Booked.as_str(),
            },
            now,
        )?;
    }
    store::offers::set_status(tx, offer, OfferStatus::PendingReview, now)?;
    Ok(())
}

impl Engine {
    /// A campaign whose whole budget is covered by the advertiser's credit:
    /// no invoice, it goes to review at once. `None` when it no longer can
    /// (the draft changed, or the credit was used meanwhile).
    pub fn campaign_paid_from_credit(
        &self,
        user: i64,
        offer: OfferId,
        now: i64,
    ) -> Result<Option<PaymentOutcome>> {
        self.store.write(|tx| -> Result<Option<PaymentOutcome>> {
            let Some(o) =
                store::offers::get_offer(tx, offer)?.filter(|o| o.advertiser_id == Some(user))
            else {
                return Ok(None);
            };
            let covered = o.status == OfferStatus::AwaitingPayment
                && o.budget_total == Some(o.credit_applied)
                && store::payments::credit_of(tx, user)? >= o.credit_applied;
            if !covered {
                return Ok(None);
            }
            to_review(tx, user, offer, o.revision, o.credit_applied, now)?;
            store::audit::record(
                tx,
                Subject::default(),
                now,
                "campaign paid",
                &format!(
                    "offer {offer}: {} Stars from the credit of user {user}; waiting for review",
                    o.credit_applied
                ),
            )?;
            Ok(Some(PaymentOutcome::CampaignPaid { offer }))
        })
    }
}
