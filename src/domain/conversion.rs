//! The conversion lifecycle as pure rules (design.md section 6).
//!
//! `lead` (user started the bot from a click) -> `hold` (action observed and
//! accepted; waits out the offer's hold window) -> `approved` (still valid when
//! re-checked at hold end) or `rejected` (undone inside the window, failed the
//! re-check, over a cap, out of schedule, budget exhausted, ...).
//!
//! Nothing here reads the clock or the database: callers pass `now`, the offer
//! and the usage counts, and apply the returned decision in one transaction.

use chrono::{Datelike, TimeZone, Timelike};
use serde::{Deserialize, Serialize};

use super::offer::{Caps, ConversionStatus, Offer, OfferStatus};

/// How long a click's start token can still bind a user: networks stop
/// accepting conversions for old clicks (Offer18 rejects after 30 days, cpa.md),
/// so a token that old is treated as expired.
pub const CLICK_TTL: i64 = 30 * 86400;

/// Whether a click made at `clicked_at` can still be bound to a new user at `now`.
pub fn click_expired(clicked_at: i64, now: i64) -> bool {
    now - clicked_at > CLICK_TTL
}

/// Which usage counts the offer's caps need: (total, [hour, day, week] window
/// starts). Offers without caps need none, so deciding them reads nothing.
pub fn usage_needed(caps: &Caps, now: i64, tz: &str) -> (bool, [Option<i64>; 3]) {
    if caps.hour.is_none() && caps.day.is_none() && caps.week.is_none() {
        return (caps.total.is_some(), [None; 3]);
    }
    let (h, d, w) = window_starts(now, tz);
    (
        caps.total.is_some(),
        [
            caps.hour.map(|_| h),
            caps.day.map(|_| d),
            caps.week.map(|_| w),
        ],
    )
}

/// Whether a member since `since` (Telegram's join date; None for the chat's
/// creator) joined after the click at `click_at`. Only joins after the click
/// are paid for: a user who already was a member did nothing for the offer.
pub fn joined_after_click(since: Option<i64>, click_at: i64) -> bool {
    since.is_some_and(|s| s >= click_at)
}

/// Accepted conversions already counted against the offer's caps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub total: i64,
    pub this_hour: i64,
    pub today: i64,
    pub this_week: i64,
}

/// Why a conversion was rejected. The text goes to the audit trail and, in
/// short, to the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    OfferNotActive,
    CapTotal,
    CapHour,
    CapDay,
    CapWeek,
    OutOfSchedule,
    BudgetExhausted,
    /// The user was already a member (or had already done it) before the click.
    AlreadyDone,
    /// Undone inside the hold window: left, removed the reaction, deleted the comment.
    Undone,
    /// The user blocked the bot inside the hold window.
    BlockedBot,
    /// The re-check with Telegram at hold end failed.
    RecheckFailed,
    /// The actor was not the attributed user (a channel, an anonymous admin, a bot).
    NotAUser,
    /// Declined by an operator.
    Manual,
}

impl RejectReason {
    pub fn as_str(self) -> &'static str {
        use RejectReason::*;
        match self {
            OfferNotActive => "offer_not_active",
            CapTotal => "cap_total",
            CapHour => "cap_hour",
            CapDay => "cap_day",
            CapWeek => "cap_week",
            OutOfSchedule => "out_of_schedule",
            BudgetExhausted => "budget_exhausted",
            AlreadyDone => "already_done",
            Undone => "undone",
            BlockedBot => "blocked_bot",
            RecheckFailed => "recheck_failed",
            NotAUser => "not_a_user",
            Manual => "manual",
        }
    }
}

impl std::str::FromStr for RejectReason {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        use RejectReason::*;
        [
            OfferNotActive,
            CapTotal,
            CapHour,
            CapDay,
            CapWeek,
            OutOfSchedule,
            BudgetExhausted,
            AlreadyDone,
            Undone,
            BlockedBot,
            RecheckFailed,
            NotAUser,
            Manual,
        ]
        .into_iter()
        .find(|r| r.as_str() == s)
        .ok_or_else(|| format!("unknown reject reason {s:?}"))
    }
}

impl std::fmt::Display for RejectReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The decision for an observed action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Accept at `price` Stars. With a zero hold window the conversion is
    /// approved at once (`hold_until == now`).
    Accept {
        price: i64,
        hold_until: i64,
        approve_now: bool,
    },
    Reject(RejectReason),
}

