//! The engine's rules on a real SQLite file, with no simulator: each test
//! builds an offer, clicks and starts, then reports facts as the bot would.

use super::*;
use crate::domain::offer::{Caps, OfferStatus, PostbackSpec, PricePair, Target};
use crate::domain::payment::InvoicePayload;
use crate::domain::schedule::Schedule;
use crate::engine::{Decline, Paid, PaymentOutcome, Refunded, Verdict};
use crate::store::clicks::NewClick;
use crate::store::offers::NewOffer;

/// 2026-12-07 12:00 UTC, a Monday.
const MONDAY_NOON: i64 = 1_796_644_800;

struct World {
    _dir: tempfile::TempDir,
    engine: Engine,
    offer: OfferId,
    next_user: i64,
}

fn offer(action: Action) -> NewOffer {
    NewOffer {
        name: "test".into(),
        advertiser_id: None,
        action,
        target: Target {
            chat_id: Some(100),
            stars: (action == Action::StarsPayment).then_some(50),
            ..Default::default()
        },
        status: OfferStatus::Active,
        price: PricePair {
            regular: 5,
            premium: 10,
        },
        payout: "1".into(),
        currency: "USD".into(),
        caps: Caps::default(),
        schedule: Schedule::Always,
        timezone: "UTC".into(),
        hold_seconds: 3600,
        budget_total: None,
        postback: PostbackSpec::default(),
        relay_secret: None,
    }
}

impl World {
    fn new(o: NewOffer) -> World {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), 2).unwrap();
        let (waker, _inbox) = crate::postback::worker::channel();
        let offer = store
            .write(|tx| store::offers::insert_offer(tx, &o, MONDAY_NOON - 86400))
            .unwrap();
        World {
            _dir: dir,
            engine: Engine::new(store, waker),
            offer,
            next_user: 1000,
        }
    }

    /// A new user clicks at `at` and starts the bot right away.
    fn lead(&mut self, premium: bool, at: i64) -> (i64, LeadId) {
        self.next_user += 1;
        let user = self.next_user;
        let store = self.engine.store().clone();
        let uid = format!("u{user}");
        let click = store
            .write(|tx| {
                store::clicks::record_click(
                    tx,
                    &NewClick {
                        offer: self.offer,
                        uid: &uid,
                        subs: Default::default(),
                        ip: None,
                        user_agent: None,
                    },
                    at,
                    crate::domain::token::click_token,
                )
            })
            .unwrap();
        let u = TgUser {
            id: user,
            is_premium: premium,
            ..Default::default()
        };
        match self.engine.start(&click.token, &u, at).unwrap() {
            StartOutcome::Bound { lead, .. } => (user, lead.id),
            other => panic!("start: {other:?}"),
        }
    }

    fn offer_row(&self) -> Offer {
        self.engine
            .store()
            .read(|c| store::offers::get_offer(c, self.offer))
            .unwrap()
            .unwrap()
    }

    fn observe(&self, lead: LeadId, action: Action, at: i64) -> Conversion {
        self.engine
            .action_observed(lead, action, "test", at)
            .unwrap()
            .conversion()
            .clone()
    }
}

#[test]
fn the_last_stars_of_a_budget_pay_one_conversion_only() {
    // 12 Stars: one regular (5) and then no room for a Premium one (10).
    let mut o = offer(Action::JoinChannel);
    o.budget_total = Some(12);
    let mut w = World::new(o);
    let (_, a) = w.lead(false, MONDAY_NOON);
    let (_, b) = w.lead(true, MONDAY_NOON);
    let (_, c) = w.lead(false, MONDAY_NOON);
    let table = [
        (a, ConversionStatus::Hold, None, 5),
        (
            b,
            ConversionStatus::Rejected,
            Some(RejectReason::BudgetExhausted),
            5,
        ),
        (c, ConversionStatus::Hold, None, 10),
    ];
    for (lead, status, reason, spent) in table {
        let conv = w.observe(lead, Action::JoinChannel, MONDAY_NOON + 10);
        assert_eq!((conv.status, conv.reason), (status, reason));
        assert_eq!(w.offer_row().budget_spent, spent);
    }
    // Two decisions racing for the last 2 Stars (none left for a 5-Star one): both refused.
    let (_, d) = w.lead(false, MONDAY_NOON);
    assert_eq!(
        w.observe(d, Action::JoinChannel, MONDAY_NOON + 10).reason,
        Some(RejectReason::BudgetExhausted)
    );
    assert_eq!(w.offer_row().budget_spent, 10);
}

