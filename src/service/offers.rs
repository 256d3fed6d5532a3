//! Offers and campaigns: creation (CLI and the /ads wizard), submission for
//! payment, moderation, pause/resume/finish, with the ownership rules in one place.

use crate::domain::offer::Offer;
use crate::domain::offer::{
    validate_draft, Action, DraftError, OfferDraft, OfferStatus, PostbackSpec, PricePair,
};
use crate::domain::payment::{PaymentKind, PaymentStatus};
use crate::store::audit::Subject;
use crate::store::offers::NewOffer;
use crate::store::{self, Connection, OfferId, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("{0}")]
    Draft(DraftError),
    #[error("the slug {0:?} is taken")]
    SlugTaken(String),
    #[error("the draft can no longer be edited (it is {0})")]
    NotEditable(OfferStatus),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Who asks for a status change: advertisers may touch only their own campaigns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// The operator at the shell.
    Cli,
    Admin(i64),
    Advertiser(i64),
    /// The daemon itself: a campaign that ran out of budget or lost the bot's
    /// admin rights pauses itself.
    System,
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Cli => f.write_str("the operator (CLI)"),
            Actor::Admin(id) => write!(f, "admin {id}"),
            Actor::Advertiser(id) => write!(f, "advertiser {id}"),
            Actor::System => f.write_str("the daemon"),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum StatusError {
    #[error("no offer {0}")]
    NotFound(i64),
    #[error("offer {0} belongs to another advertiser")]
    NotYours(i64),
    #[error("offer {id} is {from} and cannot become {to}")]
    Invalid {
        id: i64,
        from: OfferStatus,
        to: OfferStatus,
    },
    /// Someone else changed it first (two admins deciding at once).
    #[error("offer {id} was already decided: it is {now}")]
    Raced { id: i64, now: OfferStatus },
}

/// Validates and inserts an offer. The operator's CLI and the demo use it
/// directly; the wizard goes through [`submit`].
pub fn create(
    store: &Store,
    draft: OfferDraft,
    min: PricePair,
    status: OfferStatus,
    postback: PostbackSpec,
    now: i64,
) -> Result<OfferId, CreateError> {
    let new = to_new(draft, min, status, postback)?;
    Ok(store.write(|tx| -> Result<OfferId, StoreError> {
        let id = store::offers::insert_offer(tx, &new, now)?;
        audit(
            tx,
            id,
            now,
            "offer created",
            &format!("offer {id} created ({status})"),
        )?;
        Ok(id)
    })?)
}

fn to_new(
    draft: OfferDraft,
    min: PricePair,
    status: OfferStatus,
    postback: PostbackSpec,
) -> Result<NewOffer, CreateError> {
    let action = draft.action;
    let advertiser_id = draft.advertiser_id;
    let valid = validate_draft(draft, min).map_err(CreateError::Draft)?;
    Ok(NewOffer {
        name: valid.draft.name,
        advertiser_id,
        action,
        target: valid.draft.target,
        status,
        price: valid.draft.price,
        payout: valid.draft.payout,
        currency: valid.draft.currency,
        caps: valid.draft.caps,
        schedule: valid.draft.schedule,
        timezone: valid.draft.timezone,
        hold_seconds: valid.hold_seconds,
        budget_total: valid.draft.budget_total,
        postback,
        // Only offers reported by the advertiser's own bot get a relay secret.
        relay_secret: (action == Action::ThirdPartyBot).then(crate::domain::token::secret),
    })
}

/// A submitted draft: the offer, the revision its invoice must name, and what
/// the advertiser still has to pay after their credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    pub offer: OfferId,
    pub revision: i64,
    pub credit_applied: i64,
    pub to_pay: i64,
}

/// A campaign draft the advertiser asked to pay for: inserted (or, when they
/// edited it after an earlier "Pay", replaced with a new revision) in status
/// `awaiting_payment`. The advertiser's credit (unspent budget of finished
/// campaigns) goes towards the budget first; the invoice is for the rest.
pub fn submit(
    store: &Store,
    draft: OfferDraft,
    min: PricePair,
    slug: &str,
    existing: Option<OfferId>,
    now: i64,
) -> Result<Submitted, CreateError> {
    let advertiser = draft.advertiser_id;
    let new = to_new(
        draft,
        min,
        OfferStatus::AwaitingPayment,
        PostbackSpec::default(),
    )?;
    store.write(|tx| -> Result<Submitted, CreateError> {
        if store::offers::slug_taken(tx, slug, existing)? {
            return Err(CreateError::SlugTaken(slug.to_string()));
        }
        let id = match existing {
            Some(id) => {
                let current = store::offers::get_offer(tx, id)?
                    .filter(|o| o.advertiser_id == advertiser)
                    .ok_or(StoreError::Corrupt(format!(
                        "no draft {id} of this advertiser"
                    )))?;
                if !store::offers::replace_draft(tx, id, &new, now)? {
                    return Err(CreateError::NotEditable(current.status));
                }
                store::offers::move_status(
                    tx,
                    id,
                    OfferStatus::Draft,
                    OfferStatus::AwaitingPayment,
                    now,
                )?;
                audit(
                    tx,
                    id,
                    now,
                    "draft edited",
                    &format!("campaign {id} edited before payment"),
                )?;
                id
            }
            None => {
                let id = store::offers::insert_offer(tx, &new, now)?;
                audit(
                    tx,
                    id,
                    now,
                    "campaign submitted",
                    &format!("campaign {id} waits for payment"),
                )?;
                id
            }
        };
        if !store::offers::set_slug(tx, id, slug, now)? {
            return Err(CreateError::SlugTaken(slug.to_string()));
        }
        let budget = new.budget_total.unwrap_or(0);
        let credit = match advertiser {
            Some(a) => store::payments::credit_of(tx, a)?.clamp(0, budget),
            None => 0,
        };
        store::offers::set_credit_applied(tx, id, credit)?;
        let o = store::offers::get_offer(tx, id)?.expect("just written");
        Ok(Submitted {
            offer: id,
            revision: o.revision,
            credit_applied: credit,
            to_pay: budget - credit,
        })
    })
}

