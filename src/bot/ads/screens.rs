//! What the wizard shows: typed screens, and their rendering into a message
//! (HTML parse mode) with an inline keyboard. Words come from `texts`.

use super::button::AdsButton as B;
use super::grid::{self, Preset};
use super::parse::Window;
use super::state::{Section, Step, ZONES};
use super::texts as t;
use super::{InspectError, Lang, SubmitError};
use crate::domain::offer::{Action, DraftError, OfferDraft, PricePair, UnverifiableKind};
use crate::domain::schedule::ScheduleError;
use crate::domain::tme::{RightNeed, TmeError};

/// A message to send: an optional notice line above the page of a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Screen {
    pub notice: Option<Notice>,
    pub page: Page,
}

/// A line above the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The input was refused: why.
    Problem(Problem),
    /// A text the step does not expect.
    Fallback,
    /// A button from an older message.
    Stale,
    /// `/ads` while a wizard runs.
    InProgress,
    /// The saved wizard could not be restored.
    Apology,
    /// Waiting for Telegram or the store.
    StillWaiting,
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Link(TmeError),
    Inspect(InspectError),
    /// A wish Telegram makes unverifiable ("репост").
    Wish(UnverifiableKind),
    /// Rechecked: the bot still lacks rights.
    StillMissing,
    NotANumber,
    NotPositive,
    StarsRange,
    PollShape,
    PollTooLong,
    MediaUrl,
    PriceFormat,
    BelowMinimum {
        premium: bool,
        min: i64,
    },
    WindowFormat,
    AboveTotal {
        window: Window,
        total: i64,
    },
    Schedule(ScheduleError),
    EmptyGrid,
    Timezone,
    HoldFormat,
    HoldTooLong,
    NameLength,
    SlugFormat,
    SlugTaken {
        suggestion: String,
    },
    BudgetTooBig {
        budget: i64,
        max: i64,
    },
    Draft(DraftError),
    Submit(SubmitError),
}

/// The body of each step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    Target,
    Inspecting {
        url: String,
    },
    /// The actions verifiable on the target (maybe none), with lines on what is not.
    Actions {
        title: String,
        actions: Vec<Action>,
        notes: Vec<UnverifiableKind>,
    },
    Rights {
        title: String,
        discussion_title: Option<String>,
        missing: Vec<RightNeed>,
    },
    StarsAmount,
    Poll,
    MediaUrl,
    MediaAmount,
    Price {
        action: Action,
        min: PricePair,
    },
    CapTotal,
    WindowCaps {
        total: i64,
    },
    Schedule,
    Grid {
        grid: [u32; 7],
        day: Option<u8>,
    },
    Timezone,
    Hold {
        default: i64,
    },
    Name,
    Slug {
        suggestion: String,
    },
    Review(Box<Review>),
    EditMenu,
    Submitting,
    AwaitingPayment {
        offer_id: i64,
        budget: i64,
    },
    Cancelled,
    /// A button of a wizard that has ended.
    Ended,
}

/// The review card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Review {
    pub draft: OfferDraft,
    pub slug: String,
    pub hold_seconds: i64,
    pub budget: i64,
    pub max_invoice: i64,
}

/// How Telegram must parse [`Rendered::text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    Html,
}

/// A message ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// HTML; everything the advertiser typed or Telegram named is escaped.
    pub text: String,
    pub parse_mode: ParseMode,
    /// Inline keyboard rows: (label, button).
    pub rows: Vec<Vec<(String, B)>>,
}

impl Page {
    /// The step whose Back the page carries (None: no Back).
    fn step(&self) -> Option<Step> {
        Some(match self {
            Page::Target => Step::Target,
            Page::Inspecting { .. } => Step::Inspecting,
            Page::Actions { .. } => Step::Action,
            Page::Rights { .. } => Step::Rights,
            Page::StarsAmount => Step::StarsAmount,
            Page::Poll => Step::Poll,
            Page::MediaUrl => Step::MediaUrl,
            Page::MediaAmount => Step::MediaAmount,
            Page::Price { .. } => Step::Price,
            Page::CapTotal => Step::CapTotal,
            Page::WindowCaps { .. } => Step::WindowCaps,
            Page::Schedule => Step::Schedule,
            Page::Grid { .. } => Step::Grid,
            Page::Timezone => Step::Timezone,
            Page::Hold { .. } => Step::Hold,
            Page::Name => Step::Name,
            Page::Slug { .. } => Step::Slug,
            Page::Review(_) => Step::Review,
            Page::EditMenu => Step::EditMenu,
            Page::AwaitingPayment { .. } => Step::AwaitingPayment,
            Page::Submitting | Page::Cancelled | Page::Ended => return None,
        })
    }
}