#[test]
fn an_undo_inside_the_hold_refunds_the_budget_and_after_it_does_not() {
    let mut o = offer(Action::Reaction);
    o.budget_total = Some(100);
    let mut w = World::new(o);
    let (_, inside) = w.lead(false, MONDAY_NOON);
    let (_, after) = w.lead(true, MONDAY_NOON);
    w.observe(inside, Action::Reaction, MONDAY_NOON);
    w.observe(after, Action::Reaction, MONDAY_NOON);
    assert_eq!(w.offer_row().budget_spent, 15);
    // Undone 59 minutes in: rejected, 5 Stars back.
    w.engine
        .action_seen(
            inside,
            Action::Reaction,
            false,
            "removed",
            MONDAY_NOON + 3540,
        )
        .unwrap();
    assert_eq!(w.offer_row().budget_spent, 10);
    // Undone after the window: it stands until the hold-end check (which then fails it).
    w.engine
        .action_seen(
            after,
            Action::Reaction,
            false,
            "removed",
            MONDAY_NOON + 3700,
        )
        .unwrap();
    assert_eq!(w.offer_row().budget_spent, 10);
    let conv = |lead| {
        w.engine
            .store()
            .read(|c| {
                let l = store::leads::get_lead(c, lead)?.unwrap();
                store::conversions::by_key(c, l.offer_id, l.tg_user_id, Action::Reaction)
            })
            .unwrap()
            .unwrap()
    };
    assert_eq!(conv(inside).reason, Some(RejectReason::Undone));
    assert_eq!(conv(after).status, ConversionStatus::Hold);
    // An undo of an already rejected conversion refunds nothing twice.
    w.engine
        .action_seen(inside, Action::Reaction, false, "again", MONDAY_NOON + 3600)
        .unwrap();
    assert_eq!(w.offer_row().budget_spent, 10);
    // The hold end's failed re-check rejects it and returns its 10 Stars.
    w.engine
        .hold_ended(
            conv(after).id,
            false,
            "undone after the window",
            MONDAY_NOON + 3800,
        )
        .unwrap();
    assert_eq!(conv(after).reason, Some(RejectReason::RecheckFailed));
    assert_eq!(w.offer_row().budget_spent, 0);
}

#[test]
fn caps_count_in_calendar_windows_of_the_offers_zone() {
    // Moscow is UTC+3: the local day starts at 21:00 UTC.
    let mut o = offer(Action::StartBot);
    o.caps = Caps {
        day: Some(1),
        hour: Some(5),
        ..Default::default()
    };
    o.timezone = "Europe/Moscow".into();
    o.action = Action::PollVote;
    let mut w = World::new(o);
    let evening = MONDAY_NOON + 8 * 3600 + 59 * 60; // 20:59 UTC = 23:59 Moscow
    let table = [
        (evening, ConversionStatus::Hold, None),
        // Same local day, one minute... later is the next day in Moscow: a new window.
        (evening + 60, ConversionStatus::Hold, None),
        (
            evening + 120,
            ConversionStatus::Rejected,
            Some(RejectReason::CapDay),
        ),
    ];
    for (at, status, reason) in table {
        let (_, lead) = w.lead(false, at);
        let c = w.observe(lead, Action::PollVote, at);
        assert_eq!((c.status, c.reason), (status, reason), "at {at}");
    }
}

#[test]
fn premium_is_read_when_the_conversion_is_decided() {
    let mut w = World::new(offer(Action::Reaction));
    // Started as a regular user, Premium by the time of the action: Premium price.
    let (user, lead) = w.lead(false, MONDAY_NOON);
    w.engine
        .user_seen(
            &TgUser {
                id: user,
                is_premium: true,
                ..Default::default()
            },
            MONDAY_NOON + 5,
        )
        .unwrap();
    let c = w.observe(lead, Action::Reaction, MONDAY_NOON + 10);
    assert_eq!((c.price, c.is_premium), (10, true));
    // And the other way round.
    let (user, lead) = w.lead(true, MONDAY_NOON);
    w.engine
        .user_seen(
            &TgUser {
                id: user,
                is_premium: false,
                ..Default::default()
            },
            MONDAY_NOON + 5,
        )
        .unwrap();
    let c = w.observe(lead, Action::Reaction, MONDAY_NOON + 10);
    assert_eq!((c.price, c.is_premium), (5, false));
}