/// Changes a status on behalf of `actor`, if the lifecycle allows it and the
/// actor may. `from` pins the status the actor saw, so a decision made on a
/// stale card fails as `Raced` instead of overwriting another's.
pub fn set_status(
    store: &Store,
    id: OfferId,
    from: Option<OfferStatus>,
    to: OfferStatus,
    actor: Actor,
    now: i64,
) -> Result<Offer, StatusError> {
    let r = store.write(|tx| -> Result<Result<Offer, StatusError>, StoreError> {
        let Some(o) = store::offers::get_offer(tx, id)? else {
            return Ok(Err(StatusError::NotFound(id.0)));
        };
        if let Actor::Advertiser(who) = actor {
            if o.advertiser_id != Some(who) {
                return Ok(Err(StatusError::NotYours(id.0)));
            }
            // Advertisers pause and resume their own running campaigns; the rest is the admins'.
            let own = matches!(
                (o.status, to),
                (OfferStatus::Active, OfferStatus::Paused)
                    | (OfferStatus::Paused, OfferStatus::Active)
                    | (OfferStatus::AwaitingPayment, OfferStatus::Finished)
                    | (OfferStatus::AwaitingPayment, OfferStatus::Draft)
                    | (OfferStatus::Draft, OfferStatus::Finished)
            );
            if !own && o.status != to {
                return Ok(Err(StatusError::Invalid {
                    id: id.0,
                    from: o.status,
                    to,
                }));
            }
        }
        let expected = from.unwrap_or(o.status);
        if o.status != expected {
            return Ok(Err(StatusError::Raced {
                id: id.0,
                now: o.status,
            }));
        }
        if o.status == to {
            return Ok(Ok(o));
        }
        if !o.status.can_become(to) {
            return Ok(Err(StatusError::Invalid {
                id: id.0,
                from: o.status,
                to,
            }));
        }
        if !store::offers::move_status(tx, id, o.status, to, now)? {
            let now_status = store::offers::get_offer(tx, id)?
                .map(|o| o.status)
                .unwrap_or(to);
            return Ok(Err(StatusError::Raced {
                id: id.0,
                now: now_status,
            }));
        }
        audit(
            tx,
            id,
            now,
            "status",
            &format!("offer {id}: {} -> {to} by {actor}", o.status),
        )?;
        if to == OfferStatus::Finished {
            credit_unspent(tx, &o, now)?;
        }
        Ok(Ok(store::offers::get_offer(tx, id)?.expect("exists")))
    });
    match r {
        Ok(r) => r,
        Err(e) => {
            log::error!("offer {id}: status change failed: {e}");
            Err(StatusError::NotFound(id.0))
        }
    }
}

/// The charges that paid a campaign and are not refunded yet: (payer, charge id, amount).
pub fn refundable_charges(
    store: &Store,
    id: OfferId,
) -> Result<Vec<(i64, String, i64)>, StoreError> {
    store.read(|c| store::payments::unrefunded(c, id, PaymentKind::CampaignBudget))
}

/// When a campaign finishes, what it did not spend stays with the advertiser
/// as credit for the next campaign: Telegram refunds only whole charges
/// (payments.refundStarsCharge), never a part of one.
fn credit_unspent(tx: &Connection, o: &Offer, now: i64) -> Result<(), StoreError> {
    let Some(advertiser) = o.advertiser_id else {
        return Ok(());
    };
    let paid = store::payments::paid_for(tx, OfferId(o.id), PaymentKind::CampaignBudget)?;
    let left = (paid - o.budget_spent).max(0);
    if left > 0 {
        store::payments::record(
            tx,
            &store::payments::NewPayment {
                tg_user_id: advertiser,
                offer_id: Some(OfferId(o.id)),
                kind: PaymentKind::Credit.as_str(),
                amount: left,
                currency: "XTR",
                payload: None,
                charge_id: &format!("credit:{}", o.id),
                status: PaymentStatus::Booked.as_str(),
            },
            now,
        )?;
        audit(
            tx,
            OfferId(o.id),
            now,
            "credit",
            &format!("{left} unspent Stars credited to advertiser {advertiser}"),
        )?;
    }
    Ok(())
}

fn audit(
    tx: &Connection,
    id: OfferId,
    now: i64,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let _ = id;
    store::audit::record(tx, Subject::default(), now, kind, detail)
}

/// Wires a campaign to its CPA network (CLI `offer set-postback`, the admins' card).
pub fn set_postback(
    store: &Store,
    id: OfferId,
    spec: &PostbackSpec,
    actor: Actor,
    now: i64,
) -> Result<bool, StoreError> {
    store.write(|tx| {
        let ok = store::offers::set_postback(tx, id, spec, now)?;
        if ok {
            audit(
                tx,
                id,
                now,
                "postback set",
                &format!(
                    "offer {id}: postback {} {} ({}) by {actor}",
                    spec.method.as_str(),
                    spec.url.as_deref().unwrap_or("(none)"),
                    spec.preset
                ),
            )?;
        }
        Ok(ok)
    })
}

/// Remembers the review card an admin was sent, so the first decision updates all of them.
pub fn review_card_sent(
    store: &Store,
    id: OfferId,
    admin: i64,
    msg_id: i32,
) -> Result<(), StoreError> {
    store.write(|tx| store::offers::add_review_card(tx, id, admin, msg_id))
}
