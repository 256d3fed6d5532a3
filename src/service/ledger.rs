//! The ledger for admins (`/ledger`, `tgtrack ledger`): per advertiser what was
//! paid, refunded, spent and what is left, computed from independent sources
//! so that `paid = spent + refunded + balance` is a real check, not a definition.
//!
//! - paid: campaign budget charges (`campaign_budget`, status paid);
//! - refunded: refunds of those charges (`refund` rows, `refund:<charge>`);
//! - spent: `offers.budget_spent` of the advertiser's campaigns;
//! - balance: what running (not finished) campaigns still hold of what was
//!   paid for them (net of refunds, plus credit moved into them, less spend),
//!   plus the credit (`credit` booked when a campaign finished, less `credit_used`).

use serde::Serialize;

use crate::store::{ledger as rows, Store, StoreError};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Account {
    pub advertiser: i64,
    pub paid: i64,
    pub refunded: i64,
    pub spent: i64,
    /// Unspent on campaigns still running (or waiting), from what was paid for them.
    pub held: i64,
    /// Credit from finished campaigns, less what was used.
    pub credit: i64,
}

impl Account {
    pub fn balance(&self) -> i64 {
        self.held + self.credit
    }

    /// Stars not accounted for: zero when the ledger reconciles.
    pub fn discrepancy(&self) -> i64 {
        self.paid - self.spent - self.refunded - self.balance()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub accounts: Vec<Account>,
    pub total: Account,
}

impl Ledger {
    pub fn reconciles(&self) -> bool {
        self.accounts.iter().all(|a| a.discrepancy() == 0)
    }
}

pub fn ledger(store: &Store) -> Result<Ledger, StoreError> {
    let per_offer = store.read(rows::offer_money)?;
    let credits = store.read(rows::credits)?;
    let mut map: std::collections::BTreeMap<i64, Account> = Default::default();
    for o in per_offer {
        let a = map.entry(o.advertiser).or_default();
        a.advertiser = o.advertiser;
        a.paid += o.paid;
        a.refunded += o.refunded;
        a.spent += o.spent;
        if !o.finished {
            a.held += o.paid - o.refunded + o.credit_used - o.spent;
        }
    }
    for (advertiser, credit) in credits {
        let a = map.entry(advertiser).or_default();
        a.advertiser = advertiser;
        a.credit += credit;
    }
    let accounts: Vec<Account> = map.into_values().collect();
    let mut total = Account::default();
    for a in &accounts {
        total.paid += a.paid;
        total.refunded += a.refunded;
        total.spent += a.spent;
        total.held += a.held;
        total.credit += a.credit;
    }
    Ok(Ledger { accounts, total })
}

/// The payments themselves, newest first (`tgtrack ledger --payments`, `/ledger`).
pub fn payments(store: &Store, limit: u32) -> Result<Vec<rows::PaymentRow>, StoreError> {
    store.read(|c| rows::payments(c, limit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::OfferStatus;
    use crate::domain::payment::{PaymentKind, PaymentStatus};
    use crate::service::offers::{set_status, Actor};
    use crate::store::{self, OfferId};

    fn pay(store: &Store, user: i64, offer: OfferId, kind: PaymentKind, amount: i64, charge: &str) {
        let status = match kind {
            PaymentKind::Refund => PaymentStatus::Refunded,
            _ => PaymentStatus::Paid,
        };
        store
            .write(|tx| {
                store::payments::record(
                    tx,
                    &store::payments::NewPayment {
                        tg_user_id: user,
                        offer_id: Some(offer),
                        kind: kind.as_str(),
                        amount,
                        currency: "XTR",
                        payload: None,
                        charge_id: charge,
                        status: status.as_str(),
                    },
                    1_000,
                )
            })
            .unwrap();
    }

    /// A payment, a refund, spending and a finished campaign's credit: the
    /// ledger adds up to the Star.
    #[test]
    fn reconciles_after_payment_refund_and_spend() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db"), 1).unwrap();
        let ada = 77;
        let mut new = store::offers::tests::sample();
        new.advertiser_id = Some(ada);
        new.budget_total = Some(100);
        let c1 = store
            .write(|tx| store::offers::insert_offer(tx, &new, 1_000))
            .unwrap();
        new.budget_total = Some(90);
        let c2 = store
            .write(|tx| store::offers::insert_offer(tx, &new, 1_000))
            .unwrap();
        pay(&store, ada, c1, PaymentKind::CampaignBudget, 100, "ch1");
        pay(&store, ada, c2, PaymentKind::CampaignBudget, 50, "ch2");
        pay(&store, ada, c2, PaymentKind::CampaignBudget, 40, "ch3");
        pay(&store, ada, c2, PaymentKind::Refund, -40, "refund:ch3");
        store
            .write(|tx| store::offers::spend_budget(tx, c1, 30, 1_100))
            .unwrap();
        store
            .write(|tx| store::offers::spend_budget(tx, c2, 20, 1_100))
            .unwrap();
        set_status(&store, c1, None, OfferStatus::Finished, Actor::Cli, 1_200).unwrap();

        let l = ledger(&store).unwrap();
        assert_eq!(l.accounts.len(), 1);
        let a = &l.accounts[0];
        assert_eq!(
            (a.paid, a.refunded, a.spent, a.held, a.credit),
            (190, 40, 50, 30, 70)
        );
        assert_eq!(a.balance(), 100);
        assert_eq!(a.discrepancy(), 0);
        assert!(l.reconciles());
        assert_eq!(
            l.total,
            Account {
                advertiser: 0,
                ..a.clone()
            }
        );

        // Money that appears from nowhere (spend without a payment) is caught.
        store
            .write(|tx| store::offers::spend_budget(tx, c2, 5, 1_300))
            .unwrap();
        let l = ledger(&store).unwrap();
        assert!(
            l.reconciles(),
            "spend moves from held to spent: still balanced"
        );
        let mut out = Vec::new();
        crate::cli::ledger_cmd(&store, Some(10), &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("reconciles"), "{out}");
        assert!(out.contains("refund:ch3"), "{out}");
    }
}
