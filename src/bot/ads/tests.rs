//! Table tests of the wizard: every step's transitions, three full campaigns,
//! the grid editor, rendering and the saved state.

use super::*;
use crate::domain::offer::{Caps, ChatKind, PollSpec, UnverifiableKind};
use crate::domain::schedule::Schedule;
use crate::domain::tme::TmeError;

pub(super) fn min(a: Action) -> PricePair {
    match a {
        Action::JoinChannel => PricePair {
            regular: 5,
            premium: 10,
        },
        Action::Comment => PricePair {
            regular: 3,
            premium: 10,
        },
        _ => PricePair {
            regular: 1,
            premium: 2,
        },
    }
}
pub(super) fn hold(a: Action) -> i64 {
    a.default_hold_seconds()
}
pub(super) fn taken(s: &str) -> bool {
    ["taken", "taken-2", "news-join"].contains(&s)
}
pub(super) fn env() -> Env<'static> {
    Env {
        now: 1_795_428_000,
        minimum: &min,
        default_hold: &hold,
        slug_taken: &taken,
        our_bot: "tgtrack_bot",
        max_invoice_stars: 100_000,
    }
}

pub(super) fn channel(rights: Option<BotRights>) -> TargetFacts {
    TargetFacts {
        kind: ChatKind::Channel,
        chat_id: Some(100),
        username: Some("news".into()),
        title: "News <b>&".into(),
        msg_id: None,
        post_exists: false,
        discussion_chat_id: None,
        discussion_title: None,
        bot_rights_in_chat: rights,
        bot_rights_in_discussion: None,
        app_short_name: None,
    }
}
pub(super) const ADMIN: BotRights = BotRights {
    admin: true,
    invite_users: true,
};

pub(super) fn run(mut s: AdsState, inputs: Vec<Input>) -> (AdsState, Vec<Effect>) {
    let mut last = vec![];
    for i in inputs {
        (s, last) = step(s, i, &env());
    }
    (s, last)
}
pub(super) fn txt(s: &str) -> Input {
    Input::Text(s.into())
}
pub(super) fn btn(b: AdsButton) -> Input {
    Input::Button(b)
}
pub(super) fn screen(e: &[Effect]) -> &Screen {
    e.iter()
        .find_map(|e| match e {
            Effect::Show(s) => Some(s),
            _ => None,
        })
        .expect("a screen")
}

/// A draft with every answer, for entering any step.
pub(super) fn full() -> Draft {
    Draft {
        link: Some(TmeLink::Username {
            username: "news".into(),
        }),
        facts: Some(channel(Some(ADMIN))),
        action: Some(Action::JoinChannel),
        price: Some(PricePair {
            regular: 5,
            premium: 10,
        }),
        caps: Caps {
            total: Some(100),
            ..Default::default()
        },
        schedule: Some(Schedule::Always),
        timezone: Some("UTC".into()),
        hold_seconds: Some(3600),
        name: Some("Join".into()),
        slug_suggestion: Some("join".into()),
        slug: Some("join".into()),
        ..Default::default()
    }
}
pub(super) fn at(step: Step, draft: Draft) -> AdsState {
    AdsState::Active(Box::new(Wizard {
        step,
        draft,
        editing: false,
    }))
}

pub(super) type Want = (Option<Step>, Option<Notice>);

pub(super) fn check(cases: Vec<(Step, Draft, Input, Want)>) {
    for (i, (step0, draft, input, (want_step, want_notice))) in cases.into_iter().enumerate() {
        let label = format!("case {i}: {step0:?} + {input:?}");
        let (s, effects) = step(at(step0, draft), input, &env());
        assert_eq!(s.step(), want_step, "{label}");
        if effects.is_empty() {
            assert_eq!(want_notice, None, "{label}: nothing shown");
        } else {
            assert_eq!(screen(&effects).notice, want_notice, "{label}");
        }
    }
}

pub(super) fn p(p: Problem) -> Option<Notice> {
    Some(Notice::Problem(p))
}

