//! The transition table of `step`, from the price step to the end (the steps
//! before it are in `tests.rs`).

use super::tests::*;
use super::*;
use crate::domain::offer::Caps;

#[test]
fn every_step_transition_from_price_on() {
    #[allow(unused_imports)]
    use crate::domain::offer::Action as A;
    use AdsButton as B;
    use Step::*;
    let f = full;
    let stale = Some(Notice::Stale);
    let fallback = Some(Notice::Fallback);
    let no_link = |a| Draft {
        action: Some(a),
        link: None,
        facts: None,
        ..full()
    };
    let cases: Vec<(Step, Draft, Input, Want)> = vec![
        // Price
        (Price, f(), txt("6 12"), (Some(CapTotal), None)),
        (Price, f(), btn(B::MinPrice), (Some(CapTotal), None)),
        (
            Price,
            f(),
            txt("4 12"),
            (
                Some(Price),
                p(Problem::BelowMinimum {
                    premium: false,
                    min: 5,
                }),
            ),
        ),
        (
            Price,
            f(),
            txt("5 9"),
            (
                Some(Price),
                p(Problem::BelowMinimum {
                    premium: true,
                    min: 10,
                }),
            ),
        ),
        (
            Price,
            f(),
            txt("cheap"),
            (Some(Price), p(Problem::PriceFormat)),
        ),
        (Price, f(), btn(B::Back(Price)), (Some(Action), None)),
        (
            Price,
            no_link(A::StarsPayment),
            btn(B::Back(Price)),
            (Some(StarsAmount), None),
        ),
        (
            Price,
            no_link(A::PollVote),
            btn(B::Back(Price)),
            (Some(Poll), None),
        ),
        (
            Price,
            no_link(A::PaidMedia),
            btn(B::Back(Price)),
            (Some(MediaAmount), None),
        ),
        (
            Price,
            no_link(A::StartBot),
            btn(B::Back(Price)),
            (Some(Target), None),
        ),
        // Caps
        (CapTotal, f(), txt("1 000"), (Some(WindowCaps), None)),
        (
            CapTotal,
            f(),
            txt("0"),
            (Some(CapTotal), p(Problem::NotPositive)),
        ),
        (
            CapTotal,
            f(),
            txt("lots"),
            (Some(CapTotal), p(Problem::NotANumber)),
        ),
        (CapTotal, f(), btn(B::Back(CapTotal)), (Some(Price), None)),
        (
            WindowCaps,
            f(),
            txt("day 10, week 50"),
            (Some(Schedule), None),
        ),
        (WindowCaps, f(), txt("нет"), (Some(Schedule), None)),
        (WindowCaps, f(), btn(B::SkipWindows), (Some(Schedule), None)),
        (
            WindowCaps,
            f(),
            txt("день 500"),
            (
                Some(WindowCaps),
                p(Problem::AboveTotal {
                    window: super::Window::Day,
                    total: 100,
                }),
            ),
        ),
        (
            WindowCaps,
            f(),
            txt("day 0"),
            (Some(WindowCaps), p(Problem::NotPositive)),
        ),
        (
            WindowCaps,
            f(),
            txt("month 5"),
            (Some(WindowCaps), p(Problem::WindowFormat)),
        ),
        (
            WindowCaps,
            f(),
            btn(B::Back(WindowCaps)),
            (Some(CapTotal), None),
        ),
        // Schedule
        (
            Schedule,
            f(),
            btn(B::Preset(Preset::WorkHours)),
            (Some(Timezone), None),
        ),
        (
            Schedule,
            f(),
            btn(B::Preset(Preset::Custom)),
            (Some(Grid), None),
        ),
        (
            Schedule,
            f(),
            txt("mon-fri 9-18; sat 10-14"),
            (Some(Timezone), None),
        ),
        (Schedule, f(), txt("будни"), (Some(Timezone), None)),
        (
            Schedule,
            f(),
            txt("mon 18-9"),
            (
                Some(Schedule),
                p(Problem::Schedule(
                    crate::domain::schedule::ScheduleError::BadRange("18-9".into()),
                )),
            ),
        ),
        (
            Schedule,
            f(),
            btn(B::Back(Schedule)),
            (Some(WindowCaps), None),
        ),
        // Grid (week view; the day view has its own test)
        (
            Grid,
            f(),
            btn(B::GridDone),
            (Some(Grid), p(Problem::EmptyGrid)),
        ),
        (Grid, f(), btn(B::GridDay(2)), (Some(Grid), None)),
        (Grid, f(), btn(B::GridHour(2)), (Some(Grid), stale.clone())),
        (Grid, f(), txt("9-18"), (Some(Grid), fallback.clone())),
        (Grid, f(), btn(B::Back(Grid)), (Some(Schedule), None)),
        // Timezone
        (Timezone, f(), btn(B::Zone(0)), (Some(Hold), None)),
        (Timezone, f(), txt("Asia/Yekaterinburg"), (Some(Hold), None)),
        (
            Timezone,
            f(),
            txt("Mars/Base"),
            (Some(Timezone), p(Problem::Timezone)),
        ),
        (
            Timezone,
            f(),
            btn(B::Back(Timezone)),
            (Some(Schedule), None),
        ),
        // Hold
        (Hold, f(), btn(B::DefaultHold), (Some(Name), None)),
        (Hold, f(), btn(B::NoHold), (Some(Name), None)),
        (Hold, f(), txt("72 часа"), (Some(Name), None)),
        (
            Hold,
            f(),
            txt("100d"),
            (Some(Hold), p(Problem::HoldTooLong)),
        ),
        (Hold, f(), txt("soon"), (Some(Hold), p(Problem::HoldFormat))),
        (Hold, f(), btn(B::Back(Hold)), (Some(Timezone), None)),
        // Name and slug
        (Name, f(), txt("Join news"), (Some(Slug), None)),
        (Name, f(), txt("   "), (Some(Name), p(Problem::NameLength))),
        (Name, f(), btn(B::Back(Name)), (Some(Hold), None)),
        (Slug, f(), btn(B::AcceptSlug), (Some(Review), None)),
        (Slug, f(), txt("My-Campaign"), (Some(Review), None)),
        (
            Slug,
            f(),
            txt("taken"),
            (
                Some(Slug),
                p(Problem::SlugTaken {
                    suggestion: "taken-3".into(),
                }),
            ),
        ),
        (
            Slug,
            f(),
            txt("no spaces"),
            (Some(Slug), p(Problem::SlugFormat)),
        ),
        (Slug, f(), btn(B::Back(Slug)), (Some(Name), None)),
        // Review
        (Review, f(), btn(B::Pay), (Some(Submitting), None)),
        (
            Review,
            Draft {
                caps: Caps {
                    total: Some(20_000),
                    ..Default::default()
                },
                ..f()
            },
            btn(B::Pay),
            (
                Some(Review),
                p(Problem::BudgetTooBig {
                    budget: 200_000,
                    max: 100_000,
                }),
            ),
        ),
        (Review, f(), btn(B::Edit), (Some(EditMenu), None)),
        (Review, f(), txt("ok"), (Some(Review), fallback.clone())),
        (Review, f(), btn(B::Back(Review)), (Some(Slug), None)),
        (
            EditMenu,
            f(),
            btn(B::EditSection(Section::Price)),
            (Some(Price), None),
        ),
        (EditMenu, f(), btn(B::Back(EditMenu)), (Some(Review), None)),
        // Submitting
        (
            Submitting,
            f(),
            Input::Submitted(Ok(7)),
            (Some(AwaitingPayment), None),
        ),
        (
            Submitting,
            f(),
            Input::Submitted(Err(SubmitError::SlugTaken)),
            (
                Some(Slug),
                p(Problem::SlugTaken {
                    suggestion: "join".into(),
                }),
            ),
        ),
        (
            Submitting,
            f(),
            Input::Submitted(Err(SubmitError::MinimumRaised)),
            (Some(Price), p(Problem::Submit(SubmitError::MinimumRaised))),
        ),
        (
            Submitting,
            f(),
            Input::Submitted(Err(SubmitError::Invalid)),
            (Some(Review), p(Problem::Submit(SubmitError::Invalid))),
        ),
        (
            Submitting,
            f(),
            btn(B::Back(Submitting)),
            (Some(Submitting), Some(Notice::StillWaiting)),
        ),
        (
            Submitting,
            f(),
            txt("?"),
            (Some(Submitting), Some(Notice::StillWaiting)),
        ),
        // Awaiting payment
        (
            AwaitingPayment,
            Draft {
                offer_id: Some(7),
                ..f()
            },
            btn(B::Edit),
            (Some(Review), None),
        ),
        (
            AwaitingPayment,
            Draft {
                offer_id: Some(7),
                ..f()
            },
            btn(B::Back(AwaitingPayment)),
            (Some(Review), None),
        ),
        (
            AwaitingPayment,
            Draft {
                offer_id: Some(7),
                ..f()
            },
            btn(B::Pay),
            (Some(AwaitingPayment), stale.clone()),
        ),
        (
            AwaitingPayment,
            Draft {
                offer_id: Some(7),
                ..f()
            },
            txt("paid"),
            (Some(AwaitingPayment), fallback),
        ),
    ];
    check(cases);
}
