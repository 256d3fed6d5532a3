//! An offer's postback settings from what an operator types: the CLI's flags
//! and the admin's one-line answer in the bot go through the same checks.

use crate::domain::offer::{parse_statuses, PostbackMethod, PostbackSpec};

/// Builds a postback spec, checking the URL template against the preset.
pub fn build(
    url: Option<&str>,
    method: &str,
    preset: &str,
    statuses: &str,
    send_user_id: bool,
) -> Result<PostbackSpec, String> {
    let method: PostbackMethod = method.parse()?;
    let statuses = parse_statuses(statuses).map_err(|e| format!("statuses: {e}"))?;
    if let Some(url) = url {
        super::validate_template(url, preset).map_err(|e| format!("URL: {e}"))?;
    } else if super::preset(preset).is_none() {
        return Err(format!("unknown preset {preset:?}"));
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
    build(Some(url), &method, &preset, &statuses, current.send_user_id)
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
