//! Network presets: how a tracker spells our statuses, and whether its 200
//! answers need reading before we believe them (cpa.md 1.1, 1.2).

use std::fmt;
use std::str::FromStr;

use crate::domain::offer::ConversionStatus;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Our own words: lead / hold / approved / rejected.
    Generic,
    /// Keitaro has no hold: an unconfirmed conversion is a `lead` ("Revenue (hold)").
    Keitaro,
    /// Affise's numeric statuses: 2 pending, 5 hold, 1 approved, 3 declined.
    Affise,
    /// Binom's `cnv_status` is free text; our words read well there.
    Binom,
    /// AlterCPA-style trackers: wait / hold / approve / cancel; answers JSON, always 200.
    Altercpa,
    /// TUNE / HasOffers: pending / approved / rejected; may say `success=false` inside a 200.
    Tune,
}

pub const ALL_PRESETS: [Preset; 6] = [
    Preset::Generic,
    Preset::Keitaro,
    Preset::Affise,
    Preset::Binom,
    Preset::Altercpa,
    Preset::Tune,
];

impl Preset {
    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Generic => "generic",
            Preset::Keitaro => "keitaro",
            Preset::Affise => "affise",
            Preset::Binom => "binom",
            Preset::Altercpa => "altercpa",
            Preset::Tune => "tune",
        }
    }

    /// The word `{status}` expands to.
    pub fn status_word(self, s: ConversionStatus) -> &'static str {
        use ConversionStatus::*;
        match (self, s) {
            (Preset::Generic | Preset::Binom, s) => s.as_str(),
            (Preset::Keitaro, Lead | Hold) => "lead",
            (Preset::Keitaro, Approved) => "sale",
            (Preset::Keitaro, Rejected) => "rejected",
            (Preset::Affise, Lead) => "2",
            (Preset::Affise, Hold) => "5",
            (Preset::Affise, Approved) => "1",
            (Preset::Affise, Rejected) => "3",
            (Preset::Altercpa, Lead) => "wait",
            (Preset::Altercpa, Hold) => "hold",
            (Preset::Altercpa, Approved) => "approve",
            (Preset::Altercpa, Rejected) => "cancel",
            (Preset::Tune, Lead | Hold) => "pending",
            (Preset::Tune, Approved) => "approved",
            (Preset::Tune, Rejected) => "rejected",
        }
    }

    /// Reads a 2xx body. `Err(reason)` means the receiver refused the postback
    /// although the HTTP status said OK. `body` is what we read of it (capped).
    pub fn check_body(self, body: &str) -> Result<(), String> {
        match self {
            Preset::Tune => {
                // TUNE answers `success=true;` or `success=false; err_msg=...;`.
                let compact: String = body
                    .chars()
                    .filter(|c| !c.is_whitespace())
                    .collect::<String>()
                    .to_ascii_lowercase();
                if compact.contains("success=false") {
                    Err(format!("receiver answered success=false: {}", head(body)))
                } else {
                    Ok(())
                }
            }
            Preset::Altercpa => altercpa_body(body),
            Preset::Generic | Preset::Keitaro | Preset::Affise | Preset::Binom => Ok(()),
        }
    }
}

/// AlterCPA answers every request with HTTP 200 and a JSON verdict, so the
/// body is the only place a refusal shows. We accept the common shapes of an
/// error flag: `"status": "error"`, a truthy `"error"`, `"success": false`, `"ok": false`.
fn altercpa_body(body: &str) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(body.trim()).map_err(|_| {
        format!(
            "expected a JSON answer from an AlterCPA-style tracker, got: {}",
            head(body)
        )
    })?;
    let refused = match &v {
        serde_json::Value::Object(m) => {
            let status_error = m.get("status").and_then(|s| s.as_str()).is_some_and(|s| {
                matches!(s.to_ascii_lowercase().as_str(), "error" | "fail" | "failed")
            });
            let error_flag = m.get("error").is_some_and(|e| match e {
                serde_json::Value::Null => false,
                serde_json::Value::Bool(b) => *b,
                serde_json::Value::Number(n) => n.as_f64() != Some(0.0),
                serde_json::Value::String(s) => !s.is_empty() && s != "0",
                _ => true,
            });
            let false_flag = |k: &str| m.get(k).and_then(|b| b.as_bool()) == Some(false);
            status_error || error_flag || false_flag("success") || false_flag("ok")
        }
        _ => false,
    };
    if refused {
        Err(format!("receiver reported an error: {}", head(body)))
    } else {
        Ok(())
    }
}

fn head(body: &str) -> String {
    body.chars()
        .take(200)
        .collect::<String>()
        .trim()
        .to_string()
}

impl FromStr for Preset {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let want = s.trim().to_ascii_lowercase();
        ALL_PRESETS
            .iter()
            .copied()
            .find(|p| p.as_str() == want)
            .ok_or_else(|| {
                let names: Vec<_> = ALL_PRESETS.iter().map(|p| p.as_str()).collect();
                format!(
                    "unknown postback preset {s:?}; expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversionStatus::*;

    #[test]
    fn status_words_per_preset() {
        let table = [
            (Preset::Generic, ["lead", "hold", "approved", "rejected"]),
            (Preset::Keitaro, ["lead", "lead", "sale", "rejected"]),
            (Preset::Affise, ["2", "5", "1", "3"]),
            (Preset::Binom, ["lead", "hold", "approved", "rejected"]),
            (Preset::Altercpa, ["wait", "hold", "approve", "cancel"]),
            (Preset::Tune, ["pending", "pending", "approved", "rejected"]),
        ];
        for (p, words) in table {
            let got: Vec<_> = [Lead, Hold, Approved, Rejected]
                .iter()
                .map(|s| p.status_word(*s))
                .collect();
            assert_eq!(got, words, "{p}");
            assert_eq!(p.as_str().parse::<Preset>().unwrap(), p);
        }
        assert!("voluum".parse::<Preset>().unwrap_err().contains("keitaro"));
    }

    #[test]
    fn body_checks() {
        assert!(Preset::Tune.check_body("success=true;").is_ok());
        assert!(Preset::Tune
            .check_body("success = false; err_msg=Duplicate conversion;")
            .is_err());
        assert!(
            Preset::Generic.check_body("success=false").is_ok(),
            "generic never reads the body"
        );
        for ok in [
            r#"{"status":"ok"}"#,
            r#"{"status":"ok","error":null}"#,
            r#"{"success":true}"#,
            "[]",
        ] {
            assert!(Preset::Altercpa.check_body(ok).is_ok(), "{ok}");
        }
        for bad in [
            r#"{"status":"error","error":"click"}"#,
            r#"{"error":1}"#,
            r#"{"success":false}"#,
            "<html>",
        ] {
            assert!(Preset::Altercpa.check_body(bad).is_err(), "{bad}");
        }
    }
}
