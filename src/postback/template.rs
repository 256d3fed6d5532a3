//! Postback URL templates: `https://tracker/pb?subid={click_id}&status={status}`.
//!
//! A template is checked when the operator sets it ([`validate`]): an unknown
//! macro is refused there, naming it, rather than sent as literal text later.
//! Values are percent-encoded (everything but RFC 3986 unreserved characters),
//! so a sub-id can never add a parameter or change the path. Macros are not
//! allowed in the scheme or host: the destination is the operator's choice
//! alone, never something a click parameter can steer.
//!
//! One template describes all three methods: GET sends it as is; POST form
//! sends the part before `?` as the URL and the query as the body; POST JSON
//! sends the query pairs as a JSON object of strings.

use std::fmt;

use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

use crate::domain::offer::PostbackMethod;

/// Everything except RFC 3986 unreserved characters gets encoded.
const VALUE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The macros a template may use, in the order `offer set-postback --help` lists them.
pub const MACROS: &[&str] = &[
    "click_id",
    "offer_id",
    "action",
    "goal",
    "status",
    "payout",
    "currency",
    "txid",
    "event_time",
    "is_premium",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "lead_id",
    "conversion_id",
    "hold_until",
    "tg_user_id",
];

/// Why a template is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error(
        "unknown macro {{{name}}} in the postback URL; known macros: {}",
        known()
    )]
    UnknownMacro { name: String },
    #[error("unclosed '{{' at byte {at} of the postback URL")]
    Unclosed { at: usize },
    #[error("the postback URL must start with http:// or https://")]
    Scheme,
    #[error("the postback URL has no host")]
    NoHost,
    #[error(
        "macros are not allowed in the host of the postback URL (the destination must be fixed)"
    )]
    MacroInHost,
    #[error("the postback URL must not contain spaces or control characters")]
    Whitespace,
    #[error("the postback URL is too long ({len} bytes; at most {max})")]
    TooLong { len: usize, max: usize },
}

const MAX_TEMPLATE: usize = 2048;

fn known() -> String {
    MACROS
        .iter()
        .map(|m| format!("{{{m}}}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Checks a template as `offer set-postback` receives it.
pub fn validate(template: &str) -> Result<(), TemplateError> {
    if template.len() > MAX_TEMPLATE {
        return Err(TemplateError::TooLong {
            len: template.len(),
            max: MAX_TEMPLATE,
        });
    }
    if template
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(TemplateError::Whitespace);
    }
    let lower = template.to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        &template[8..]
    } else if lower.starts_with("http://") {
        &template[7..]
    } else {
        return Err(TemplateError::Scheme);
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    if authority.contains(['{', '}']) {
        return Err(TemplateError::MacroInHost);
    }
    // `user@` is allowed by URLs but would let the host look like something else.
    let host = authority.rsplit('@').next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(TemplateError::NoHost);
    }
    for piece in pieces(template) {
        let Piece::Macro(name) = piece? else { continue };
        if !MACROS.contains(&name) {
            return Err(TemplateError::UnknownMacro {
                name: name.to_string(),
            });
        }
    }
    Ok(())
}

enum Piece<'a> {
    Literal(&'a str),
    Macro(&'a str),
}

/// Splits a template into literal text and `{macro}` names.
fn pieces(template: &str) -> impl Iterator<Item = Result<Piece<'_>, TemplateError>> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= template.len() {
            return None;
        }
        let rest = &template[pos..];
        match rest.find('{') {
            Some(0) => match rest.find('}') {
                Some(end) => {
                    pos += end + 1;
                    Some(Ok(Piece::Macro(&rest[1..end])))
                }
                None => {
                    let at = pos;
                    pos = template.len();
                    Some(Err(TemplateError::Unclosed { at }))
                }
            },
            Some(i) => {
                pos += i;
                Some(Ok(Piece::Literal(&rest[..i])))
            }
            None => {
                pos = template.len();
                Some(Ok(Piece::Literal(rest)))
            }
        }
    })
}

/// The values macros expand to, already as text (the caller decides what an
/// absent value looks like: an empty string).
pub trait Values {
    fn get(&self, name: &str) -> Option<String>;
}

fn substitute(
    template: &str,
    values: &dyn Values,
    literal: impl Fn(&str) -> String,
    value: impl Fn(&str) -> String,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(template.len() + 64);
    for piece in pieces(template) {
        match piece? {
            Piece::Literal(s) => out.push_str(&literal(s)),
            Piece::Macro(name) => {
                let v = values
                    .get(name)
                    .ok_or_else(|| TemplateError::UnknownMacro {
                        name: name.to_string(),
                    })?;
                out.push_str(&value(&v));
            }
        }
    }
    Ok(out)
}

fn encode(v: &str) -> String {
    utf8_percent_encode(v, VALUE).to_string()
}