#[test]
fn a_join_counts_only_after_the_click_and_a_repeat_changes_nothing() {
    let mut w = World::new(offer(Action::JoinChannel));
    let (_, before) = w.lead(false, MONDAY_NOON);
    let (_, after) = w.lead(false, MONDAY_NOON);
    let (_, same_second) = w.lead(false, MONDAY_NOON);
    let out = |lead, since| {
        w.engine
            .membership_seen(lead, since, "test", MONDAY_NOON + 60)
            .unwrap()
    };
    assert_eq!(
        out(before, Some(MONDAY_NOON - 100)).conversion().reason,
        Some(RejectReason::AlreadyDone)
    );
    assert_eq!(
        out(after, Some(MONDAY_NOON + 30)).conversion().status,
        ConversionStatus::Hold
    );
    // The click's own second counts: "strictly after" is the task card's reading (it passes since - 1).
    assert_eq!(
        out(same_second, Some(MONDAY_NOON)).conversion().status,
        ConversionStatus::Hold
    );
    assert!(matches!(
        out(after, Some(MONDAY_NOON + 30)),
        ActionOutcome::AlreadyDecided(_)
    ));
    // Reconciliation ignores old memberships instead of rejecting.
    let (_, old) = w.lead(false, MONDAY_NOON);
    assert_eq!(
        w.engine
            .missed_join_seen(old, Some(MONDAY_NOON - 5), "sweep", MONDAY_NOON + 60)
            .unwrap(),
        None
    );
}

#[test]
fn a_task_payment_that_no_longer_counts_asks_for_a_refund() {
    let mut o = offer(Action::StarsPayment);
    o.caps.total = Some(1);
    o.hold_seconds = 0;
    let mut w = World::new(o);
    let (u1, l1) = w.lead(false, MONDAY_NOON);
    let (u2, l2) = w.lead(false, MONDAY_NOON);
    let payload = |l: LeadId| InvoicePayload::Task { lead: l.0 }.encode().into_bytes();
    let min = |_| PricePair {
        regular: 0,
        premium: 0,
    };
    // Both pre-checkouts pass: the cap is not reached yet.
    for (u, l) in [(u1, l1), (u2, l2)] {
        assert_eq!(
            w.engine
                .precheckout(u, &payload(l), "XTR", 50, min, MONDAY_NOON)
                .unwrap(),
            Verdict::Accept
        );
    }
    // Someone else's lead, a wrong amount: declined.
    assert_eq!(
        w.engine
            .precheckout(u2, &payload(l1), "XTR", 50, min, MONDAY_NOON)
            .unwrap(),
        Verdict::Decline(Decline::UnknownInvoice)
    );
    assert_eq!(
        w.engine
            .precheckout(u1, &payload(l1), "XTR", 49, min, MONDAY_NOON)
            .unwrap(),
        Verdict::Decline(Decline::AmountChanged)
    );
    let pay = |u, l, charge: &str| {
        w.engine
            .payment_received(
                &Paid {
                    user: u,
                    payload: &payload(l),
                    currency: "XTR",
                    amount: 50,
                    charge_id: charge,
                },
                MONDAY_NOON + 1,
            )
            .unwrap()
    };
    let first = pay(u1, l1, "ch1");
    assert!(
        matches!(&first, PaymentOutcome::Task { outcome, .. } if outcome.conversion().status == ConversionStatus::Approved)
    );
    assert_eq!(pay(u1, l1, "ch1"), PaymentOutcome::Repeat);
    // The second payment lands after the cap closed: rejected, so the bot must refund it.
    match pay(u2, l2, "ch2") {
        PaymentOutcome::Task { outcome, .. } => {
            assert_eq!(outcome.conversion().reason, Some(RejectReason::CapTotal))
        }
        other => panic!("{other:?}"),
    }
    // A pre-checkout now declines with the reason.
    let (u3, l3) = w.lead(false, MONDAY_NOON);
    assert_eq!(
        w.engine
            .precheckout(u3, &payload(l3), "XTR", 50, min, MONDAY_NOON + 2)
            .unwrap(),
        Verdict::Decline(Decline::WouldReject(RejectReason::CapTotal))
    );
    assert!(!w.engine.refunded("ch2").unwrap());
    w.engine
        .refund_recorded(
            &Refunded {
                user: u2,
                offer: Some(w.offer),
                lead: Some(l2),
                charge_id: "ch2",
                amount: 50,
                why: "cap",
            },
            MONDAY_NOON + 3,
        )
        .unwrap();
    assert!(w.engine.refunded("ch2").unwrap());
}

#[test]
fn blocking_the_bot_rejects_holds_and_returns_their_stars() {
    let mut o = offer(Action::StartBot);
    o.budget_total = Some(100);
    let mut w = World::new(o);
    let (user, _) = w.lead(false, MONDAY_NOON);
    assert_eq!(w.offer_row().budget_spent, 5);
    assert_eq!(
        w.engine
            .bot_stopped(user, true, MONDAY_NOON + 5, MONDAY_NOON + 5)
            .unwrap(),
        1
    );
    assert_eq!(w.offer_row().budget_spent, 0);
    // The repeat finds nothing left in hold.
    assert_eq!(
        w.engine
            .bot_stopped(user, true, MONDAY_NOON + 5, MONDAY_NOON + 6)
            .unwrap(),
        0
    );
}
