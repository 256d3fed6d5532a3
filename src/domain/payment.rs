//! Stars payments: what an invoice pays for (its payload), and the ledger's
//! kinds and statuses. Each is stored as a stable string through one codec.

use std::fmt;
use std::str::FromStr;

/// What an invoice pays for, carried in its payload (at most 128 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoicePayload {
    /// A user's Stars-payment task: the lead it belongs to.
    Task { lead: i64 },
    /// An advertiser's campaign budget: the draft offer and its revision at
    /// invoice time, so an invoice for an older version of the draft is refused.
    Campaign { offer: i64, revision: i64 },
}

impl InvoicePayload {
    pub fn encode(self) -> String {
        match self {
            InvoicePayload::Task { lead } => format!("lead:{lead}"),
            InvoicePayload::Campaign { offer, revision } => format!("camp:{offer}:{revision}"),
        }
    }

    pub fn decode(bytes: &[u8]) -> Option<InvoicePayload> {
        let s = std::str::from_utf8(bytes).ok()?;
        let (tag, rest) = s.split_once(':')?;
        match tag {
            "lead" => Some(InvoicePayload::Task {
                lead: rest.parse().ok().filter(|n| *n > 0)?,
            }),
            "camp" => {
                let (o, r) = rest.split_once(':')?;
                Some(InvoicePayload::Campaign {
                    offer: o.parse().ok().filter(|n| *n > 0)?,
                    revision: r.parse().ok().filter(|n| *n >= 0)?,
                })
            }
            _ => None,
        }
    }
}

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            pub fn as_str(self) -> &'static str {
                match self { $($name::$v => $s),+ }
            }
        }
        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s { $($s => Ok($name::$v),)+ _ => Err(format!("unknown {} {s:?}", stringify!($name))) }
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.as_str()) }
        }
    };
}

string_enum!(
    /// A ledger row's kind. Amounts are positive for money in, negative for money out.
    PaymentKind {
        /// A user paid a Stars-payment task's invoice.
        TaskInvoice => "task_invoice",
        /// An advertiser prepaid a campaign's budget.
        CampaignBudget => "campaign_budget",
        /// Stars given back through payments.refundStarsCharge.
        Refund => "refund",
        /// Unspent budget of a finished campaign, kept as the advertiser's credit.
        Credit => "credit",
        /// Credit applied to a new campaign's budget.
        CreditUsed => "credit_used",
    }
);

string_enum!(
    PaymentStatus {
        Paid => "paid",
        Refunded => "refunded",
        Booked => "booked",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip_and_refuse_garbage() {
        for p in [
            InvoicePayload::Task { lead: 1 },
            InvoicePayload::Campaign {
                offer: 3,
                revision: 0,
            },
            InvoicePayload::Campaign {
                offer: i64::MAX,
                revision: 99,
            },
        ] {
            assert!(p.encode().len() <= 128);
            assert_eq!(InvoicePayload::decode(p.encode().as_bytes()), Some(p));
        }
        for bad in [
            &b""[..],
            b"lead:",
            b"lead:0",
            b"lead:-1",
            b"camp:1",
            b"camp:x:1",
            b"camp:1:-1",
            b"\xff",
            b"paid:lead:1",
        ] {
            assert_eq!(InvoicePayload::decode(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn kinds_round_trip() {
        for k in [
            PaymentKind::TaskInvoice,
            PaymentKind::CampaignBudget,
            PaymentKind::Refund,
            PaymentKind::Credit,
            PaymentKind::CreditUsed,
        ] {
            assert_eq!(k.as_str().parse::<PaymentKind>(), Ok(k));
        }
        assert!("x".parse::<PaymentStatus>().is_err());
    }
}
