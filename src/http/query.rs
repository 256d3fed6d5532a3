//! Query-string parameters of the click link.
//!
//! Values are percent-decoded with `+` as a space (form encoding, as trackers
//! and PHP/Go servers read it) and must be UTF-8, non-empty, at most
//! [`MAX_PARAM`] bytes and free of control characters: they are stored and later
//! sent back to the network in postbacks, so what we keep must be what we got.
//!
//! Refused (400), never normalised: a `%` not followed by two hex digits
//! (`abc%2`, `abc%ZZ`: a broken encoding would be stored literally and sent
//! back as something the network never sent), and invisible format characters
//! (zero-width, bidi controls, BOM, soft hyphen), which make two ids look alike.

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
    if !percent_encoding_is_valid(raw) {
        return Err(HttpError::BadRequest(format!(
            "{name} has a broken percent-encoding (% must be followed by two hex digits)"
        )));
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
    if value.chars().any(invisible) {
        return Err(HttpError::BadRequest(format!(
            "{name} contains invisible (zero-width or bidi) characters"
        )));
    }
    Ok(value)
}

fn percent_encoding_is_valid(raw: &str) -> bool {
    let b = raw.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = |j: usize| b.get(j).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(i + 1) && hex(i + 2)) {
                return false;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    true
}

/// Format characters that render as nothing but change comparison or display:
/// soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width
/// space/joiners, directional marks, bidi embeddings/overrides/isolates, word
/// joiner and invisible operators, BOM.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}')
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
        for broken in [
            "uid=abc%2",
            "uid=abc%ZZ",
            "uid=%",
            "uid=a%g1",
            "uid=ok&sub1=x%",
        ] {
            assert!(
                reason(broken).contains("broken percent-encoding"),
                "{broken}: {}",
                reason(broken)
            );
        }
        for hidden in [
            "uid=a%E2%80%8Bb",
            "uid=a%E2%80%AEb",
            "uid=%EF%BB%BFabc",
            "uid=a%E2%81%A6b",
        ] {
            assert!(reason(hidden).contains("invisible"), "{hidden}");
        }
        assert!(ClickParams::parse("uid=a%2Bb%25").is_ok());
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
