//! Whole campaigns through the wizard, the grid editor, rendering and budgets.

use super::tests::{at, btn, channel, env, full, run, screen, txt, ADMIN};
use super::*;
use crate::domain::offer::{ChatKind, UnverifiableKind};
use crate::domain::schedule::Schedule;
use crate::domain::tme::{Place, Right, RightNeed};

fn submission(e: &[Effect]) -> &Submission {
    e.iter()
        .find_map(|e| match e {
            Effect::Submit(s) => Some(&**s),
            _ => None,
        })
        .expect("a submission")
}

#[test]
fn join_campaign_end_to_end() {
    use AdsButton as B;
    let (s, e) = run(AdsState::Idle, vec![Input::Start, txt("https://t.me/news")]);
    assert_eq!(
        e[1],
        Effect::Inspect(TmeLink::Username {
            username: "news".into()
        })
    );
    let (s, e) = run(s, vec![Input::Inspected(Ok(channel(Some(ADMIN))))]);
    let Page::Actions { actions, notes, .. } = &screen(&e).page else {
        panic!()
    };
    assert_eq!(
        actions,
        &[Action::JoinChannel, Action::Boost, Action::Share]
    );
    assert!(
        notes.contains(&UnverifiableKind::NativeForward)
            && notes.contains(&UnverifiableKind::ChannelReaction)
    );
    let (s, e) = run(
        s,
        vec![
            btn(B::Action(Action::JoinChannel)),
            btn(B::MinPrice),
            txt("100"),
            txt("день 10"),
            btn(B::Preset(Preset::WorkHours)),
            btn(B::Zone(0)),
            btn(B::DefaultHold),
            txt("Подписка на канал"),
        ],
    );
    assert_eq!(
        screen(&e).page,
        Page::Slug {
            suggestion: "podpiska-na-kanal".into()
        }
    );
    let (s, e) = run(s, vec![btn(B::AcceptSlug)]);
    let Page::Review(r) = &screen(&e).page else {
        panic!()
    };
    assert_eq!(r.budget, 1000, "100 x the Premium price 10");
    let (s, e) = run(s, vec![btn(B::Pay)]);
    let sub = submission(&e);
    assert_eq!(
        (
            sub.existing,
            sub.slug.as_str(),
            sub.budget,
            sub.hold_seconds
        ),
        (None, "podpiska-na-kanal", 1000, 72 * 3600)
    );
    assert_eq!(sub.draft.target.username.as_deref(), Some("news"));
    assert_eq!(sub.draft.caps.day, Some(10));
    assert_eq!(sub.draft.timezone, "Europe/Moscow");
    assert_eq!(sub.draft.advertiser_id, None);
    let (s, e) = run(s, vec![Input::Submitted(Ok(7))]);
    assert_eq!(
        screen(&e).page,
        Page::AwaitingPayment {
            offer_id: 7,
            budget: 1000
        }
    );
    // Edit after an invoice: a later Pay updates the same draft offer.
    let (_, e) = run(
        s,
        vec![
            btn(B::Edit),
            btn(B::Edit),
            btn(B::EditSection(Section::Price)),
            txt("6 11"),
            btn(B::Pay),
        ],
    );
    let sub = submission(&e);
    assert_eq!((sub.existing, sub.budget), (Some(7), 1100));
}

#[test]
fn comment_campaign_with_missing_rights() {
    use AdsButton as B;
    let post = TargetFacts {
        msg_id: Some(5),
        post_exists: true,
        discussion_chat_id: Some(77),
        discussion_title: Some("News chat".into()),
        ..channel(Some(ADMIN))
    };
    let (s, e) = run(
        AdsState::Idle,
        vec![
            Input::Start,
            txt("t.me/news/5"),
            Input::Inspected(Ok(post.clone())),
            btn(B::Action(Action::Comment)),
        ],
    );
    let Page::Rights { missing, .. } = &screen(&e).page else {
        panic!("{e:?}")
    };
    assert_eq!(
        missing,
        &[RightNeed {
            place: Place::Discussion,
            right: Right::Admin
        }]
    );
    let r = render(screen(&e), Lang::Ru);
    assert!(
        r.text.contains("«News chat»") && r.text.contains("администратором"),
        "{}",
        r.text
    );
    let (s, e) = run(s, vec![btn(B::Recheck)]);
    assert!(e.contains(&Effect::Inspect(TmeLink::PublicPost {
        username: "news".into(),
        post: 5
    })));
    let fixed = TargetFacts {
        bot_rights_in_discussion: Some(ADMIN),
        ..post
    };
    let (_, e) = run(
        s,
        vec![
            Input::Inspected(Ok(fixed)),
            txt("3 10"),
            txt("50"),
            btn(B::SkipWindows),
            btn(B::Preset(Preset::Always)),
            txt("UTC"),
            txt("12h"),
            txt("Comments"),
            txt("comments-1"),
            btn(B::Pay),
        ],
    );
    let sub = submission(&e);
    assert_eq!(sub.draft.action, Action::Comment);
    assert_eq!(
        (sub.draft.target.msg_id, sub.draft.target.discussion_chat_id),
        (Some(5), Some(77))
    );
    assert_eq!((sub.hold_seconds, sub.budget), (12 * 3600, 500));
}

