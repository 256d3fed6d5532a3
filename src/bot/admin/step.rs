//! The admin dialogue as data: what an admin is asked to type next, and a pure
//! `step` from (state, input) to (state, effects). The glue (`mod.rs`) runs
//! the effects against the store and Telegram.

use serde::{Deserialize, Serialize};

use crate::domain::offer::{Action, PricePair, ALL_ACTIONS};

/// Bumped when `AdminState` changes shape; a row of another version restarts.
pub const VERSION: i64 = 1;

/// What the admin's next text message answers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "wants")]
pub enum AdminState {
    #[default]
    Idle,
    RejectReason {
        offer: i64,
    },
    Postback {
        offer: i64,
    },
    MinPrice {
        action: Action,
    },
    Hold {
        action: Action,
    },
}

/// Inline buttons of the admin dialogue. Encoded as `m:<tag>:<n>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminButton {
    Approve(i64),
    Reject(i64),
    /// The campaign's full card with its wiring buttons.
    Card(i64),
    Postback(i64),
    TestPostback(i64),
    Link(i64),
    Pause(i64),
    Resume(i64),
    Finish(i64),
    /// Edit the minimum price of an action (index in `ALL_ACTIONS`).
    MinPrice(Action),
    Hold(Action),
}

impl AdminButton {
    pub fn encode(self) -> String {
        use AdminButton::*;
        let idx = |a: Action| ALL_ACTIONS.iter().position(|x| *x == a).unwrap_or(0) as i64;
        let (tag, n) = match self {
            Approve(o) => ("ok", o),
            Reject(o) => ("no", o),
            Card(o) => ("cd", o),
            Postback(o) => ("pb", o),
            TestPostback(o) => ("tp", o),
            Link(o) => ("ln", o),
            Pause(o) => ("pa", o),
            Resume(o) => ("re", o),
            Finish(o) => ("fi", o),
            MinPrice(a) => ("mp", idx(a)),
            Hold(a) => ("hd", idx(a)),
        };
        format!("m:{tag}:{n}")
    }

