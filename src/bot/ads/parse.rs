//! What advertisers type, read into typed values or a typed [`Problem`].

use serde::{Deserialize, Serialize};

use super::screens::Problem;
use crate::domain::offer::{PollSpec, PricePair, UnverifiableKind, HOLD_MAX_SECONDS, STARS_MAX};

/// A cap window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Window {
    Hour,
    Day,
    Week,
}

/// Telegram's limits on a poll (question 255 characters, option 100).
const POLL_QUESTION_MAX: usize = 255;
const POLL_OPTION_MAX: usize = 100;
pub const SLUG_MIN: usize = 3;
pub const SLUG_MAX: usize = 40;

fn number(s: &str) -> Option<i64> {
    let digits: String = s
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '\u{a0}'))
        .collect();
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A positive whole number (caps).
pub fn positive(s: &str) -> Result<i64, Problem> {
    let t = s.trim();
    if t.starts_with('-') || t == "0" {
        return Err(Problem::NotPositive);
    }
    number(t).filter(|n| *n > 0).ok_or(Problem::NotANumber)
}

/// An invoice amount, 1 to 100000 Stars.
pub fn stars(s: &str) -> Result<i64, Problem> {
    match number(s.trim()) {
        Some(n) if (1..=STARS_MAX).contains(&n) => Ok(n),
        Some(_) => Err(Problem::StarsRange),
        None => Err(Problem::NotANumber),
    }
}

/// A question on the first line and 2 to 10 options, one per line.
pub fn poll(s: &str) -> Result<PollSpec, Problem> {
    let mut lines = s.lines().map(str::trim).filter(|l| !l.is_empty());
    let question = lines.next().unwrap_or_default().to_string();
    let options: Vec<String> = lines.map(str::to_string).collect();
    if question.is_empty() || !(2..=10).contains(&options.len()) {
        return Err(Problem::PollShape);
    }
    if question.chars().count() > POLL_QUESTION_MAX
        || options.iter().any(|o| o.chars().count() > POLL_OPTION_MAX)
    {
        return Err(Problem::PollTooLong);
    }
    Ok(PollSpec { question, options })
}

/// The https URL of the image sold as paid media.
pub fn media_url(s: &str) -> Result<String, Problem> {
    let t = s.trim();
    let ok = t.len() <= 2000
        && t.len() > "https://".len()
        && t.get(..8)
            .is_some_and(|p| p.eq_ignore_ascii_case("https://"))
        && !t.chars().any(char::is_whitespace);
    ok.then(|| t.to_string()).ok_or(Problem::MediaUrl)
}

/// `N` (both tiers) or `N M` (regular, Premium), each at least the minimum.
pub fn price(s: &str, min: PricePair) -> Result<PricePair, Problem> {
    let parts: Vec<&str> = s
        .split(|c: char| c.is_whitespace() || matches!(c, '/' | ',' | ';'))
        .filter(|p| !p.is_empty())
        .collect();
    let nums: Option<Vec<i64>> = parts.iter().map(|p| number(p)).collect();
    let (regular, premium) = match nums.as_deref() {
        Some([n]) => (*n, *n),
        Some([r, p]) => (*r, *p),
        _ => return Err(Problem::PriceFormat),
    };
    if regular < min.regular {
        return Err(Problem::BelowMinimum {
            premium: false,
            min: min.regular,
        });
    }
    if premium < min.premium {
        return Err(Problem::BelowMinimum {
            premium: true,
            min: min.premium,
        });
    }
    Ok(PricePair { regular, premium })
}

fn window_word(w: &str) -> Option<Window> {
    let w = w.trim_end_matches(':').to_lowercase();
    match w.as_str() {
        "h" | "hour" | "hourly" | "ч" | "час" | "часа" | "в час" => Some(Window::Hour),
        "d" | "day" | "daily" | "д" | "день" | "сутки" | "в день" => {
            Some(Window::Day)
        }
        "w" | "week" | "weekly" | "н" | "нед" | "неделя" | "неделю" | "в неделю" => {
            Some(Window::Week)
        }
        _ => None,
    }
}