#[test]
fn stars_payment_campaign() {
    use AdsButton as B;
    let (_, e) = run(
        AdsState::Idle,
        vec![
            Input::Start,
            btn(B::NoLink(Action::StarsPayment)),
            txt("50"),
            txt("1 2"),
            txt("10"),
            btn(B::SkipWindows),
            btn(B::Preset(Preset::Weekends)),
            btn(B::Zone(6)),
            btn(B::NoHold),
            txt("Pay us"),
            btn(B::AcceptSlug),
            btn(B::Pay),
        ],
    );
    let sub = submission(&e);
    assert_eq!(sub.draft.action, Action::StarsPayment);
    assert_eq!(sub.draft.target.stars, Some(50));
    assert_eq!(sub.draft.target.chat_kind, Some(ChatKind::BotChat));
    assert_eq!(
        (sub.slug.as_str(), sub.budget, sub.hold_seconds),
        ("pay-us", 20, 0)
    );
    assert_eq!(sub.draft.schedule, Schedule::Weekends);
}

#[test]
fn grid_editor() {
    use AdsButton as B;
    let (s, e) = run(
        at(Step::Schedule, full()),
        vec![btn(B::Preset(Preset::Custom)), btn(B::GridDay(0))],
    );
    assert_eq!(
        screen(&e).page,
        Page::Grid {
            grid: [super::grid::ALL_DAY; 7],
            day: Some(0)
        }
    );
    let (s, e) = run(
        s,
        vec![
            btn(B::GridClear),
            btn(B::GridHour(9)),
            btn(B::GridHour(10)),
            btn(B::GridHour(10)),
            btn(B::GridWeekdays),
        ],
    );
    let Page::Grid { grid, .. } = screen(&e).page else {
        panic!()
    };
    assert_eq!(grid[..5], [1 << 9; 5]);
    // Back in the day view returns to the week view; Done there sets the schedule.
    let (s, _) = run(s, vec![btn(B::Back(Step::Grid))]);
    let (s, e) = run(
        s,
        vec![btn(B::GridDay(6)), btn(B::GridAllDay), btn(B::GridDone)],
    );
    let all = (1 << 24) - 1;
    assert_eq!(
        screen(&e).page,
        Page::Grid {
            grid: [1 << 9, 1 << 9, 1 << 9, 1 << 9, 1 << 9, all, all],
            day: None
        }
    );
    let (s, _) = run(s, vec![btn(B::GridDone)]);
    let AdsState::Active(w) = &s else { panic!() };
    assert_eq!(w.step, Step::Timezone);
    assert_eq!(
        w.draft.schedule,
        Some(Schedule::Grid([
            1 << 9,
            1 << 9,
            1 << 9,
            1 << 9,
            1 << 9,
            all,
            all
        ]))
    );
    // Keyboards stay within Telegram's limits.
    for day in [None, Some(3)] {
        let r = render(
            &Screen {
                notice: None,
                page: Page::Grid { grid: [0; 7], day },
            },
            Lang::En,
        );
        assert!(r.rows.iter().map(Vec::len).sum::<usize>() <= 100);
        assert!(r.rows.iter().all(|row| row.len() <= 8));
    }
}

#[test]
fn budgets() {
    let pp = |regular, premium| PricePair { regular, premium };
    assert_eq!(budget(pp(5, 10), 100), Some(1000));
    assert_eq!(budget(pp(10, 5), 3), Some(30));
    assert_eq!(budget(pp(1, 1), i64::MAX), Some(i64::MAX));
    assert_eq!(budget(pp(2, 2), i64::MAX), None);
}

#[test]
fn rendering_escapes_and_always_offers_back() {
    let (_, e) = step(
        at(
            Step::Inspecting,
            Draft {
                action: None,
                ..full()
            },
        ),
        Input::Inspected(Ok(channel(None))),
        &env(),
    );
    for l in [Lang::Ru, Lang::En] {
        let r = render(screen(&e), l);
        assert_eq!(r.parse_mode, ParseMode::Html);
        assert!(
            r.text.contains("News &lt;b&gt;&amp;") && !r.text.contains("<b>&"),
            "{}",
            r.text
        );
    }
    // Every step's page renders in both languages with a Back of its own step.
    for s in Step::ALL {
        let (_, e) = step(
            at(
                s,
                Draft {
                    offer_id: Some(1),
                    ..full()
                },
            ),
            Input::Start,
            &env(),
        );
        for l in [Lang::Ru, Lang::En] {
            let r = render(screen(&e), l);
            assert!(!r.text.is_empty());
            let backs: Vec<_> = r
                .rows
                .iter()
                .flatten()
                .filter(|(_, b)| matches!(b, AdsButton::Back(_)))
                .collect();
            if s != Step::Submitting {
                assert_eq!(backs.len(), 1, "{s:?}");
                assert!(
                    matches!(backs[0].1, AdsButton::Back(b) if b == s) || s == Step::Inspecting,
                    "{s:?}"
                );
            }
        }
    }
}
