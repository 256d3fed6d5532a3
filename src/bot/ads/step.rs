//! The step function: (state, input) -> (state, effects). Pure.

use super::button::AdsButton as B;
use super::grid;
use super::parse;
use super::screens::{Notice, Page, Problem, Screen};
use super::state::{AdsState, Draft, Step, Wizard, ZONES};
use super::view::{first_missing, offer_draft, page, review, target};
use super::{Effect, Env, Input, InspectError, Submission, SubmitError};
use crate::domain::offer::{validate_draft, Action, ChatKind, PricePair};
use crate::domain::schedule::{valid_timezone, Schedule};
use crate::domain::tme::{missing_rights, required_rights, TmeLink};

type Out = (AdsState, Vec<Effect>);

/// Campaigns without a link, offered on the first screen.
pub const NO_LINK: [Action; 4] = [
    Action::StarsPayment,
    Action::PollVote,
    Action::StartBot,
    Action::PaidMedia,
];

/// Stars reserved for a campaign: every conversion may come from a Premium
/// user, so total cap x the higher price. None on overflow.
pub fn budget(price: PricePair, total: i64) -> Option<i64> {
    total.checked_mul(price.regular.max(price.premium))
}

/// After a saved row failed to decode: apologise and start again.
pub fn restart_after_bad_row() -> Out {
    let w = Wizard {
        step: Step::Target,
        draft: Draft::default(),
        editing: false,
    };
    let screen = Screen {
        notice: Some(Notice::Apology),
        page: Page::Target,
    };
    (AdsState::Active(Box::new(w)), vec![Effect::Show(screen)])
}

/// Advances the wizard by one input. Never panics; an input that does not
/// belong to the step re-shows it with a notice.
pub fn step(state: AdsState, input: Input, env: &Env) -> Out {
    let w = match state {
        AdsState::Idle => return idle(input, env),
        AdsState::Active(w) => *w,
    };
    match input {
        Input::Start => show(w, Some(Notice::InProgress), env),
        Input::Cancel | Input::Button(B::Cancel) => cancel(w),
        Input::Inspected(r) if w.step == Step::Inspecting => inspected(w, r, env),
        Input::Submitted(r) if w.step == Step::Submitting => submitted(w, r, env),
        // An answer to a request the advertiser walked away from (Back meanwhile).
        Input::Inspected(_) | Input::Submitted(_) => (AdsState::Active(Box::new(w)), vec![]),
        Input::Button(B::Back(at)) if at == w.step => back(w, env),
        Input::Button(b) => button(w, b, env),
        Input::Text(t) => text(w, &t, env),
    }
}

fn idle(input: Input, env: &Env) -> Out {
    match input {
        Input::Start => {
            let w = Wizard {
                step: Step::Target,
                draft: Draft::default(),
                editing: false,
            };
            show(w, None, env)
        }
        Input::Button(_) => (AdsState::Idle, vec![screen(None, Page::Ended)]),
        _ => (AdsState::Idle, vec![]),
    }
}

fn screen(notice: Option<Notice>, page: Page) -> Effect {
    Effect::Show(Screen { notice, page })
}

/// Re-shows the current step, with a notice.
fn show(w: Wizard, notice: Option<Notice>, env: &Env) -> Out {
    let page = page(&w, env);
    (AdsState::Active(Box::new(w)), vec![screen(notice, page)])
}

fn problem(w: Wizard, p: Problem, env: &Env) -> Out {
    show(w, Some(Notice::Problem(p)), env)
}

/// Moves to `step` and shows it.
fn go(mut w: Wizard, step: Step, env: &Env) -> Out {
    w.step = step;
    show(w, None, env)
}

