//! The wizard's inline buttons. Encoded after `a:` in [`crate::bot::buttons::Button`]
//! (which is the one decoder of callback data); they carry small values only.

use super::grid::Preset;
use super::state::{Section, Step, ZONES};
use crate::domain::offer::Action;

/// What a wizard button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdsButton {
    /// Back from the step the button was shown at.
    Back(Step),
    Cancel,
    /// First screen: a campaign without a link (stars_payment, poll_vote, start_bot, paid_media).
    NoLink(Action),
    /// Action screen: this action.
    Action(Action),
    /// Rights screen: inspect the target again.
    Recheck,
    /// Price screen: the admin minimums.
    MinPrice,
    /// Window caps screen: none.
    SkipWindows,
    Preset(Preset),
    /// Grid editor: open a day (0 = Monday).
    GridDay(u8),
    /// Grid editor: toggle an hour (0-23) of the open day.
    GridHour(u8),
    GridAllDay,
    GridClear,
    /// Copy the open day's hours to Monday-Friday.
    GridWeekdays,
    GridDone,
    /// An index into [`ZONES`].
    Zone(u8),
    DefaultHold,
    NoHold,
    AcceptSlug,
    Pay,
    Edit,
    EditSection(Section),
}

impl AdsButton {
    /// The data after `a:`; at most 24 bytes.
    pub fn encode_tail(self) -> String {
        use AdsButton::*;
        match self {
            Back(s) => format!("b{}", s.index()),
            Cancel => "x".into(),
            NoLink(a) => format!("n{}", a.as_str()),
            Action(a) => format!("t{}", a.as_str()),
            Recheck => "r".into(),
            MinPrice => "m".into(),
            SkipWindows => "w".into(),
            Preset(p) => format!("p{}", p.index()),
            GridDay(d) => format!("d{d}"),
            GridHour(h) => format!("h{h}"),
            GridAllDay => "ga".into(),
            GridClear => "gc".into(),
            GridWeekdays => "gw".into(),
            GridDone => "gk".into(),
            Zone(z) => format!("z{z}"),
            DefaultHold => "k".into(),
            NoHold => "k0".into(),
            AcceptSlug => "s".into(),
            Pay => "$".into(),
            Edit => "e".into(),
            EditSection(s) => format!(
                "E{}",
                Section::ALL.iter().position(|x| *x == s).unwrap_or(0)
            ),
        }
    }

    /// The inverse of [`encode_tail`](Self::encode_tail); only canonical forms decode.
    pub fn decode_tail(s: &str) -> Option<AdsButton> {
        use AdsButton::*;
        let first = s.chars().next()?;
        let (tag, arg) = s.split_at(first.len_utf8());
        let num = |max: u8| arg.parse::<u8>().ok().filter(|n| *n < max);
        let b = match (tag, arg) {
            ("b", _) => Back(Step::from_index(arg.parse().ok()?)?),
            ("x", "") => Cancel,
            ("n", a) => NoLink(a.parse().ok()?),
            ("t", a) => Action(a.parse().ok()?),
            ("r", "") => Recheck,
            ("m", "") => MinPrice,
            ("w", "") => SkipWindows,
            ("p", _) => Preset(super::grid::Preset::from_index(arg.parse().ok()?)?),
            ("d", _) => GridDay(num(7)?),
            ("h", _) => GridHour(num(24)?),
            ("g", "a") => GridAllDay,
            ("g", "c") => GridClear,
            ("g", "w") => GridWeekdays,
            ("g", "k") => GridDone,
            ("z", _) => Zone(num(ZONES.len() as u8)?),
            ("k", "") => DefaultHold,
            ("k", "0") => NoHold,
            ("s", "") => AcceptSlug,
            ("$", "") => Pay,
            ("e", "") => Edit,
            ("E", _) => EditSection(*Section::ALL.get(arg.parse::<usize>().ok()?)?),
            _ => return None,
        };
        // Only the canonical spelling: `d01` or `t JOIN_CHANNEL` are not ours.
        (b.encode_tail() == s).then_some(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bot::buttons::Button;
    use crate::domain::offer::ALL_ACTIONS;

    fn every_button() -> Vec<AdsButton> {
        use AdsButton::*;
        let mut v = vec![
            Cancel,
            Recheck,
            MinPrice,
            SkipWindows,
            GridAllDay,
            GridClear,
            GridWeekdays,
            GridDone,
            DefaultHold,
            NoHold,
            AcceptSlug,
            Pay,
            Edit,
        ];
        v.extend(Step::ALL.map(Back));
        v.extend(ALL_ACTIONS.map(NoLink));
        v.extend(ALL_ACTIONS.map(Action));
        v.extend(super::super::grid::Preset::ALL.map(Preset));
        v.extend((0..7).map(GridDay));
        v.extend((0..24).map(GridHour));
        v.extend((0..ZONES.len() as u8).map(Zone));
        v.extend(Section::ALL.map(EditSection));
        v
    }

    #[test]
    fn round_trip_through_the_one_decoder() {
        for b in every_button() {
            let data = Button::Ads(b).encode();
            assert!(data.len() <= 64, "{b:?}");
            assert_eq!(Button::decode(&data), Some(Button::Ads(b)), "{b:?}");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for bad in [
            "a:",
            "a:b",
            "a:b99",
            "a:d7",
            "a:d01",
            "a:h24",
            "a:h-1",
            "a:z8",
            "a:nforward",
            "a:tjoin",
            "a:p5",
            "a:E6",
            "a:x1",
            "a:$$",
            "a:g",
            "a:gz",
            "a:k1",
            "a:tJOIN_CHANNEL",
            "a:e ",
            "a:ё",
        ] {
            assert_eq!(Button::decode(bad.as_bytes()), None, "{bad}");
        }
    }
}