/// Decides an observed action. The checks run in the order an operator would
/// explain them: offer state, schedule, caps, then money.
pub fn decide_action(offer: &Offer, usage: Usage, premium: bool, now: i64) -> Decision {
    if offer.status != OfferStatus::Active {
        return Decision::Reject(RejectReason::OfferNotActive);
    }
    if !offer.schedule.is_open(now, &offer.timezone) {
        return Decision::Reject(RejectReason::OutOfSchedule);
    }
    let caps = [
        (offer.caps.total, usage.total, RejectReason::CapTotal),
        (offer.caps.hour, usage.this_hour, RejectReason::CapHour),
        (offer.caps.day, usage.today, RejectReason::CapDay),
        (offer.caps.week, usage.this_week, RejectReason::CapWeek),
    ];
    for (cap, used, reason) in caps {
        if cap.is_some_and(|cap| used >= cap) {
            return Decision::Reject(reason);
        }
    }
    let price = offer.price.for_user(premium);
    if offer.budget_left().is_some_and(|left| left < price) {
        return Decision::Reject(RejectReason::BudgetExhausted);
    }
    let hold = offer.hold_seconds.max(0);
    Decision::Accept {
        price,
        hold_until: now + hold,
        approve_now: hold == 0,
    }
}

/// What happens when an accepted action is undone.
pub fn on_undone(
    status: ConversionStatus,
    hold_until: Option<i64>,
    now: i64,
) -> Option<ConversionStatus> {
    match status {
        // Inside the window: the network is told, the budget refunded.
        ConversionStatus::Hold if hold_until.is_none_or(|h| now < h) => {
            Some(ConversionStatus::Rejected)
        }
        // Past the window the conversion stands; the hold sweep will approve it
        // only after a successful re-check, so a late leave before the sweep
        // still fails that re-check.
        _ => None,
    }
}

/// What the hold sweep does with a due conversion after re-checking with Telegram.
pub fn on_hold_end(still_valid: bool) -> ConversionStatus {
    if still_valid {
        ConversionStatus::Approved
    } else {
        ConversionStatus::Rejected
    }
}