/// Moves on after a step was answered: to `next`, or back to the review when
/// an edit from the review finished its section.
fn advance(mut w: Wizard, next: Step, env: &Env) -> Out {
    let section_end = matches!(
        w.step,
        Step::Price | Step::WindowCaps | Step::Timezone | Step::Hold | Step::Slug
    );
    let next = if w.editing && section_end {
        w.editing = false;
        Step::Review
    } else {
        next
    };
    if next == Step::Review {
        if let Some(missing) = first_missing(&w.draft) {
            return go(w, missing, env);
        }
        return review_step(w, None, env);
    }
    go(w, next, env)
}

fn review_step(mut w: Wizard, notice: Option<Notice>, env: &Env) -> Out {
    w.step = Step::Review;
    let notice = notice.or_else(|| {
        let r = review(&w.draft, env)?;
        (r.budget > env.max_invoice_stars).then_some(Notice::Problem(Problem::BudgetTooBig {
            budget: r.budget,
            max: env.max_invoice_stars,
        }))
    });
    show(w, notice, env)
}

fn cancel(w: Wizard) -> Out {
    let mut effects = vec![screen(None, Page::Cancelled)];
    effects.extend(w.draft.offer_id.map(Effect::Discard));
    effects.push(Effect::Clear);
    (AdsState::Idle, effects)
}

fn back(mut w: Wizard, env: &Env) -> Out {
    if w.editing && !matches!(w.step, Step::Grid) {
        w.editing = false;
        return review_step(w, None, env);
    }
    let prev = match w.step {
        Step::Target => return cancel(w),
        Step::Inspecting | Step::Action | Step::StarsAmount | Step::Poll | Step::MediaUrl => {
            Step::Target
        }
        Step::Rights => Step::Action,
        Step::MediaAmount => Step::MediaUrl,
        Step::Price => match w.draft.action {
            Some(Action::StarsPayment) => Step::StarsAmount,
            Some(Action::PollVote) => Step::Poll,
            Some(Action::PaidMedia) => Step::MediaAmount,
            _ if w.draft.facts.is_some() => Step::Action,
            _ => Step::Target,
        },
        Step::CapTotal => Step::Price,
        Step::WindowCaps => Step::CapTotal,
        Step::Schedule => Step::WindowCaps,
        Step::Grid if w.draft.grid_day.is_some() => {
            w.draft.grid_day = None;
            Step::Grid
        }
        Step::Grid | Step::Timezone => Step::Schedule,
        Step::Hold => Step::Timezone,
        Step::Name => Step::Hold,
        Step::Slug => Step::Name,
        Step::Review => Step::Slug,
        Step::EditMenu | Step::AwaitingPayment => return review_step(w, None, env),
        Step::Submitting => return show(w, Some(Notice::StillWaiting), env),
    };
    go(w, prev, env)
}