fn decode(v: &str) -> String {
    // A template's literal text may itself be percent-encoded (`note=a%20b`);
    // for JSON we want the characters, and `+` in a query means a space.
    percent_decode_str(&v.replace('+', " "))
        .decode_utf8_lossy()
        .into_owned()
}

/// A request ready to store and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub url: String,
    pub body: Option<String>,
}

/// Renders a validated template for `method`.
pub fn render(
    template: &str,
    method: PostbackMethod,
    values: &dyn Values,
) -> Result<Rendered, TemplateError> {
    validate(template)?;
    let (base, query) = match template.split_once('?') {
        Some((b, q)) => (b, Some(q.split('#').next().unwrap_or(""))),
        None => (template, None),
    };
    match method {
        PostbackMethod::Get => Ok(Rendered {
            url: substitute(template, values, str::to_string, encode)?,
            body: None,
        }),
        PostbackMethod::PostForm => Ok(Rendered {
            url: substitute(base, values, str::to_string, encode)?,
            body: Some(match query {
                Some(q) => substitute(q, values, str::to_string, encode)?,
                None => String::new(),
            }),
        }),
        PostbackMethod::PostJson => {
            let mut body = String::from("{");
            let pairs = query.unwrap_or("").split('&').filter(|p| !p.is_empty());
            for (i, pair) in pairs.enumerate() {
                let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
                let key = substitute(k, values, decode, str::to_string)?;
                let val = substitute(v, values, decode, str::to_string)?;
                if i > 0 {
                    body.push(',');
                }
                // Strings always: receivers parse "1.5" and 1.5 alike, and a
                // click id that looks numeric must not lose leading zeros.
                body.push_str(&serde_json::to_string(&key).expect("a string serializes"));
                body.push(':');
                body.push_str(&serde_json::to_string(&val).expect("a string serializes"));
            }
            body.push('}');
            Ok(Rendered {
                url: substitute(base, values, str::to_string, encode)?,
                body: Some(body),
            })
        }
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)?;
        if let Some(b) = &self.body {
            write!(f, "\n{b}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Map(HashMap<&'static str, &'static str>);
    impl Values for Map {
        fn get(&self, name: &str) -> Option<String> {
            MACROS
                .contains(&name)
                .then(|| self.0.get(name).copied().unwrap_or("").to_string())
        }
    }

    fn values() -> Map {
        Map(HashMap::from([
            ("click_id", "a b&c=d/é"),
            ("status", "sale"),
            ("payout", "0.5"),
            ("sub1", "007"),
        ]))
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(validate("https://t.example/pb?subid={click_id}&status={status}").is_ok());
        assert!(validate("http://t.example:8080").is_ok());
        let table = [
            (
                "https://t.example/pb?x={clickid}",
                TemplateError::UnknownMacro {
                    name: "clickid".into(),
                },
            ),
            (
                "https://t.example/pb?x={click_id",
                TemplateError::Unclosed { at: 23 },
            ),
            ("ftp://t.example/pb", TemplateError::Scheme),
            ("t.example/pb", TemplateError::Scheme),
            ("https:///pb", TemplateError::NoHost),
            ("https://{sub1}.example/pb", TemplateError::MacroInHost),
            ("https://t.example/p b", TemplateError::Whitespace),
        ];
        for (t, want) in table {
            assert_eq!(validate(t), Err(want), "{t}");
        }
        let msg = validate("https://t.example/?a={foo}")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("{foo}") && msg.contains("{click_id}"), "{msg}");
    }

    #[test]
    fn get_encodes_values_not_the_template() {
        let r = render(
            "https://t.example/pb?subid={click_id}&st={status}&p={payout}&x=a%20b",
            PostbackMethod::Get,
            &values(),
        )
        .unwrap();
        assert_eq!(
            r.url,
            "https://t.example/pb?subid=a%20b%26c%3Dd%2F%C3%A9&st=sale&p=0.5&x=a%20b"
        );
        assert_eq!(r.body, None);
    }

    #[test]
    fn post_form_moves_the_query_into_the_body() {
        let r = render(
            "https://t.example/pb?subid={click_id}&st={status}",
            PostbackMethod::PostForm,
            &values(),
        )
        .unwrap();
        assert_eq!(r.url, "https://t.example/pb");
        assert_eq!(
            r.body.as_deref(),
            Some("subid=a%20b%26c%3Dd%2F%C3%A9&st=sale")
        );
    }

    #[test]
    fn post_json_sends_strings() {
        let r = render(
            "https://t.example/pb?subid={click_id}&s1={sub1}&note=a%20b&empty={sub2}",
            PostbackMethod::PostJson,
            &values(),
        )
        .unwrap();
        assert_eq!(r.url, "https://t.example/pb");
        let v: serde_json::Value = serde_json::from_str(r.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"subid": "a b&c=d/é", "s1": "007", "note": "a b", "empty": ""})
        );
    }
}