/// Renders a screen in a language.
pub fn render(screen: &Screen, l: Lang) -> Rendered {
    let body = t::page(l, &screen.page);
    let text = match &screen.notice {
        Some(n) => format!("{}\n\n{body}", t::notice(l, n)),
        None => body,
    };
    let mut rows = keyboard(&screen.page, l);
    if let Some(step) = screen.page.step() {
        let mut nav = vec![(t::back(l).to_string(), B::Back(step))];
        if step != Step::Target {
            nav.push((t::cancel(l).to_string(), B::Cancel));
        }
        rows.push(nav);
    }
    Rendered {
        text,
        parse_mode: ParseMode::Html,
        rows,
    }
}

fn one(label: impl Into<String>, b: B) -> Vec<(String, B)> {
    vec![(label.into(), b)]
}

fn keyboard(page: &Page, l: Lang) -> Vec<Vec<(String, B)>> {
    match page {
        Page::Target => super::step::NO_LINK
            .iter()
            .map(|a| one(t::no_link_label(l, *a), B::NoLink(*a)))
            .collect(),
        Page::Actions { actions, .. } => actions
            .iter()
            .map(|a| one(t::action_label(l, *a), B::Action(*a)))
            .collect(),
        Page::Rights { .. } => vec![one(t::recheck(l), B::Recheck)],
        Page::Price { min, .. } => vec![one(t::min_price(l, *min), B::MinPrice)],
        Page::WindowCaps { .. } => vec![one(t::skip_windows(l), B::SkipWindows)],
        Page::Schedule => {
            let p = |p: Preset| (t::preset(l, p).to_string(), B::Preset(p));
            vec![
                vec![p(Preset::Always), p(Preset::Weekdays)],
                vec![p(Preset::WorkHours), p(Preset::Weekends)],
                vec![p(Preset::Custom)],
            ]
        }
        Page::Grid { grid, day: None } => {
            let day = |d: u8| {
                let n = grid[d as usize].count_ones();
                (format!("{} · {n}", t::day_short(l, d)), B::GridDay(d))
            };
            vec![
                (0..4).map(day).collect(),
                (4..7).map(day).collect(),
                one(t::grid_done(l), B::GridDone),
            ]
        }
        Page::Grid { grid, day: Some(d) } => {
            let mut rows: Vec<Vec<(String, B)>> = (0..4u8)
                .map(|r| {
                    (r * 6..r * 6 + 6)
                        .map(|h| {
                            let mark = if grid::is_open(grid, *d, h) {
                                "✅"
                            } else {
                                "▫️"
                            };
                            (format!("{mark}{h:02}"), B::GridHour(h))
                        })
                        .collect()
                })
                .collect();
            rows.push(vec![
                (t::all_day(l).to_string(), B::GridAllDay),
                (t::clear(l).to_string(), B::GridClear),
            ]);
            rows.push(one(t::copy_weekdays(l), B::GridWeekdays));
            rows.push(one(t::day_done(l), B::GridDone));
            rows
        }
        Page::Timezone => ZONES
            .chunks(2)
            .enumerate()
            .map(|(i, pair)| {
                pair.iter()
                    .enumerate()
                    .map(|(j, z)| (z.to_string(), B::Zone((i * 2 + j) as u8)))
                    .collect()
            })
            .collect(),
        Page::Hold { default } => vec![
            one(t::default_hold(l, *default), B::DefaultHold),
            one(t::no_hold(l), B::NoHold),
        ],
        Page::Slug { suggestion } if !suggestion.is_empty() => {
            vec![one(t::accept_slug(l, suggestion), B::AcceptSlug)]
        }
        Page::Review(r) => {
            let mut rows = vec![];
            if r.budget <= r.max_invoice {
                rows.push(one(t::pay(l, r.budget), B::Pay));
            }
            rows.push(one(t::edit(l), B::Edit));
            rows
        }
        Page::EditMenu => Section::ALL
            .chunks(2)
            .map(|pair| {
                pair.iter()
                    .map(|s| (t::section(l, *s).to_string(), B::EditSection(*s)))
                    .collect()
            })
            .collect(),
        Page::AwaitingPayment { .. } => vec![one(t::edit(l), B::Edit)],
        _ => vec![],
    }
}