fn button(mut w: Wizard, b: B, env: &Env) -> Out {
    let d = &mut w.draft;
    match (w.step, b) {
        (Step::Target, B::NoLink(a)) if NO_LINK.contains(&a) => {
            d.link = None;
            d.facts = None;
            d.action = Some(a);
            let next = match a {
                Action::StarsPayment => Step::StarsAmount,
                Action::PollVote => Step::Poll,
                Action::PaidMedia => Step::MediaUrl,
                _ => Step::Price,
            };
            go(w, next, env)
        }
        (Step::Action, B::Action(a)) => {
            let offered = match (&d.facts, &d.link) {
                (Some(f), Some(l)) => f.verifiable_actions(l).contains(&a),
                _ => false,
            };
            if !offered {
                return show(w, Some(Notice::Stale), env);
            }
            d.action = Some(a);
            rights_or_price(w, env)
        }
        (Step::Rights, B::Recheck) => inspect(w, env),
        (Step::Price, B::MinPrice) => {
            let a = d.action.unwrap_or(Action::StartBot);
            d.price = Some((env.minimum)(a));
            advance(w, Step::CapTotal, env)
        }
        (Step::WindowCaps, B::SkipWindows) => {
            (d.caps.hour, d.caps.day, d.caps.week) = (None, None, None);
            advance(w, Step::Schedule, env)
        }
        (Step::Schedule, B::Preset(p)) => match p.schedule() {
            Some(s) => {
                d.schedule = Some(s);
                advance(w, Step::Timezone, env)
            }
            None => {
                d.grid = d.schedule.as_ref().map(grid::grid_of).unwrap_or([0; 7]);
                d.grid_day = None;
                go(w, Step::Grid, env)
            }
        },
        (Step::Grid, B::GridDay(day)) if d.grid_day.is_none() => {
            d.grid_day = Some(day);
            show(w, None, env)
        }
        (Step::Grid, B::GridDone) if d.grid_day.is_none() => {
            if grid::is_empty(&d.grid) {
                return problem(w, Problem::EmptyGrid, env);
            }
            d.schedule = Some(Schedule::Grid(d.grid));
            advance(w, Step::Timezone, env)
        }
        (Step::Grid, day_button) if d.grid_day.is_some() => {
            let day = d.grid_day.unwrap_or(0);
            match day_button {
                B::GridHour(h) => grid::toggle_hour(&mut d.grid, day, h),
                B::GridAllDay => grid::set_day(&mut d.grid, day, grid::ALL_DAY),
                B::GridClear => grid::set_day(&mut d.grid, day, 0),
                B::GridWeekdays => grid::copy_to_weekdays(&mut d.grid, day),
                B::GridDone => d.grid_day = None,
                _ => return show(w, Some(Notice::Stale), env),
            }
            show(w, None, env)
        }
        (Step::Timezone, B::Zone(i)) => match ZONES.get(i as usize) {
            Some(z) => {
                d.timezone = Some(z.to_string());
                advance(w, Step::Hold, env)
            }
            None => show(w, Some(Notice::Stale), env),
        },
        (Step::Hold, B::DefaultHold | B::NoHold) => {
            let a = d.action.unwrap_or(Action::StartBot);
            let hold = if b == B::NoHold {
                0
            } else {
                (env.default_hold)(a)
            };
            d.hold_seconds = Some(hold.clamp(0, crate::domain::offer::HOLD_MAX_SECONDS));
            advance(w, Step::Name, env)
        }
        (Step::Slug, B::AcceptSlug) => {
            let Some(s) = d.slug_suggestion.clone() else {
                return show(w, Some(Notice::Stale), env);
            };
            set_slug(w, s, env)
        }
        (Step::Review, B::Pay) => pay(w, env),
        (Step::Review, B::Edit) => go(w, Step::EditMenu, env),
        (Step::AwaitingPayment, B::Edit) => review_step(w, None, env),
        (Step::EditMenu, B::EditSection(s)) => {
            // A new target changes everything after it: walk the whole way again.
            w.editing = s != super::state::Section::Target;
            go(w, s.first_step(), env)
        }
        _ => show(w, Some(Notice::Stale), env),
    }
}

fn inspect(mut w: Wizard, env: &Env) -> Out {
    let Some(link) = w.draft.link.clone() else {
        return go(w, Step::Target, env);
    };
    w.step = Step::Inspecting;
    let (state, mut effects) = show(w, None, env);
    effects.push(Effect::Inspect(link));
    (state, effects)
}

/// After the action is known on a link target: the rights screen if the bot
/// lacks some, else on to the price.
fn rights_or_price(w: Wizard, env: &Env) -> Out {
    let (Some(f), Some(t), Some(a)) = (&w.draft.facts, target(&w.draft, env), w.draft.action)
    else {
        return go(w, Step::Target, env);
    };
    if missing_rights(&required_rights(a, &t), f).is_empty() {
        advance(w, Step::Price, env)
    } else {
        go(w, Step::Rights, env)
    }
}