/// Starts of the current hour, day and ISO week in the offer's time zone, as
/// unix seconds: the windows the caps count in. Calendar windows match how
/// advertisers say it ("100 a day"), not rolling ones.
pub fn window_starts(now: i64, tz: &str) -> (i64, i64, i64) {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    let Some(local) = zone.timestamp_opt(now, 0).single() else {
        return (now, now, now);
    };
    let hour = now - (local.minute() as i64 * 60 + local.second() as i64);
    // A day can be 23 or 25 hours around DST changes: find local midnight by
    // date, not by subtracting 86400.
    let midnight = |date: chrono::NaiveDate| -> i64 {
        zone.from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight"))
            .earliest()
            .map(|t| t.timestamp())
            .unwrap_or(now - now.rem_euclid(86400))
    };
    let day = midnight(local.date_naive());
    let monday =
        local.date_naive() - chrono::Days::new(local.weekday().num_days_from_monday() as u64);
    (hour, day, midnight(monday))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::{Action, Caps, PostbackMethod, PostbackSpec, PricePair, Target};
    use crate::domain::schedule::Schedule;

    const MON_1000: i64 = 1_795_428_000;

    fn offer() -> Offer {
        Offer {
            id: 1,
            name: "o".into(),
            advertiser_id: None,
            action: Action::JoinChannel,
            target: Target::default(),
            status: OfferStatus::Active,
            price: PricePair {
                regular: 5,
                premium: 10,
            },
            payout: "1".into(),
            currency: "USD".into(),
            caps: Caps::default(),
            schedule: Schedule::Always,
            timezone: "UTC".into(),
            hold_seconds: 3600,
            budget_total: None,
            budget_spent: 0,
            postback: PostbackSpec {
                url: None,
                method: PostbackMethod::Get,
                preset: "generic".into(),
                statuses: vec![],
                send_user_id: false,
            },
            relay_secret: None,
            slug: None,
            revision: 0,
            credit_applied: 0,
            created_at: 0,
            updated_at: 0,
        }
    }

    #[test]
    fn accepts_with_tier_price_and_hold() {
        let d = decide_action(&offer(), Usage::default(), false, MON_1000);
        assert_eq!(
            d,
            Decision::Accept {
                price: 5,
                hold_until: MON_1000 + 3600,
                approve_now: false
            }
        );
        let d = decide_action(&offer(), Usage::default(), true, MON_1000);
        assert!(matches!(d, Decision::Accept { price: 10, .. }));
        let o = Offer {
            hold_seconds: 0,
            ..offer()
        };
        assert!(matches!(
            decide_action(&o, Usage::default(), false, MON_1000),
            Decision::Accept {
                approve_now: true,
                ..
            }
        ));
    }

    #[test]
    fn rejections_table() {
        let u = |total, this_hour, today, this_week| Usage {
            total,
            this_hour,
            today,
            this_week,
        };
        let cases = [
            (
                Offer {
                    status: OfferStatus::Paused,
                    ..offer()
                },
                u(0, 0, 0, 0),
                false,
                RejectReason::OfferNotActive,
            ),
            (
                Offer {
                    schedule: Schedule::Weekends,
                    ..offer()
                },
                u(0, 0, 0, 0),
                false,
                RejectReason::OutOfSchedule,
            ),
            (
                Offer {
                    caps: Caps {
                        total: Some(3),
                        ..Default::default()
                    },
                    ..offer()
                },
                u(3, 0, 0, 0),
                false,
                RejectReason::CapTotal,
            ),
            (
                Offer {
                    caps: Caps {
                        hour: Some(1),
                        ..Default::default()
                    },
                    ..offer()
                },
                u(5, 1, 1, 1),
                false,
                RejectReason::CapHour,
            ),
            (
                Offer {
                    caps: Caps {
                        day: Some(2),
                        ..Default::default()
                    },
                    ..offer()
                },
                u(5, 0, 2, 2),
                false,
                RejectReason::CapDay,
            ),
            (
                Offer {
                    caps: Caps {
                        week: Some(2),
                        ..Default::default()
                    },
                    ..offer()
                },
                u(5, 0, 0, 2),
                false,
                RejectReason::CapWeek,
            ),
            // The budget can pay a regular user but not a Premium one.
            (
                Offer {
                    budget_total: Some(12),
                    budget_spent: 5,
                    ..offer()
                },
                u(0, 0, 0, 0),
                true,
                RejectReason::BudgetExhausted,
            ),
        ];
        for (o, usage, premium, reason) in cases {
            assert_eq!(
                decide_action(&o, usage, premium, MON_1000),
                Decision::Reject(reason),
                "{reason}"
            );
        }
        let o = Offer {
            budget_total: Some(12),
            budget_spent: 5,
            ..offer()
        };
        assert!(matches!(
            decide_action(&o, Usage::default(), false, MON_1000),
            Decision::Accept { price: 5, .. }
        ));
    }

    #[test]
    fn undo_inside_window_only() {
        use ConversionStatus::*;
        assert_eq!(on_undone(Hold, Some(100), 99), Some(Rejected));
        assert_eq!(on_undone(Hold, Some(100), 100), None);
        assert_eq!(on_undone(Approved, Some(100), 50), None);
        assert_eq!(on_undone(Lead, None, 50), None);
        assert_eq!(on_hold_end(true), Approved);
        assert_eq!(on_hold_end(false), Rejected);
    }

    #[test]
    fn usage_is_only_counted_for_caps_that_exist() {
        assert_eq!(
            usage_needed(&Caps::default(), MON_1000, "UTC"),
            (false, [None; 3])
        );
        let caps = Caps {
            total: Some(5),
            day: Some(2),
            ..Default::default()
        };
        let (total, since) = usage_needed(&caps, MON_1000, "UTC");
        assert!(total);
        assert_eq!(since, [None, Some(MON_1000 - 10 * 3600), None]);
    }

    #[test]
    fn joins_count_only_after_the_click() {
        assert!(joined_after_click(Some(100), 100));
        assert!(joined_after_click(Some(101), 100));
        assert!(!joined_after_click(Some(99), 100));
        assert!(!joined_after_click(None, 100), "the creator never joined");
    }

    #[test]
    fn windows_in_offer_zone() {
        let (h, d, w) = window_starts(MON_1000 + 125, "UTC");
        assert_eq!(h, MON_1000);
        assert_eq!(d, MON_1000 - 10 * 3600);
        assert_eq!(w, d, "a Monday starts its own week");
        // 10:02 UTC Monday is 13:02 in Moscow (UTC+3): the day starts at 21:00 UTC Sunday.
        let (_, d, _) = window_starts(MON_1000 + 125, "Europe/Moscow");
        assert_eq!(d, MON_1000 - 13 * 3600);
        let (_, _, w) = window_starts(MON_1000 + 3 * 86400, "UTC");
        assert_eq!(w, MON_1000 - 10 * 3600);
    }
}
