//! An offer's postback settings from what an operator types: the CLI's flags
//! and the admin's one-line answer in the bot go through the same checks.

use crate::domain::offer::{parse_statuses, PostbackMethod, PostbackSpec};

/// Which setting was wrong, so the CLI can name its flag and the bot its word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("method: {0}")]
    Method(String),
    #[error("statuses: {0}")]
    Statuses(String),
    #[error("URL: {0}")]
    Url(String),
    #[error("unknown preset {0:?}")]
    Preset(String),
}

impl SpecError {
    /// What was wrong, without the setting's name.
    pub fn detail(&self) -> String {
        match self {
            SpecError::Method(e) | SpecError::Statuses(e) | SpecError::Url(e) => e.clone(),
            SpecError::Preset(p) => format!("unknown preset {p:?}"),
        }
    }

    /// The CLI flag that sets what was wrong.
    pub fn flag(&self) -> &'static str {
        match self {
            SpecError::Method(_) => "--postback-method",
            SpecError::Statuses(_) => "--statuses",
            SpecError::Url(_) => "--postback-url",
            SpecError::Preset(_) => "--preset",
        }
    }
}

/// Builds a postback spec, checking the URL template against the preset.
pub fn build(
    url: Option<&str>,
    method: &str,
    preset: &str,
    statuses: &str,
    send_user_id: bool,
) -> Result<PostbackSpec, SpecError> {
    let method: PostbackMethod = method.parse().map_err(SpecError::Method)?;
    let statuses = parse_statuses(statuses).map_err(SpecError::Statuses)?;
    if statuses.is_empty() {
        // An offer reporting no status would never post back.
        return Err(SpecError::Statuses(
            "name at least one of lead,hold,approved,rejected".into(),
        ));
    }
    if let Some(url) = url {
        super::validate_template(url, preset).map_err(SpecError::Url)?;
    } else if super::preset(preset).is_none() {
        return Err(SpecError::Preset(preset.into()));
    }
    Ok(PostbackSpec {
        url: url.map(str::to_string),
        method,
        preset: preset.to_string(),
        statuses,
        send_user_id,
    })
}

/// `URL [get|post_form|post_json] [PRESET] [STATUSES]` in any order after the
/// URL, e.g. `https://tr.example/pb?cid={click_id}&s={status} keitaro approved,rejected`.
/// Keeps `current`'s method, preset and statuses where the line names none.
pub fn parse_line(line: &str, current: &PostbackSpec) -> Result<PostbackSpec, String> {
    let mut words = line.split_whitespace();
    let url = words.next().ok_or("send the postback URL first")?;
    let (mut method, mut preset, mut statuses) = (
        current.method.as_str().to_string(),
        current.preset.clone(),
        current
            .statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(","),
    );
    for w in words {
        let lw = w.to_ascii_lowercase();
        if lw.parse::<PostbackMethod>().is_ok() {
            method = lw;
        } else if super::preset(&lw).is_some() {
            preset = lw;
        } else if parse_statuses(&lw).is_ok() {
            statuses = lw;
        } else {
            return Err(format!(
                "{w:?} is not a method (get, post_form, post_json), a preset or a list of statuses"
            ));
        }
    }
    build(Some(url), &method, &preset, &statuses, current.send_user_id).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::ConversionStatus;

    #[test]
    fn lines() {
        let cur = PostbackSpec::default();
        let s = parse_line(
            "https://t.example/p?c={click_id}&s={status} keitaro post_json lead,approved",
            &cur,
        )
        .unwrap();
        assert_eq!(s.preset, "keitaro");
        assert_eq!(s.method, PostbackMethod::PostJson);
        assert_eq!(
            s.statuses,
            vec![ConversionStatus::Lead, ConversionStatus::Approved]
        );
        let s = parse_line("https://t.example/p?c={click_id}", &cur).unwrap();
        assert_eq!(s.preset, "generic");
        assert!(parse_line("", &cur).is_err());
        assert!(parse_line("https://t.example/p?c={click_id} bogus", &cur).is_err());
        assert!(parse_line("not a url", &cur).is_err());
    }
}