fn inspected(
    mut w: Wizard,
    r: Result<crate::domain::tme::TargetFacts, InspectError>,
    env: &Env,
) -> Out {
    let recheck = w.draft.action.is_some();
    let facts = match r {
        Ok(f) => f,
        Err(InspectError::Unreachable) if recheck => {
            w.step = Step::Rights;
            return problem(w, Problem::Inspect(InspectError::Unreachable), env);
        }
        Err(e) => {
            w.step = Step::Target;
            return problem(w, Problem::Inspect(e), env);
        }
    };
    let post_named = w.draft.link.as_ref().and_then(TmeLink::post).is_some();
    if post_named && !(facts.post_exists && facts.msg_id.is_some()) {
        w.step = Step::Target;
        return problem(w, Problem::Inspect(InspectError::PostMissing), env);
    }
    let ours = facts.kind == ChatKind::BotChat;
    w.draft.facts = Some(facts);
    if ours {
        w.draft.action = Some(Action::StartBot);
        return advance(w, Step::Price, env);
    }
    if recheck {
        let still = page(
            &Wizard {
                step: Step::Rights,
                ..w.clone()
            },
            env,
        );
        return match still {
            Page::Rights { missing, .. } if !missing.is_empty() => {
                w.step = Step::Rights;
                problem(w, Problem::StillMissing, env)
            }
            Page::Rights { .. } => advance(w, Step::Price, env),
            _ => {
                w.draft.action = None;
                go(w, Step::Action, env)
            }
        };
    }
    go(w, Step::Action, env)
}

fn submitted(mut w: Wizard, r: Result<i64, SubmitError>, env: &Env) -> Out {
    match r {
        Ok(id) => {
            w.draft.offer_id = Some(id);
            go(w, Step::AwaitingPayment, env)
        }
        Err(SubmitError::SlugTaken) => {
            let base = w.draft.slug.take().unwrap_or_default();
            let suggestion = parse::free_slug(&base, env.slug_taken);
            w.draft.slug_suggestion = Some(suggestion.clone());
            w.step = Step::Slug;
            problem(w, Problem::SlugTaken { suggestion }, env)
        }
        Err(SubmitError::MinimumRaised) => {
            w.step = Step::Price;
            problem(w, Problem::Submit(SubmitError::MinimumRaised), env)
        }
        Err(SubmitError::Invalid) => review_step(
            w,
            Some(Notice::Problem(Problem::Submit(SubmitError::Invalid))),
            env,
        ),
    }
}

fn pay(mut w: Wizard, env: &Env) -> Out {
    let Some((draft, budget)) = offer_draft(&w.draft, env) else {
        return advance(w, Step::Review, env);
    };
    if budget > env.max_invoice_stars {
        let p = Problem::BudgetTooBig {
            budget,
            max: env.max_invoice_stars,
        };
        return review_step(w, Some(Notice::Problem(p)), env);
    }
    let min = (env.minimum)(draft.action);
    let valid = match validate_draft(draft, min) {
        Ok(v) => v,
        Err(e) => return review_step(w, Some(Notice::Problem(Problem::Draft(e))), env),
    };
    let Some(slug) = w.draft.slug.clone() else {
        return go(w, Step::Slug, env);
    };
    let sub = Submission {
        existing: w.draft.offer_id,
        slug,
        hold_seconds: valid.hold_seconds,
        draft: valid.draft,
        budget,
    };
    w.step = Step::Submitting;
    let (state, mut effects) = show(w, None, env);
    effects.push(Effect::Submit(Box::new(sub)));
    (state, effects)
}

fn set_slug(mut w: Wizard, s: String, env: &Env) -> Out {
    if (env.slug_taken)(&s) {
        let suggestion = parse::free_slug(&s, env.slug_taken);
        w.draft.slug_suggestion = Some(suggestion.clone());
        return problem(w, Problem::SlugTaken { suggestion }, env);
    }
    w.draft.slug = Some(s);
    advance(w, Step::Review, env)
}