#[test]
fn every_step_transition_to_the_extras() {
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
        // Target
        (
            Target,
            Draft::default(),
            txt("t.me/news"),
            (Some(Inspecting), None),
        ),
        (
            Target,
            Draft::default(),
            txt("https://t.me/TgTrack_Bot"),
            (Some(Price), None),
        ),
        (
            Target,
            Draft::default(),
            txt("example.com"),
            (Some(Target), p(Problem::Link(TmeError::NotTelegram))),
        ),
        (
            Target,
            Draft::default(),
            txt("t.me/ab"),
            (Some(Target), p(Problem::Link(TmeError::BadUsername))),
        ),
        (
            Target,
            Draft::default(),
            txt("репост"),
            (
                Some(Target),
                p(Problem::Wish(UnverifiableKind::NativeForward)),
            ),
        ),
        (
            Target,
            Draft::default(),
            btn(B::NoLink(A::StarsPayment)),
            (Some(StarsAmount), None),
        ),
        (
            Target,
            Draft::default(),
            btn(B::NoLink(A::PollVote)),
            (Some(Poll), None),
        ),
        (
            Target,
            Draft::default(),
            btn(B::NoLink(A::PaidMedia)),
            (Some(MediaUrl), None),
        ),
        (
            Target,
            Draft::default(),
            btn(B::NoLink(A::StartBot)),
            (Some(Price), None),
        ),
        (
            Target,
            Draft::default(),
            btn(B::NoLink(A::JoinChannel)),
            (Some(Target), stale.clone()),
        ),
        (Target, Draft::default(), btn(B::Back(Target)), (None, None)),
        (
            Target,
            Draft::default(),
            btn(B::Pay),
            (Some(Target), stale.clone()),
        ),
        // Inspecting
        (
            Inspecting,
            f(),
            txt("hello"),
            (Some(Inspecting), Some(Notice::StillWaiting)),
        ),
        (
            Inspecting,
            f(),
            btn(B::Back(Inspecting)),
            (Some(Target), None),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                ..f()
            },
            Input::Inspected(Ok(channel(None))),
            (Some(Action), None),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                ..f()
            },
            Input::Inspected(Err(InspectError::NotFound)),
            (Some(Target), p(Problem::Inspect(InspectError::NotFound))),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                ..f()
            },
            Input::Inspected(Err(InspectError::Inaccessible)),
            (
                Some(Target),
                p(Problem::Inspect(InspectError::Inaccessible)),
            ),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                ..f()
            },
            Input::Inspected(Err(InspectError::Unreachable)),
            (Some(Target), p(Problem::Inspect(InspectError::Unreachable))),
        ),
        (
            Inspecting,
            f(),
            Input::Inspected(Err(InspectError::Unreachable)),
            (Some(Rights), p(Problem::Inspect(InspectError::Unreachable))),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                link: Some(TmeLink::PublicPost {
                    username: "news".into(),
                    post: 9,
                }),
                ..f()
            },
            Input::Inspected(Ok(TargetFacts {
                msg_id: Some(9),
                post_exists: false,
                ..channel(None)
            })),
            (Some(Target), p(Problem::Inspect(InspectError::PostMissing))),
        ),
        (
            Inspecting,
            f(),
            Input::Inspected(Ok(channel(None))),
            (Some(Rights), p(Problem::StillMissing)),
        ),
        (
            Inspecting,
            f(),
            Input::Inspected(Ok(channel(Some(ADMIN)))),
            (Some(Price), None),
        ),
        (
            Inspecting,
            Draft {
                action: None,
                ..f()
            },
            Input::Inspected(Ok(TargetFacts {
                kind: ChatKind::BotChat,
                ..channel(None)
            })),
            (Some(Price), None),
        ),
        // Answers that arrive after the advertiser moved on are ignored.
        (
            Price,
            f(),
            Input::Inspected(Ok(channel(None))),
            (Some(Price), None),
        ),
        (Price, f(), Input::Submitted(Ok(3)), (Some(Price), None)),
        // Action
        (
            Action,
            f(),
            btn(B::Action(A::JoinChannel)),
            (Some(Price), None),
        ),
        (
            Action,
            Draft {
                facts: Some(channel(None)),
                ..f()
            },
            btn(B::Action(A::JoinChannel)),
            (Some(Rights), None),
        ),
        (
            Action,
            f(),
            btn(B::Action(A::Comment)),
            (Some(Action), stale.clone()),
        ),
        (
            Action,
            f(),
            txt("forward please"),
            (
                Some(Action),
                p(Problem::Wish(UnverifiableKind::NativeForward)),
            ),
        ),
        (Action, f(), txt("hmm"), (Some(Action), fallback.clone())),
        (Action, f(), btn(B::Back(Action)), (Some(Target), None)),
        // Rights
        (Rights, f(), btn(B::Recheck), (Some(Inspecting), None)),
        (Rights, f(), txt("done"), (Some(Rights), fallback.clone())),
        (Rights, f(), btn(B::Back(Rights)), (Some(Action), None)),
        // Extras
        (
            StarsAmount,
            no_link(A::StarsPayment),
            txt("50"),
            (Some(Price), None),
        ),
        (
            StarsAmount,
            no_link(A::StarsPayment),
            txt("0"),
            (Some(StarsAmount), p(Problem::StarsRange)),
        ),
        (
            StarsAmount,
            no_link(A::StarsPayment),
            txt("many"),
            (Some(StarsAmount), p(Problem::NotANumber)),
        ),
        (
            StarsAmount,
            no_link(A::StarsPayment),
            btn(B::Back(StarsAmount)),
            (Some(Target), None),
        ),
        (
            Poll,
            no_link(A::PollVote),
            txt("Q?\na\nb"),
            (Some(Price), None),
        ),
        (
            Poll,
            no_link(A::PollVote),
            txt("Q?\na"),
            (Some(Poll), p(Problem::PollShape)),
        ),
        (
            Poll,
            no_link(A::PollVote),
            btn(B::Back(Poll)),
            (Some(Target), None),
        ),
        (
            MediaUrl,
            no_link(A::PaidMedia),
            txt("https://x.test/a.jpg"),
            (Some(MediaAmount), None),
        ),
        (
            MediaUrl,
            no_link(A::PaidMedia),
            txt("ftp://x"),
            (Some(MediaUrl), p(Problem::MediaUrl)),
        ),
        (
            MediaUrl,
            no_link(A::PaidMedia),
            btn(B::Back(MediaUrl)),
            (Some(Target), None),
        ),
        (
            MediaAmount,
            no_link(A::PaidMedia),
            txt("30"),
            (Some(Price), None),
        ),
        (
            MediaAmount,
            no_link(A::PaidMedia),
            txt("100001"),
            (Some(MediaAmount), p(Problem::StarsRange)),
        ),
        (
            MediaAmount,
            no_link(A::PaidMedia),
            btn(B::Back(MediaAmount)),
            (Some(MediaUrl), None),
        ),
    ];
    check(cases);
}

