//! The wizard's state: which step it is at and what was collected, saved per
//! chat as versioned JSON.

use serde::{Deserialize, Serialize};

use crate::domain::offer::{Action, Caps, PollSpec, PricePair};
use crate::domain::schedule::Schedule;
use crate::domain::tme::{TargetFacts, TmeLink};

/// Bump when a saved state would no longer mean the same; older rows then fail
/// to decode and the glue restarts the wizard with an apology.
pub const VERSION: u32 = 1;

/// Time zones offered as buttons (a button carries the index).
pub const ZONES: [&str; 8] = [
    "Europe/Moscow",
    "Europe/Kyiv",
    "Europe/Minsk",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Europe/Berlin",
    "UTC",
    "America/New_York",
];

/// A wizard in one chat.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdsState {
    /// No wizard: only `/ads` starts one.
    #[default]
    Idle,
    Active(Box<Wizard>),
}

/// A running wizard: the step it waits at and what was collected so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wizard {
    pub step: Step,
    pub draft: Draft,
    /// Set by the review's Edit menu: finishing the section returns to the review.
    #[serde(default)]
    pub editing: bool,
}

/// The steps, in order. Back buttons carry the step they were shown at, so a
/// Back from an older message is recognised as stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// A link, or a button for a campaign without one.
    Target,
    /// Waiting for `Input::Inspected`.
    Inspecting,
    Action,
    /// The bot lacks rights for the chosen action.
    Rights,
    StarsAmount,
    Poll,
    MediaUrl,
    MediaAmount,
    Price,
    CapTotal,
    WindowCaps,
    Schedule,
    Grid,
    Timezone,
    Hold,
    Name,
    Slug,
    Review,
    EditMenu,
    /// Waiting for `Input::Submitted`.
    Submitting,
    AwaitingPayment,
}

impl Step {
    pub const ALL: [Step; 21] = [
        Step::Target,
        Step::Inspecting,
        Step::Action,
        Step::Rights,
        Step::StarsAmount,
        Step::Poll,
        Step::MediaUrl,
        Step::MediaAmount,
        Step::Price,
        Step::CapTotal,
        Step::WindowCaps,
        Step::Schedule,
        Step::Grid,
        Step::Timezone,
        Step::Hold,
        Step::Name,
        Step::Slug,
        Step::Review,
        Step::EditMenu,
        Step::Submitting,
        Step::AwaitingPayment,
    ];

    /// Index for button data.
    pub fn index(self) -> u8 {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0) as u8
    }

    pub fn from_index(i: u8) -> Option<Step> {
        Step::ALL.get(i as usize).copied()
    }
}

/// Parts of the campaign the review's Edit menu jumps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    Target,
    Price,
    Caps,
    Schedule,
    Hold,
    Name,
}

impl Section {
    pub const ALL: [Section; 6] = [
        Section::Target,
        Section::Price,
        Section::Caps,
        Section::Schedule,
        Section::Hold,
        Section::Name,
    ];

    /// The step a section starts at.
    pub fn first_step(self) -> Step {
        match self {
            Section::Target => Step::Target,
            Section::Price => Step::Price,
            Section::Caps => Step::CapTotal,
            Section::Schedule => Step::Schedule,
            Section::Hold => Step::Hold,
            Section::Name => Step::Name,
        }
    }
}

/// What was collected so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Draft {
    pub link: Option<TmeLink>,
    pub facts: Option<TargetFacts>,
    pub action: Option<Action>,
    /// Invoice amount (stars_payment) or paid media price (paid_media).
    pub stars: Option<i64>,
    pub poll: Option<PollSpec>,
    pub media_url: Option<String>,
    pub price: Option<PricePair>,
    pub caps: Caps,
    pub schedule: Option<Schedule>,
    /// The custom grid being edited, and the day open in the editor.
    pub grid: [u32; 7],
    pub grid_day: Option<u8>,
    pub timezone: Option<String>,
    pub hold_seconds: Option<i64>,
    pub name: Option<String>,
    /// The slug offered on the slug step (free of collisions when suggested).
    pub slug_suggestion: Option<String>,
    pub slug: Option<String>,
    /// The awaiting_payment offer created by an earlier Pay.
    pub offer_id: Option<i64>,
}

impl AdsState {
    /// JSON for the wizard row (store it with [`VERSION`]).
    pub fn encode(&self) -> String {
        serde_json::to_string(self).expect("wizard state serializes: plain data, string keys")
    }

    /// The step the wizard waits at, if any.
    pub fn step(&self) -> Option<Step> {
        match self {
            AdsState::Idle => None,
            AdsState::Active(w) => Some(w.step),
        }
    }
}

/// Why a saved row was not restored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Saved by another version of the wizard.
    Version(u32),
    /// Not a state this version understands.
    Json(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::Version(v) => write!(f, "wizard state of version {v}, expected {VERSION}"),
            DecodeError::Json(e) => write!(f, "wizard state does not decode: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Restores a row saved with `encode()`; an error means: restart with
/// `restart_after_bad_row`.
pub fn decode(version: u32, json: &str) -> Result<AdsState, DecodeError> {
    if version != VERSION {
        return Err(DecodeError::Version(version));
    }
    serde_json::from_str(json).map_err(|e| DecodeError::Json(e.to_string()))
}
