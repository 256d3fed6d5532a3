//! Typed callback data. Telegram limits callback data to 64 bytes; ours is
//! `<tag>:<number>` (the /ads wizard's: `a:<short tag>`, see `ads::AdsButton`)
//! and decoded in one place, so a stale or forged button is an error answered
//! politely, never a panic.

use super::ads::AdsButton;

use super::admin::AdminButton;
use super::advertiser::CampaignButton;
use super::statistic::StatsButton;

/// What an inline button asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Button {
    /// "Check": verify the action of the user's lead for this offer.
    Check { offer: i64 },
    /// A button of the advertiser's /ads wizard.
    Ads(AdsButton),
    /// The admin dialogue (moderation, wiring, settings); honoured only for admins.
    Admin(AdminButton),
    /// An advertiser's campaign list (details, pause, resume).
    Campaign(CampaignButton),
    /// The /statistic room (list pages, figures, chart, CSV files).
    Stats(StatsButton),
}

impl Button {
    pub fn encode(self) -> Vec<u8> {
        match self {
            Button::Check { offer } => format!("chk:{offer}"),
            Button::Ads(b) => format!("a:{}", b.encode_tail()),
            Button::Admin(b) => b.encode(),
            Button::Campaign(b) => b.encode(),
            Button::Stats(b) => b.encode(),
        }
        .into_bytes()
    }

    pub fn decode(data: &[u8]) -> Option<Button> {
        if data.len() > 64 {
            return None;
        }
        let s = std::str::from_utf8(data).ok()?;
        if let Some(tail) = s.strip_prefix("a:") {
            return AdsButton::decode_tail(tail).map(Button::Ads);
        }
        let (tag, rest) = s.split_once(':')?;
        match tag {
            "chk" => Some(Button::Check {
                offer: rest.parse().ok().filter(|n| *n > 0)?,
            }),
            "m" => AdminButton::decode(rest).map(Button::Admin),
            "c" => CampaignButton::decode(rest).map(Button::Campaign),
            "s" => StatsButton::decode(rest).map(Button::Stats),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        for b in [
            Button::Check { offer: 1 },
            Button::Check { offer: i64::MAX },
            Button::Admin(AdminButton::Approve(i64::MAX)),
            Button::Campaign(CampaignButton::Pause(i64::MAX)),
            Button::Campaign(CampaignButton::Details(3)),
            Button::Stats(StatsButton::List {
                page: u32::MAX,
                advertiser: i64::MAX,
            }),
            Button::Stats(StatsButton::ConversionsCsv(i64::MAX)),
        ] {
            assert!(b.encode().len() <= 64);
            assert_eq!(Button::decode(&b.encode()), Some(b));
        }
        for bad in [
            &b"chk:"[..],
            b"chk:-1",
            b"chk:x",
            b"task:1",
            b"c:p:0",
            b"c:x:1",
            b"m:ok:-1",
            b"s:d:0",
            b"s:l:1:-2",
            b"\xff\xfe",
            b"",
            &[b'1'; 65],
        ] {
            assert_eq!(Button::decode(bad), None, "{bad:?}");
        }
    }
}
