//! CSV exports (RFC 4180: comma-separated, CRLF-free `\n` lines, fields quoted
//! only when they need it). Times are ISO 8601 UTC, so a spreadsheet sorts them.

use crate::store::report::{ConversionRow, DayRow};

/// Header of the per-day export.
pub const DAYS_HEADER: &str = "day,clicks,unique_clicks,bot_starts,actions,holds,approved,rejected,premium,spent_stars,postbacks_delivered,postbacks_pending,postbacks_failed";

/// The per-day rows of one campaign (days in its time zone).
pub fn days(rows: &[DayRow]) -> Vec<u8> {
    let mut out = String::from(DAYS_HEADER);
    out.push('\n');
    for r in rows {
        let n = &r.n;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            field(&r.day),
            n.hits,
            n.clicks,
            n.leads,
            n.actions(),
            n.holds,
            n.approved,
            n.rejected,
            n.premium,
            n.spent,
            n.postbacks_sent,
            n.postbacks_pending,
            n.postbacks_failed
        ));
    }
    out.into_bytes()
}

/// The conversions of one campaign. The Telegram user id is a column only when
/// the operator allowed it for this offer (`send_user_id`): privacy by default.
pub fn conversions(rows: &[ConversionRow], with_user_id: bool) -> Vec<u8> {
    let mut out = String::from(
        "conversion_id,click_id,status,reason,premium,price_stars,created_at,accepted_at,hold_until,updated_at",
    );
    if with_user_id {
        out.push_str(",tg_user_id");
    }
    out.push('\n');
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}",
            r.id,
            field(r.click_uid.as_deref().unwrap_or("")),
            field(&r.status),
            field(r.reason.as_deref().unwrap_or("")),
            u8::from(r.premium),
            r.price,
            time(Some(r.created_at)),
            time(r.accepted_at),
            time(r.hold_until),
            time(Some(r.updated_at)),
        ));
        if with_user_id {
            out.push_str(&format!(",{}", r.tg_user_id));
        }
        out.push('\n');
    }
    out.into_bytes()
}

fn time(t: Option<i64>) -> String {
    t.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A field as CSV says it: quoted (with doubled quotes) when it holds a comma,
/// a quote or a line break. Click ids come from networks and may hold anything;
/// a leading `=`, `+`, `-` or `@` is prefixed with `'` so a spreadsheet never
/// runs it as a formula.
fn field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_and_defused() {
        assert_eq!(field("abc"), "abc");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=cmd()"), "'=cmd()");
    }

    #[test]
    fn user_id_only_when_allowed() {
        let row = ConversionRow {
            id: 7,
            click_uid: Some("CPA-1".into()),
            status: "approved".into(),
            premium: true,
            price: 10,
            reason: None,
            created_at: 0,
            accepted_at: Some(60),
            hold_until: Some(120),
            updated_at: 120,
            tg_user_id: 4242,
        };
        let hidden = String::from_utf8(conversions(std::slice::from_ref(&row), false)).unwrap();
        assert!(!hidden.contains("4242"), "{hidden}");
        assert!(hidden.contains("7,CPA-1,approved,,1,10,1970-01-01T00:00:00Z,1970-01-01T00:01:00Z"));
        let shown = String::from_utf8(conversions(&[row], true)).unwrap();
        assert!(shown.lines().nth(1).unwrap().ends_with(",4242"));
    }
}