    /// Decodes what `encode` wrote after the `m:` prefix; `None` for anything else.
    pub fn decode(rest: &str) -> Option<AdminButton> {
        use AdminButton::*;
        let (tag, n) = rest.split_once(':')?;
        let n: i64 = n.parse().ok()?;
        let action = || {
            usize::try_from(n)
                .ok()
                .and_then(|i| ALL_ACTIONS.get(i).copied())
        };
        let offer = (n > 0).then_some(n);
        Some(match tag {
            "ok" => Approve(offer?),
            "no" => Reject(offer?),
            "cd" => Card(offer?),
            "pb" => Postback(offer?),
            "tp" => TestPostback(offer?),
            "ln" => Link(offer?),
            "pa" => Pause(offer?),
            "re" => Resume(offer?),
            "fi" => Finish(offer?),
            "mp" => MinPrice(action()?),
            "hd" => Hold(action()?),
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Text(String),
    Button(AdminButton),
}

/// What the glue must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Card(i64),
    Approve(i64),
    Reject {
        offer: i64,
        reason: String,
    },
    SetPostback {
        offer: i64,
        line: String,
    },
    TestPostback(i64),
    Link(i64),
    Pause(i64),
    Resume(i64),
    Finish(i64),
    SetMinPrice {
        action: Action,
        price: PricePair,
    },
    SetHold {
        action: Action,
        seconds: i64,
    },
    Ask(Ask),
    /// Bad input: re-ask with the reason.
    Invalid(Ask, Problem),
}

/// Which question to (re-)ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ask {
    RejectReason(i64),
    Postback(i64),
    MinPrice(Action),
    Hold(Action),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    ReasonLength,
    NotPrices,
    PremiumBelowRegular,
    NotDuration,
    HoldTooLong,
}

/// Longest hold window an admin may set as a default (as `validate_draft` allows).
pub const MAX_HOLD: i64 = 90 * 86400;

/// One step of the admin dialogue. Text is consumed only when a question is
/// pending (`Ok(None)`-like: returns no effects and `Idle` otherwise, so the
/// router can hand the text to another dialogue).
pub fn step(state: AdminState, input: Input) -> (AdminState, Vec<Effect>) {
    use AdminButton as B;
    match input {
        Input::Button(b) => {
            let (next, effect) = match b {
                B::Approve(o) => (AdminState::Idle, Effect::Approve(o)),
                B::Reject(o) => (
                    AdminState::RejectReason { offer: o },
                    Effect::Ask(Ask::RejectReason(o)),
                ),
                B::Card(o) => (AdminState::Idle, Effect::Card(o)),
                B::Postback(o) => (
                    AdminState::Postback { offer: o },
                    Effect::Ask(Ask::Postback(o)),
                ),
                B::TestPostback(o) => (AdminState::Idle, Effect::TestPostback(o)),
                B::Link(o) => (AdminState::Idle, Effect::Link(o)),
                B::Pause(o) => (AdminState::Idle, Effect::Pause(o)),
                B::Resume(o) => (AdminState::Idle, Effect::Resume(o)),
                B::Finish(o) => (AdminState::Idle, Effect::Finish(o)),
                B::MinPrice(a) => (
                    AdminState::MinPrice { action: a },
                    Effect::Ask(Ask::MinPrice(a)),
                ),
                B::Hold(a) => (AdminState::Hold { action: a }, Effect::Ask(Ask::Hold(a))),
            };
            (next, vec![effect])
        }
        Input::Text(t) => {
            let t = t.trim().to_string();
            match state {
                AdminState::Idle => (AdminState::Idle, vec![]),
                AdminState::RejectReason { offer } => {
                    let n = t.chars().count();
                    if !(3..=500).contains(&n) {
                        return (
                            state,
                            vec![Effect::Invalid(
                                Ask::RejectReason(offer),
                                Problem::ReasonLength,
                            )],
                        );
                    }
                    (AdminState::Idle, vec![Effect::Reject { offer, reason: t }])
                }
                // The line is checked by the postback module's parser (the CLI's rules).
                AdminState::Postback { offer } => (
                    AdminState::Idle,
                    vec![Effect::SetPostback { offer, line: t }],
                ),
                AdminState::MinPrice { action } => match parse_prices(&t) {
                    Ok(price) => (
                        AdminState::Idle,
                        vec![Effect::SetMinPrice { action, price }],
                    ),
                    Err(p) => (state, vec![Effect::Invalid(Ask::MinPrice(action), p)]),
                },
                AdminState::Hold { action } => match parse_hold(&t) {
                    Ok(seconds) => (AdminState::Idle, vec![Effect::SetHold { action, seconds }]),
                    Err(p) => (state, vec![Effect::Invalid(Ask::Hold(action), p)]),
                },
            }
        }
    }
}

/// `5 10`: regular then Premium, whole Stars.
fn parse_prices(t: &str) -> Result<PricePair, Problem> {
    let nums: Vec<i64> = t
        .split(|c: char| c.is_whitespace() || c == '/' || c == ',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<i64>().map_err(|_| Problem::NotPrices))
        .collect::<Result<_, _>>()?;
    let [regular, premium] = nums[..] else {
        return Err(Problem::NotPrices);
    };
    if regular < 0 || premium < 0 || regular > 100_000 || premium > 100_000 {
        return Err(Problem::NotPrices);
    }
    if premium < regular {
        return Err(Problem::PremiumBelowRegular);
    }
    Ok(PricePair { regular, premium })
}

/// `72h`, `3d`, `30m`, `0`, or a plain number of hours.
fn parse_hold(t: &str) -> Result<i64, Problem> {
    let t = t.trim().to_ascii_lowercase();
    let secs = if let Ok(h) = t.parse::<i64>() {
        h.checked_mul(3600).ok_or(Problem::NotDuration)?
    } else {
        humantime::parse_duration(&t)
            .map_err(|_| Problem::NotDuration)?
            .as_secs() as i64
    };
    if secs < 0 {
        return Err(Problem::NotDuration);
    }
    if secs > MAX_HOLD {
        return Err(Problem::HoldTooLong);
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use AdminButton as B;

    #[test]
    fn buttons_round_trip_and_refuse_garbage() {
        let mut all = vec![];
        for o in [1, i64::MAX] {
            all.extend([
                B::Approve(o),
                B::Reject(o),
                B::Card(o),
                B::Postback(o),
                B::TestPostback(o),
                B::Link(o),
                B::Pause(o),
                B::Resume(o),
                B::Finish(o),
            ]);
        }
        all.extend(
            ALL_ACTIONS
                .iter()
                .flat_map(|a| [B::MinPrice(*a), B::Hold(*a)]),
        );
        for b in all {
            let e = b.encode();
            assert!(e.len() <= 64);
            assert_eq!(B::decode(e.strip_prefix("m:").unwrap()), Some(b), "{e}");
        }
        for bad in ["ok:0", "ok:-3", "ok:x", "mp:99", "mp:-1", "zz:1", "ok", ""] {
            assert_eq!(B::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn transitions() {
        use AdminState as S;
        let a = Action::JoinChannel;
        let table: Vec<(S, Input, S, Vec<Effect>)> = vec![
            (
                S::Idle,
                Input::Button(B::Approve(4)),
                S::Idle,
                vec![Effect::Approve(4)],
            ),
            (
                S::Idle,
                Input::Button(B::Reject(4)),
                S::RejectReason { offer: 4 },
                vec![Effect::Ask(Ask::RejectReason(4))],
            ),
            (
                S::RejectReason { offer: 4 },
                Input::Text(" spam channel ".into()),
                S::Idle,
                vec![Effect::Reject {
                    offer: 4,
                    reason: "spam channel".into(),
                }],
            ),
            (
                S::RejectReason { offer: 4 },
                Input::Text("x".into()),
                S::RejectReason { offer: 4 },
                vec![Effect::Invalid(Ask::RejectReason(4), Problem::ReasonLength)],
            ),
            // A button while a question is pending leaves the question for the button's own.
            (
                S::RejectReason { offer: 4 },
                Input::Button(B::Card(5)),
                S::Idle,
                vec![Effect::Card(5)],
            ),
            (S::Idle, Input::Text("hello".into()), S::Idle, vec![]),
            (
                S::Idle,
                Input::Button(B::Postback(2)),
                S::Postback { offer: 2 },
                vec![Effect::Ask(Ask::Postback(2))],
            ),
            (
                S::Postback { offer: 2 },
                Input::Text("https://t.example/p?c={click_id}".into()),
                S::Idle,
                vec![Effect::SetPostback {
                    offer: 2,
                    line: "https://t.example/p?c={click_id}".into(),
                }],
            ),
            (
                S::Idle,
                Input::Button(B::TestPostback(2)),
                S::Idle,
                vec![Effect::TestPostback(2)],
            ),
            (
                S::Idle,
                Input::Button(B::Link(2)),
                S::Idle,
                vec![Effect::Link(2)],
            ),
            (
                S::Idle,
                Input::Button(B::Pause(2)),
                S::Idle,
                vec![Effect::Pause(2)],
            ),
            (
                S::Idle,
                Input::Button(B::Resume(2)),
                S::Idle,
                vec![Effect::Resume(2)],
            ),
            (
                S::Idle,
                Input::Button(B::Finish(2)),
                S::Idle,
                vec![Effect::Finish(2)],
            ),
            (
                S::Idle,
                Input::Button(B::MinPrice(a)),
                S::MinPrice { action: a },
                vec![Effect::Ask(Ask::MinPrice(a))],
            ),
            (
                S::MinPrice { action: a },
                Input::Text("6 12".into()),
                S::Idle,
                vec![Effect::SetMinPrice {
                    action: a,
                    price: PricePair {
                        regular: 6,
                        premium: 12,
                    },
                }],
            ),
            (
                S::MinPrice { action: a },
                Input::Text("6/12".into()),
                S::Idle,
                vec![Effect::SetMinPrice {
                    action: a,
                    price: PricePair {
                        regular: 6,
                        premium: 12,
                    },
                }],
            ),
            (
                S::MinPrice { action: a },
                Input::Text("6".into()),
                S::MinPrice { action: a },
                vec![Effect::Invalid(Ask::MinPrice(a), Problem::NotPrices)],
            ),
            (
                S::MinPrice { action: a },
                Input::Text("12 6".into()),
                S::MinPrice { action: a },
                vec![Effect::Invalid(
                    Ask::MinPrice(a),
                    Problem::PremiumBelowRegular,
                )],
            ),
            (
                S::MinPrice { action: a },
                Input::Text("-1 5".into()),
                S::MinPrice { action: a },
                vec![Effect::Invalid(Ask::MinPrice(a), Problem::NotPrices)],
            ),
            (
                S::Idle,
                Input::Button(B::Hold(a)),
                S::Hold { action: a },
                vec![Effect::Ask(Ask::Hold(a))],
            ),
            (
                S::Hold { action: a },
                Input::Text("3d".into()),
                S::Idle,
                vec![Effect::SetHold {
                    action: a,
                    seconds: 3 * 86400,
                }],
            ),
            (
                S::Hold { action: a },
                Input::Text("48".into()),
                S::Idle,
                vec![Effect::SetHold {
                    action: a,
                    seconds: 48 * 3600,
                }],
            ),
            (
                S::Hold { action: a },
                Input::Text("0".into()),
                S::Idle,
                vec![Effect::SetHold {
                    action: a,
                    seconds: 0,
                }],
            ),
            (
                S::Hold { action: a },
                Input::Text("soon".into()),
                S::Hold { action: a },
                vec![Effect::Invalid(Ask::Hold(a), Problem::NotDuration)],
            ),
            (
                S::Hold { action: a },
                Input::Text("100d".into()),
                S::Hold { action: a },
                vec![Effect::Invalid(Ask::Hold(a), Problem::HoldTooLong)],
            ),
        ];
        for (from, input, want_state, want) in table {
            let (s, e) = step(from.clone(), input.clone());
            assert_eq!((s, e), (want_state, want), "{from:?} + {input:?}");
        }
    }

    #[test]
    fn state_round_trips_as_json() {
        for s in [
            AdminState::Idle,
            AdminState::RejectReason { offer: 3 },
            AdminState::Hold {
                action: Action::Comment,
            },
        ] {
            let j = serde_json::to_string(&s).unwrap();
            assert_eq!(serde_json::from_str::<AdminState>(&j).unwrap(), s);
        }
    }
}
