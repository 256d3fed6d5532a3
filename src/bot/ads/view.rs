//! What the draft amounts to: the page of the current step, the offer target
//! and draft it describes, and the review card. Pure reads of the state.

use super::screens::{Page, Review};
use super::state::{Draft, Step, Wizard};
use super::step::budget;
use super::Env;
use crate::domain::offer::{Action, ChatKind, OfferDraft, Target};
use crate::domain::tme::{missing_rights, required_rights, TmeLink};

/// The first step whose answer the draft lacks, for a review of a complete campaign.
pub(super) fn first_missing(d: &Draft) -> Option<Step> {
    let Some(action) = d.action else {
        return Some(Step::Target);
    };
    let extra = match action {
        Action::StarsPayment if d.stars.is_none() => Some(Step::StarsAmount),
        Action::PollVote if d.poll.is_none() => Some(Step::Poll),
        Action::PaidMedia if d.media_url.is_none() => Some(Step::MediaUrl),
        Action::PaidMedia if d.stars.is_none() => Some(Step::MediaAmount),
        _ => None,
    };
    extra.or(if d.price.is_none() {
        Some(Step::Price)
    } else if d.caps.total.is_none() {
        Some(Step::CapTotal)
    } else if d.schedule.is_none() {
        Some(Step::Schedule)
    } else if d.timezone.is_none() {
        Some(Step::Timezone)
    } else if d.hold_seconds.is_none() {
        Some(Step::Hold)
    } else if d.name.is_none() {
        Some(Step::Name)
    } else if d.slug.is_none() {
        Some(Step::Slug)
    } else {
        None
    })
}

/// The page of the current step.
pub(super) fn page(w: &Wizard, env: &Env) -> Page {
    let d = &w.draft;
    let action = d.action.unwrap_or(Action::StartBot);
    match w.step {
        Step::Target => Page::Target,
        Step::Inspecting => Page::Inspecting {
            url: d.link.as_ref().map(TmeLink::url).unwrap_or_default(),
        },
        Step::Action => {
            let (Some(f), Some(link)) = (&d.facts, &d.link) else {
                return Page::Target;
            };
            Page::Actions {
                title: f.title.clone(),
                actions: f.verifiable_actions(link),
                notes: notes(f),
            }
        }
        Step::Rights => {
            let (Some(f), Some(t)) = (&d.facts, target(d, env)) else {
                return Page::Target;
            };
            Page::Rights {
                title: f.title.clone(),
                discussion_title: f.discussion_title.clone(),
                missing: missing_rights(&required_rights(action, &t), f),
            }
        }
        Step::StarsAmount => Page::StarsAmount,
        Step::Poll => Page::Poll,
        Step::MediaUrl => Page::MediaUrl,
        Step::MediaAmount => Page::MediaAmount,
        Step::Price => Page::Price {
            action,
            min: (env.minimum)(action),
        },
        Step::CapTotal => Page::CapTotal,
        Step::WindowCaps => Page::WindowCaps {
            total: d.caps.total.unwrap_or(0),
        },
        Step::Schedule => Page::Schedule,
        Step::Grid => Page::Grid {
            grid: d.grid,
            day: d.grid_day,
        },
        Step::Timezone => Page::Timezone,
        Step::Hold => Page::Hold {
            default: (env.default_hold)(action),
        },
        Step::Name => Page::Name,
        Step::Slug => Page::Slug {
            suggestion: d.slug_suggestion.clone().unwrap_or_default(),
        },
        Step::Review => match review(d, env) {
            Some(r) => Page::Review(Box::new(r)),
            None => Page::Target,
        },
        Step::EditMenu => Page::EditMenu,
        Step::Submitting => Page::Submitting,
        Step::AwaitingPayment => Page::AwaitingPayment {
            offer_id: d.offer_id.unwrap_or(0),
            budget: review(d, env).map(|r| r.budget).unwrap_or(0),
        },
    }
}

/// Unverifiable wishes worth one line on this target's action screen.
fn notes(f: &crate::domain::tme::TargetFacts) -> Vec<crate::domain::offer::UnverifiableKind> {
    use crate::domain::offer::UnverifiableKind as U;
    let mut v = vec![];
    if f.kind == ChatKind::Channel {
        v.push(U::NativeForward);
        if f.discussion_chat_id.is_none() {
            v.push(U::ChannelReaction);
            if f.msg_id.is_some() {
                v.push(U::NoDiscussionGroup);
            }
        }
        v.push(U::ChannelPoll);
    }
    if f.kind == ChatKind::BasicGroup {
        v.push(U::BasicGroupJoin);
    }
    v
}

/// The offer target the draft describes.
pub(super) fn target(d: &Draft, env: &Env) -> Option<Target> {
    let action = d.action?;
    match (&d.facts, &d.link) {
        (Some(f), Some(link)) => Some(f.target_for(action, link)),
        _ => Some(Target {
            chat_kind: Some(ChatKind::BotChat),
            username: (action == Action::StartBot).then(|| env.our_bot.to_string()),
            poll: d.poll.clone(),
            stars: d.stars,
            url: d.media_url.clone(),
            ..Default::default()
        }),
    }
}

pub(super) fn offer_draft(d: &Draft, env: &Env) -> Option<(OfferDraft, i64)> {
    let price = d.price?;
    let total = d.caps.total?;
    let budget = budget(price, total)?;
    let draft = OfferDraft {
        name: d.name.clone()?,
        advertiser_id: None,
        action: d.action?,
        target: target(d, env)?,
        price,
        payout: price.regular.to_string(),
        currency: "XTR".into(),
        caps: d.caps,
        schedule: d.schedule.clone()?,
        timezone: d.timezone.clone()?,
        hold_seconds: d.hold_seconds,
        budget_total: Some(budget),
    };
    Some((draft, budget))
}

pub(super) fn review(d: &Draft, env: &Env) -> Option<Review> {
    let (draft, budget) = offer_draft(d, env)?;
    Some(Review {
        slug: d.slug.clone()?,
        hold_seconds: d.hold_seconds?,
        budget,
        max_invoice: env.max_invoice_stars,
        draft,
    })
}