/// `day 100, week 500` / `день 100; неделя 500` / `100 в день`: caps per window,
/// each positive and not above the total.
pub fn windows(s: &str, total: i64) -> Result<[Option<i64>; 3], Problem> {
    let mut out = [None; 3];
    let parts: Vec<&str> = s
        .split([',', ';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return Err(Problem::WindowFormat);
    }
    for part in parts {
        let part = part.replace(['=', ':'], " ");
        let words: Vec<&str> = part.split_whitespace().collect();
        let (num, word) = match words.as_slice() {
            [n, rest @ ..] if number(n).is_some() || n.starts_with('-') => (*n, rest.join(" ")),
            [w @ .., n] => (*n, w.join(" ")),
            [] => return Err(Problem::WindowFormat),
        };
        let window = window_word(&word).ok_or(Problem::WindowFormat)?;
        let n = positive(num).map_err(|e| match e {
            Problem::NotPositive => Problem::NotPositive,
            _ => Problem::WindowFormat,
        })?;
        if n > total {
            return Err(Problem::AboveTotal { window, total });
        }
        out[window as usize] = Some(n);
    }
    Ok(out)
}

/// `0`, `12h`, `12 ч`, `72 часа`, `3d`, `3 дня`, `2 days`; a bare number is hours.
pub fn hold(s: &str) -> Result<i64, Problem> {
    let t = s.trim().to_lowercase();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (n, unit) = t.split_at(split);
    let n = number(n).ok_or(Problem::HoldFormat)?;
    let unit_secs = match unit.trim() {
        "" | "h" | "ч" | "hr" | "hrs" | "hour" | "hours" | "час" | "часа" | "часов" => {
            3600
        }
        "d" | "д" | "day" | "days" | "дн" | "день" | "дня" | "дней" | "сут" | "суток" => {
            86400
        }
        _ => return Err(Problem::HoldFormat),
    };
    let secs = n.saturating_mul(unit_secs);
    if secs > HOLD_MAX_SECONDS {
        return Err(Problem::HoldTooLong);
    }
    Ok(secs)
}

/// A campaign name: 1 to 100 characters.
pub fn name(s: &str) -> Result<String, Problem> {
    let t = s.trim();
    if t.is_empty() || t.chars().count() > 100 {
        return Err(Problem::NameLength);
    }
    Ok(t.to_string())
}

/// The slug suggested for a name: transliterated to ASCII, lowercase `a-z0-9-`,
/// 3 to 40 characters (`Подписка на канал` -> `podpiska-na-kanal`).
pub fn slug_suggestion(name: &str) -> String {
    let ascii = deunicode::deunicode(name).to_ascii_lowercase();
    let mut slug = String::new();
    for c in ascii.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.is_empty() && !slug.ends_with('-') {
            slug.push('-');
        }
    }
    slug.truncate(SLUG_MAX);
    let slug = slug.trim_end_matches('-').to_string();
    if slug.len() < SLUG_MIN {
        return format!("ad-{slug}").trim_end_matches('-').to_string() + "-1";
    }
    slug
}

/// `a-z0-9-`, 3 to 40, no leading, trailing or doubled `-`.
pub fn valid_slug(s: &str) -> bool {
    (SLUG_MIN..=SLUG_MAX).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
}

/// What the advertiser typed as a slug, lowercased.
pub fn slug(s: &str) -> Result<String, Problem> {
    let t = s.trim().to_ascii_lowercase();
    valid_slug(&t).then_some(t).ok_or(Problem::SlugFormat)
}

/// `base` if free, else the first free of `base-2`, `base-3`, ...
pub fn free_slug(base: &str, taken: &dyn Fn(&str) -> bool) -> String {
    if !taken(base) {
        return base.to_string();
    }
    (2..1000)
        .map(|i| {
            let suffix = format!("-{i}");
            let mut b = base.to_string();
            b.truncate(SLUG_MAX - suffix.len());
            format!("{}{suffix}", b.trim_end_matches('-'))
        })
        .find(|s| !taken(s))
        .unwrap_or_else(|| base.to_string())
}