fn text(mut w: Wizard, t: &str, env: &Env) -> Out {
    let d = &mut w.draft;
    let action = d.action.unwrap_or(Action::StartBot);
    let result: Result<Step, Problem> = match w.step {
        Step::Target => match TmeLink::parse(t) {
            Ok(TmeLink::Username { username }) if username.eq_ignore_ascii_case(env.our_bot) => {
                d.link = Some(TmeLink::Username { username });
                d.facts = None;
                d.action = Some(Action::StartBot);
                Ok(Step::Price)
            }
            Ok(link) => {
                d.link = Some(link);
                d.facts = None;
                d.action = None;
                return inspect(w, env);
            }
            Err(e) => Err(parse::wish(t).map_or(Problem::Link(e), Problem::Wish)),
        },
        Step::Action => match parse::wish(t) {
            Some(k) => Err(Problem::Wish(k)),
            None => return show(w, Some(Notice::Fallback), env),
        },
        Step::StarsAmount | Step::MediaAmount => parse::stars(t).map(|n| {
            d.stars = Some(n);
            Step::Price
        }),
        Step::Poll => parse::poll(t).map(|p| {
            d.poll = Some(p);
            Step::Price
        }),
        Step::MediaUrl => parse::media_url(t).map(|u| {
            d.media_url = Some(u);
            Step::MediaAmount
        }),
        Step::Price => parse::price(t, (env.minimum)(action)).map(|p| {
            d.price = Some(p);
            Step::CapTotal
        }),
        Step::CapTotal => parse::positive(t).map(|n| {
            d.caps.total = Some(n);
            Step::WindowCaps
        }),
        Step::WindowCaps => {
            let skip = ["-", "no", "none", "skip", "нет", "без", "пропустить"];
            let lower = t.trim().to_lowercase();
            let parsed = if skip.contains(&lower.as_str()) {
                Ok([None; 3])
            } else {
                parse::windows(t, d.caps.total.unwrap_or(i64::MAX))
            };
            parsed.map(|[h, day, week]| {
                (d.caps.hour, d.caps.day, d.caps.week) = (h, day, week);
                Step::Schedule
            })
        }
        Step::Schedule => schedule_text(t).map(|s| {
            d.schedule = Some(s);
            Step::Timezone
        }),
        Step::Timezone => {
            let z = t.trim();
            if valid_timezone(z) {
                d.timezone = Some(z.to_string());
                Ok(Step::Hold)
            } else {
                Err(Problem::Timezone)
            }
        }
        Step::Hold => parse::hold(t).map(|h| {
            d.hold_seconds = Some(h);
            Step::Name
        }),
        Step::Name => parse::name(t).map(|n| {
            let base = parse::slug_suggestion(&n);
            d.slug_suggestion = Some(parse::free_slug(&base, env.slug_taken));
            d.name = Some(n);
            Step::Slug
        }),
        Step::Slug => match parse::slug(t) {
            Ok(s) => return set_slug(w, s, env),
            Err(p) => Err(p),
        },
        Step::Inspecting | Step::Submitting => return show(w, Some(Notice::StillWaiting), env),
        Step::Rights | Step::Grid | Step::Review | Step::EditMenu | Step::AwaitingPayment => {
            return show(w, Some(Notice::Fallback), env)
        }
    };
    match result {
        Ok(next) => advance(w, next, env),
        Err(p) => problem(w, p, env),
    }
}

/// The CLI's schedule grammar, plus the presets' Russian names.
fn schedule_text(t: &str) -> Result<Schedule, Problem> {
    let lower = t.trim().to_lowercase();
    match lower.as_str() {
        "круглосуточно" | "всегда" => Ok(Schedule::Always),
        "будни" => Ok(Schedule::Weekdays),
        "выходные" => Ok(Schedule::Weekends),
        _ => match Schedule::parse(&lower) {
            Ok(Schedule::Grid(g)) if grid::is_empty(&g) => Err(Problem::EmptyGrid),
            Ok(s) => Ok(s),
            Err(e) => Err(Problem::Schedule(e)),
        },
    }
}
