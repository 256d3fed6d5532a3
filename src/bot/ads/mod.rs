//! The advertiser's `/ads` campaign wizard: the pure core.
//!
//! One message per step, inline buttons where a choice is finite. Everything
//! here is pure: no grammers, no SQL, no clock (`now` comes in [`Env`]). The bot
//! glue turns Telegram updates into [`Input`]s, stores the [`AdsState`] per chat
//! (`encode()` / `decode(version, json)`), and carries out the [`Effect`]s:
//!
//! ```text
//! let (state, effects) = step(state, input, &env);
//! for e in effects {
//!     Show(screen)   => send render(&screen, lang) (HTML parse mode, inline keyboard of AdsButton)
//!     Inspect(link)  => resolve the link with Telegram, answer Input::Inspected(facts or error)
//!     Submit(sub)    => create or update the awaiting_payment offer, send the XTR invoice,
//!                       answer Input::Submitted(offer id or error)
//!     Discard(id)    => the draft offer `id` is abandoned: invalidate its invoice
//!     Clear          => delete the wizard row
//! }
//! ```
//!
//! A successful payment is handled outside [`step`] by the glue, which then
//! clears the wizard. A row that no longer decodes is answered with
//! [`restart_after_bad_row`] (an apology and the first step).
//!
//! Invariants: the offer the wizard submits passed `domain::offer::validate_draft`
//! with the admin minimums of the moment; the actions offered are those
//! `domain::offer::check_verifiable` accepts on the resolved target; no input
//! panics (unknown text or a stale button re-shows the current step).

mod button;
mod grid;
mod parse;
mod screens;
mod state;
mod step;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_flows;
#[cfg(test)]
mod tests_table;
mod texts;
mod view;

pub use button::AdsButton;
pub use grid::Preset;
pub use parse::{slug_suggestion, Window};
pub use screens::{render, Notice, Page, ParseMode, Problem, Rendered, Review, Screen};
pub use state::{decode, AdsState, DecodeError, Draft, Section, Step, Wizard, VERSION, ZONES};
pub use step::{budget, restart_after_bad_row, step};

use crate::domain::offer::{Action, OfferDraft, PricePair};
pub use crate::domain::tme::{BotRights, TargetFacts, TmeLink};

/// The bot's language type; one import so a move of `texts` is a one-line change here.
pub use crate::bot::texts::Lang;

/// What the wizard may ask of the outside world, read-only.
pub struct Env<'a> {
    /// Unix seconds.
    pub now: i64,
    /// Admin minimum prices per action (run-time settings).
    pub minimum: &'a dyn Fn(Action) -> PricePair,
    /// Admin default hold window per action, in seconds.
    pub default_hold: &'a dyn Fn(Action) -> i64,
    /// Whether an offer slug is already used.
    pub slug_taken: &'a dyn Fn(&str) -> bool,
    /// Our bot's username: `t.me/OURBOT` means a start_bot campaign.
    pub our_bot: &'a str,
    /// The largest budget one XTR invoice may carry.
    pub max_invoice_stars: i64,
}

/// What happened in the advertiser's chat, as the glue saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// `/ads`.
    Start,
    /// `/cancel`.
    Cancel,
    Text(String),
    Button(AdsButton),
    /// The answer to [`Effect::Inspect`].
    Inspected(Result<TargetFacts, InspectError>),
    /// The answer to [`Effect::Submit`]: the offer id.
    Submitted(Result<i64, SubmitError>),
}

/// What the glue must do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// Send a message: `render(&screen, lang)`.
    Show(Screen),
    /// Resolve and check the link with Telegram; answer with [`Input::Inspected`].
    Inspect(TmeLink),
    /// Create (or, with `existing`, update) the offer as `awaiting_payment` and
    /// send an XTR invoice for the budget; answer with [`Input::Submitted`].
    Submit(Box<Submission>),
    /// The draft offer with this id is abandoned (cancelled, or a new
    /// invoice replaces it): make its invoice invalid.
    Discard(i64),
    /// The wizard ended: delete its row.
    Clear,
}

/// Why a link could not be inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InspectError {
    /// `USERNAME_NOT_OCCUPIED`, `INVITE_HASH_INVALID`, `INVITE_HASH_EXPIRED`.
    NotFound,
    /// `CHANNEL_PRIVATE`, `CHANNEL_INVALID`: e.g. `t.me/c/ID` of a chat the bot is not in.
    Inaccessible,
    /// `channels.getMessages` returned `messageEmpty` for the post.
    PostMissing,
    /// Network error, timeout or FLOOD_WAIT: try again.
    Unreachable,
}

/// Why the glue could not create the offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubmitError {
    /// Someone took the slug between the review and Pay.
    SlugTaken,
    /// An admin raised the minimum price meanwhile.
    MinimumRaised,
    /// The store refused the offer (it failed validation there).
    Invalid,
}

/// Everything needed to create the offer as `awaiting_payment` and invoice its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The draft offer to update instead of creating one (its old invoice becomes invalid).
    pub existing: Option<i64>,
    pub slug: String,
    /// Passed `validate_draft`; `advertiser_id` is left for the glue.
    pub draft: OfferDraft,
    pub hold_seconds: i64,
    /// Stars to invoice: total cap x the Premium-or-higher price.
    pub budget: i64,
}