#[test]
fn cancel_start_and_stale_back_at_every_step() {
    for s in Step::ALL {
        // /cancel and the Cancel button end the wizard from anywhere.
        for input in [Input::Cancel, btn(AdsButton::Cancel)] {
            let (state, effects) = step(
                at(
                    s,
                    Draft {
                        offer_id: Some(4),
                        ..full()
                    },
                ),
                input,
                &env(),
            );
            assert_eq!(state, AdsState::Idle, "{s:?}");
            assert_eq!(screen(&effects).page, Page::Cancelled);
            assert_eq!(effects[1..], [Effect::Discard(4), Effect::Clear], "{s:?}");
        }
        // /ads while running re-shows the step.
        let (state, effects) = step(at(s, full()), Input::Start, &env());
        assert_eq!(state.step(), Some(s));
        assert_eq!(screen(&effects).notice, Some(Notice::InProgress));
        // A Back from another step's message is stale.
        let other = if s == Step::Target {
            Step::Review
        } else {
            Step::Target
        };
        let (state, effects) = step(at(s, full()), btn(AdsButton::Back(other)), &env());
        assert_eq!(state.step(), Some(s));
        assert_eq!(screen(&effects).notice, Some(Notice::Stale), "{s:?}");
    }
}

#[test]
fn idle_and_restart() {
    let (s, e) = step(AdsState::Idle, Input::Start, &env());
    assert_eq!(s.step(), Some(Step::Target));
    assert_eq!(screen(&e).page, Page::Target);
    let (s, e) = step(AdsState::Idle, btn(AdsButton::Pay), &env());
    assert_eq!((s, screen(&e).page.clone()), (AdsState::Idle, Page::Ended));
    for i in [txt("hi"), Input::Cancel, Input::Submitted(Ok(1))] {
        assert_eq!(step(AdsState::Idle, i, &env()), (AdsState::Idle, vec![]));
    }
    assert!(decode(VERSION, "{\"active\":{\"step\":\"warp\"}}").is_err());
    assert!(decode(VERSION + 1, &AdsState::Idle.encode()).is_err());
    let (s, e) = restart_after_bad_row();
    assert_eq!(s.step(), Some(Step::Target));
    assert_eq!(screen(&e).notice, Some(Notice::Apology));
}

#[test]
fn state_round_trips() {
    for st in Step::ALL {
        let s = at(
            st,
            Draft {
                offer_id: Some(9),
                poll: Some(PollSpec {
                    question: "Q".into(),
                    options: vec!["a".into(), "b".into()],
                }),
                ..full()
            },
        );
        assert_eq!(decode(VERSION, &s.encode()), Ok(s));
    }
    assert_eq!(
        decode(VERSION, &AdsState::Idle.encode()),
        Ok(AdsState::Idle)
    );
}