/// A typed wish Telegram makes impossible to verify ("репост", "forward", "купить звёзды").
pub fn wish(s: &str) -> Option<UnverifiableKind> {
    let t = s.to_lowercase();
    let has = |words: &[&str]| words.iter().any(|w| t.contains(w));
    if has(&["репост", "пересыл", "пересл", "forward", "repost"]) {
        Some(UnverifiableKind::NativeForward)
    } else if has(&["звёзд", "звезд", "stars", "премиум", "premium"])
        && has(&["куп", "buy", "bought", "bought", "покуп"])
    {
        Some(UnverifiableKind::BoughtElsewhere)
    } else if has(&["реакц", "reaction", "лайк", "like"]) {
        Some(UnverifiableKind::ChannelReaction)
    } else if has(&["опрос", "голосов", "poll", "vote"]) {
        Some(UnverifiableKind::ChannelPoll)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: PricePair = PricePair {
        regular: 5,
        premium: 10,
    };

    #[test]
    fn prices() {
        assert_eq!(
            price("7 12", MIN),
            Ok(PricePair {
                regular: 7,
                premium: 12
            })
        );
        assert_eq!(
            price("12", MIN),
            Ok(PricePair {
                regular: 12,
                premium: 12
            })
        );
        assert_eq!(price("5/10", MIN), Ok(MIN));
        assert_eq!(
            price("4 10", MIN),
            Err(Problem::BelowMinimum {
                premium: false,
                min: 5
            })
        );
        assert_eq!(
            price("6", MIN),
            Err(Problem::BelowMinimum {
                premium: true,
                min: 10
            })
        );
        for bad in ["", "x", "1 2 3", "-5 10", "5.5"] {
            assert_eq!(price(bad, MIN), Err(Problem::PriceFormat), "{bad}");
        }
    }

    #[test]
    fn window_caps() {
        assert_eq!(
            windows("day 100, week 500", 1000),
            Ok([None, Some(100), Some(500)])
        );
        assert_eq!(windows("день 100", 1000), Ok([None, Some(100), None]));
        assert_eq!(
            windows("10 в час; неделя: 50", 1000),
            Ok([Some(10), None, Some(50)])
        );
        assert_eq!(windows("h=5", 1000), Ok([Some(5), None, None]));
        assert_eq!(windows("day 0", 1000), Err(Problem::NotPositive));
        assert_eq!(windows("day -3", 1000), Err(Problem::NotPositive));
        assert_eq!(
            windows("week 2000", 1000),
            Err(Problem::AboveTotal {
                window: Window::Week,
                total: 1000
            })
        );
        for bad in ["", "month 5", "day", "сколько угодно"] {
            assert_eq!(windows(bad, 1000), Err(Problem::WindowFormat), "{bad}");
        }
    }

    #[test]
    fn holds() {
        for (s, h) in [
            ("0", 0),
            ("12", 12),
            ("12h", 12),
            ("12 ч", 12),
            ("72 часа", 72),
            ("3d", 72),
            ("3 дня", 72),
            ("1 день", 24),
            ("2 days", 48),
            ("90d", 2160),
        ] {
            assert_eq!(hold(s), Ok(h * 3600), "{s}");
        }
        assert_eq!(hold("91d"), Err(Problem::HoldTooLong));
        assert_eq!(hold("999999999999"), Err(Problem::HoldTooLong));
        for bad in ["", "soon", "3 weeks", "-1", "1.5d"] {
            assert_eq!(hold(bad), Err(Problem::HoldFormat), "{bad}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug_suggestion("Подписка на канал"), "podpiska-na-kanal");
        assert_eq!(slug_suggestion("  Join @News!! 2026 "), "join-news-2026");
        assert_eq!(slug_suggestion("Ёжик в тумане"), "iozhik-v-tumane");
        assert_eq!(slug_suggestion("!!"), "ad-1");
        assert_eq!(slug_suggestion("a"), "ad-a-1");
        let long = slug_suggestion(&"очень длинное название ".repeat(5));
        assert!(valid_slug(&long), "{long}");
        assert_eq!(slug("My-Slug"), Ok("my-slug".into()));
        for bad in [
            "ab",
            "a b",
            "-abc",
            "abc-",
            "a--b",
            "привет",
            &"a".repeat(41),
        ] {
            assert_eq!(slug(bad), Err(Problem::SlugFormat), "{bad}");
        }
        let taken = |s: &str| ["news", "news-2"].contains(&s);
        assert_eq!(free_slug("news", &taken), "news-3");
        assert_eq!(free_slug("free", &taken), "free");
        let long = "a".repeat(40);
        let all = |s: &str| s == long;
        assert_eq!(free_slug(&long, &all).len(), 40);
    }

    #[test]
    fn polls_amounts_urls_wishes() {
        let p = poll("Best?\n a \n\nb\n").unwrap();
        assert_eq!((p.question.as_str(), p.options.len()), ("Best?", 2));
        assert_eq!(poll("Q?\nonly one"), Err(Problem::PollShape));
        assert_eq!(
            poll(&format!("Q\n{}", "x\n".repeat(11))),
            Err(Problem::PollShape)
        );
        assert_eq!(
            poll(&format!("Q\na\n{}", "x".repeat(101))),
            Err(Problem::PollTooLong)
        );
        assert_eq!(stars("1 000"), Ok(1000));
        assert_eq!(stars("0"), Err(Problem::StarsRange));
        assert_eq!(stars("100001"), Err(Problem::StarsRange));
        assert_eq!(stars("ten"), Err(Problem::NotANumber));
        assert!(media_url("https://x.test/a.jpg").is_ok());
        assert_eq!(media_url("http://x.test/a.jpg"), Err(Problem::MediaUrl));
        assert_eq!(positive("0"), Err(Problem::NotPositive));
        assert_eq!(positive("x"), Err(Problem::NotANumber));
        assert_eq!(wish("Нужен репост"), Some(UnverifiableKind::NativeForward));
        assert_eq!(wish("forward"), Some(UnverifiableKind::NativeForward));
        assert_eq!(
            wish("купить звёзды"),
            Some(UnverifiableKind::BoughtElsewhere)
        );
        assert_eq!(
            wish("голосование в канале"),
            Some(UnverifiableKind::ChannelPoll)
        );
        assert_eq!(wish("t.me/news"), None);
    }
}
