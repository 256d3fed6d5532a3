//! Query-string parameters of the click link.
//!
//! Values are percent-decoded with `+` as a space (form encoding, as trackers
//! and PHP/Go servers read it) and must be UTF-8, non-empty, at most
//! [`MAX_PARAM`] bytes and free of control characters: they are stored and later
//! sent back to the network in postbacks, so what we keep must be what we got.

use std::borrow::Cow;

use percent_encoding::percent_decode;

use super::limits::MAX_PARAM;
use super::router::HttpError;

/// `uid` and `sub1`..`sub5` of a click link, decoded and validated.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClickParams<'a> {
    pub uid: Cow<'a, str>,
    pub subs: [Option<Cow<'a, str>>; 5],
}

const SUB_NAMES: [&str; 5] = ["sub1", "sub2", "sub3", "sub4", "sub5"];

impl<'a> ClickParams<'a> {
    pub fn parse(query: &'a str) -> Result<ClickParams<'a>, HttpError> {
        let mut uid = None;
        let mut subs: [Option<Cow<'a, str>>; 5] = Default::default();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = if name == "uid" {
                &mut uid
            } else if let Some(i) = SUB_NAMES.iter().position(|s| *s == name) {
                &mut subs[i]
            } else {
                // Networks append their own parameters; they are not ours to judge.
                continue;
            };
            if slot.is_some() {
                return Err(HttpError::BadRequest(format!(
                    "{name} is given more than once"
                )));
            }
            let value = decode(name, raw)?;
            if value.is_empty() {
                if name == "uid" {
                    return Err(HttpError::BadRequest("uid is empty".into()));
                }
                // An empty sub is the same as none.
                continue;
            }
            *slot = Some(value);
        }
        let uid = uid.ok_or_else(|| HttpError::BadRequest("uid is missing".into()))?;
        Ok(ClickParams { uid, subs })
    }
}

fn decode<'a>(name: &str, raw: &'a str) -> Result<Cow<'a, str>, HttpError> {
    // The raw form is at most 3 bytes per decoded byte; reject early what cannot fit.
    if raw.len() > 3 * MAX_PARAM {
        return Err(too_long(name));
    }
    let plus = raw.contains('+');
    let spaced;
    let src: &[u8] = if plus {
        spaced = raw.replace('+', " ");
        spaced.as_bytes()
    } else {
        raw.as_bytes()
    };
    let value: Cow<'a, str> = match percent_decode(src).into() {
        // Nothing to decode: the raw text (already UTF-8) is the value.
        Cow::Borrowed(_) if !plus => Cow::Borrowed(raw),
        d => Cow::Owned(
            String::from_utf8(Cow::<[u8]>::into_owned(d))
                .map_err(|_| HttpError::BadRequest(format!("{name} is not valid UTF-8")))?,
        ),
    };
    if value.len() > MAX_PARAM {
        return Err(too_long(name));
    }
    if value.chars().any(char::is_control) {
        return Err(HttpError::BadRequest(format!(
            "{name} contains control characters"
        )));
    }
    Ok(value)
}

fn too_long(name: &str) -> HttpError {
    HttpError::BadRequest(format!("{name} is longer than {MAX_PARAM} bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(q: &str) -> String {
        match ClickParams::parse(q) {
            Err(HttpError::BadRequest(r)) => r,
            other => panic!("{q}: expected 400, got {other:?}"),
        }
    }

    #[test]
    fn parses_and_decodes() {
        let p = ClickParams::parse("uid=abc%20d+e&sub2=x&sub1=&foo=bar&sub5=%D0%B9").unwrap();
        assert_eq!(p.uid, "abc d e");
        assert_eq!(p.subs[0], None);
        assert_eq!(p.subs[1].as_deref(), Some("x"));
        assert_eq!(p.subs[4].as_deref(), Some("й"));
        assert!(matches!(
            ClickParams::parse("uid=plain").unwrap().uid,
            Cow::Borrowed("plain")
        ));
    }

    #[test]
    fn rejects_bad_values() {
        assert_eq!(reason(""), "uid is missing");
        assert_eq!(reason("sub1=x"), "uid is missing");
        assert_eq!(reason("uid="), "uid is empty");
        assert_eq!(reason("uid=a&uid=b"), "uid is given more than once");
        assert_eq!(reason("uid=a%0Ab"), "uid contains control characters");
        assert_eq!(reason("uid=a&sub3=%7F"), "sub3 contains control characters");
        assert_eq!(reason("uid=%FF"), "uid is not valid UTF-8");
        assert_eq!(
            reason(&format!("uid={}", "a".repeat(257))),
            "uid is longer than 256 bytes"
        );
        assert!(ClickParams::parse(&format!("uid={}", "a".repeat(256))).is_ok());
        assert_eq!(
            reason(&format!("uid=x&sub1={}", "%41".repeat(257))),
            "sub1 is longer than 256 bytes"
        );
    }
}
