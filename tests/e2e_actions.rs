//! End to end, every other action of the catalog, through the real daemon,
//! the real grammers client and tgsim.

mod common;

use common::*;
use tgsim::{
    AdminRights, ButtonKind, ChatSpec, JoinOutcome, ObservedMedia, PaymentOutcome, PeerKey,
    UserSpec,
};
use tgtrack::domain::offer::{Action, ChatKind, ConversionStatus, PollSpec, Target};
use tgtrack::domain::relay;

fn start(w: &World, offer: tgtrack::store::OfferId, user: i64, uid: &str) {
    let token = w.click(offer, uid);
    w.sim.user_start_bot(user, Some(&token)).unwrap();
}

fn url_buttons(m: &tgsim::ObservedMessage) -> Vec<String> {
    m.buttons
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            ButtonKind::Url(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

fn media_message(
    w: &World,
    user: i64,
    pick: impl Fn(&ObservedMedia) -> bool,
) -> tgsim::ObservedMessage {
    assert!(
        w.sim.wait_for(
            |o| o
                .messages
                .iter()
                .any(|m| m.peer == PeerKey::User(user) && m.media.as_ref().is_some_and(&pick)),
            WAIT
        ),
        "no such media sent"
    );
    w.sim
        .sent_to(user)
        .into_iter()
        .find(|m| m.media.as_ref().is_some_and(&pick))
        .unwrap()
}

#[test]
fn join_request_approves_only_the_attributed_user() {
    let w = World::new();
    let ch = w.sim.add_supergroup(ChatSpec::new("Private club")).unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    // A private chat has no @username: the bot knows it only from an update it
    // saw there (here a member's message), which caches its access hash.
    let member = w.sim.add_user(UserSpec::new("Member")).unwrap();
    w.sim.add_member(ch, member).unwrap();
    w.sim.send_group_message(ch, member, "hello").unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Supergroup),
        title: Some("Private club".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::JoinRequest, target, |_| {});
    let ann = w.sim.add_user(UserSpec::new("Ann")).unwrap();
    let mallory = w.sim.add_user(UserSpec::new("Mallory")).unwrap();
    start(&w, offer, ann, "c-ann");
    let card = w.wait_message(ann, "request to join");
    let link = url_buttons(&card)
        .into_iter()
        .next()
        .expect("invite link button");
    let inv = w
        .sim
        .invite_links()
        .into_iter()
        .find(|i| i.link == link)
        .expect("the bot created the link");
    assert!(inv.request_needed && inv.expire_date.is_some());

    // Someone else using Ann's link is declined.
    assert_eq!(
        w.sim.user_join_via_link(mallory, &link).unwrap(),
        JoinOutcome::Requested
    );
    assert!(w.sim.wait_for(
        |o| o
            .join_request_decisions
            .iter()
            .any(|d| d.user_id == mallory && !d.approved),
        WAIT
    ));
    assert!(!w.sim.is_member(ch, mallory));

    assert_eq!(
        w.sim.user_join_via_link(ann, &link).unwrap(),
        JoinOutcome::Requested
    );
    assert!(w.sim.wait_for(
        |o| o
            .join_request_decisions
            .iter()
            .any(|d| d.user_id == ann && d.approved),
        WAIT
    ));
    w.wait_status(offer, ann, Action::JoinRequest, ConversionStatus::Hold);
    assert!(w.sim.is_member(ch, ann));
}

/// A channel with a linked discussion group (the bot admin of both) and one
/// post; returns (channel, group, post, the comment offer's target).
fn blog(w: &World, name: &str) -> (i64, i64, i32, Target) {
    let ch = w
        .sim
        .add_channel(ChatSpec::new(name).username(name))
        .unwrap();
    let group = w
        .sim
        .add_supergroup(ChatSpec::new(&format!("{name} chat")))
        .unwrap();
    w.sim.link_discussion(ch, group).unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    w.sim.set_bot_admin(group, AdminRights::all()).unwrap();
    let post = w.sim.post_to_channel(ch, "Big news").unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some(name.into()),
        msg_id: Some(post),
        discussion_chat_id: Some(group),
        ..Default::default()
    };
    (ch, group, post, target)
}

#[test]
fn comment_under_the_right_post_counts() {
    let w = World::new();
    let (ch, group, post, target) = blog(&w, "blog");
    let other_post = w.sim.post_to_channel(ch, "Old news").unwrap();
    let offer = w.offer(Action::Comment, target, |_| {});
    let ivy = w.sim.add_user(UserSpec::new("Ivy")).unwrap();
    start(&w, offer, ivy, "c-ivy");
    let card = w.wait_message(ivy, "comment under the post");
    assert!(url_buttons(&card).contains(&format!("https://t.me/blog/{post}?comment=1")));

    // A comment under another post does not count.
    w.sim.user_comment(ivy, ch, other_post, "hi").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(
        w.conversion(offer, ivy, Action::Comment).unwrap().status,
        ConversionStatus::Lead
    );

    let comment = w.sim.user_comment(ivy, ch, post, "great post").unwrap();
    w.wait_status(offer, ivy, Action::Comment, ConversionStatus::Hold);

    // Deleting the comment inside the hold window takes it back.
    w.sim.user_delete_message(ivy, group, comment).unwrap();
    let c = w.wait_status(offer, ivy, Action::Comment, ConversionStatus::Rejected);
    assert_eq!(c.reason.map(|r| r.as_str()), Some("undone"));
}

#[test]
fn a_comment_deleted_unseen_fails_the_hold_end_recheck() {
    // If the deletion update is lost, the re-check at hold end (channels.getMessages) catches it.
    let w = World::new();
    let (ch, group, post, target) = blog(&w, "blog2");
    let offer = w.offer(Action::Comment, target, |_| {});
    let (uma, vic) = (
        w.sim.add_user(UserSpec::new("Uma")).unwrap(),
        w.sim.add_user(UserSpec::new("Vic")).unwrap(),
    );
    start(&w, offer, uma, "c-uma");
    start(&w, offer, vic, "c-vic");
    w.wait_message(uma, "comment under the post");
    w.wait_message(vic, "comment under the post");
    let cu = w.sim.user_comment(uma, ch, post, "one").unwrap();
    w.sim.user_comment(vic, ch, post, "two").unwrap();
    w.wait_status(offer, uma, Action::Comment, ConversionStatus::Hold);
    w.wait_status(offer, vic, Action::Comment, ConversionStatus::Hold);
    w.sim.drop_next_push();
    w.sim.user_delete_message(uma, group, cu).unwrap();
    w.pass_hold(3601);
    assert_eq!(
        w.wait_status(offer, uma, Action::Comment, ConversionStatus::Rejected)
            .reason
            .map(|r| r.as_str()),
        Some("recheck_failed")
    );
    w.wait_status(offer, vic, Action::Comment, ConversionStatus::Approved);
}

/// A public supergroup (the bot an admin) with one member's message; returns
/// (group, message, the reaction offer's target).
fn group_message(w: &World, name: &str) -> (i64, i32, Target) {
    let group = w
        .sim
        .add_supergroup(ChatSpec::new(name).username(name))
        .unwrap();
    w.sim.set_bot_admin(group, AdminRights::all()).unwrap();
    let poster = w.sim.add_user(UserSpec::new("Poster")).unwrap();
    w.sim.add_member(group, poster).unwrap();
    let msg = w
        .sim
        .send_group_message(group, poster, "react to me")
        .unwrap();
    let target = Target {
        chat_id: Some(group),
        chat_kind: Some(ChatKind::Supergroup),
        username: Some(name.into()),
        msg_id: Some(msg),
        ..Default::default()
    };
    (group, msg, target)
}

#[test]
fn reaction_in_a_group_counts_and_unreacting_rejects() {
    let w = World::new();
    let (group, msg, target) = group_message(&w, "chatgrp");
    let offer = w.offer(Action::Reaction, target, |_| {});
    let jay = w.sim.add_user(UserSpec::new("Jay")).unwrap();
    w.sim.add_member(group, jay).unwrap();
    start(&w, offer, jay, "c-jay");
    w.wait_message(jay, "react to the message");
    w.sim.user_react(jay, group, msg, "👍").unwrap();
    w.wait_status(offer, jay, Action::Reaction, ConversionStatus::Hold);
    w.sim.user_unreact(jay, group, msg).unwrap();
    let c = w.wait_status(offer, jay, Action::Reaction, ConversionStatus::Rejected);
    assert_eq!(c.reason.map(|r| r.as_str()), Some("undone"));
}

#[test]
fn poll_vote_on_the_bots_poll() {
    let w = World::new();
    let poll = PollSpec {
        question: "Best fruit?".into(),
        options: vec!["Apple".into(), "Pear".into()],
    };
    let target = Target {
        chat_kind: Some(ChatKind::BotChat),
        poll: Some(poll),
        ..Default::default()
    };
    let offer = w.offer(Action::PollVote, target, |_| {});
    let kim = w.sim.add_user(UserSpec::new("Kim")).unwrap();
    start(&w, offer, kim, "c-kim");
    let m = media_message(&w, kim, |m| matches!(m, ObservedMedia::Poll { .. }));
    if let Some(ObservedMedia::Poll { anonymous, .. }) = &m.media {
        assert!(!anonymous, "votes are only attributable in public polls");
    }
    w.sim.user_vote(kim, None, m.msg_id, &[1]).unwrap();
    w.wait_status(offer, kim, Action::PollVote, ConversionStatus::Hold);
}

#[test]
fn starting_the_bot_is_the_action() {
    let w = World::new();
    let offer = w.offer(Action::StartBot, Target::default(), |o| o.hold_seconds = 60);
    let leo = w.sim.add_user(UserSpec::new("Leo")).unwrap();
    start(&w, offer, leo, "c-leo");
    w.wait_message(leo, "Your action counts");
    w.wait_status(offer, leo, Action::StartBot, ConversionStatus::Hold);
    w.pass_hold(61);
    w.wait_status(offer, leo, Action::StartBot, ConversionStatus::Approved);
}

#[test]
fn blocking_the_bot_inside_the_hold_rejects() {
    let w = World::new();
    let offer = w.offer(Action::StartBot, Target::default(), |o| {
        o.hold_seconds = 600
    });
    let mia = w.sim.add_user(UserSpec::new("Mia")).unwrap();
    start(&w, offer, mia, "c-mia");
    w.wait_status(offer, mia, Action::StartBot, ConversionStatus::Hold);
    w.sim.user_block_bot(mia).unwrap();
    let c = w.wait_status(offer, mia, Action::StartBot, ConversionStatus::Rejected);
    assert_eq!(c.reason.map(|r| r.as_str()), Some("blocked_bot"));
}

#[test]
fn stars_invoice_is_paid_and_counted() {
    let w = World::new();
    let target = Target {
        chat_kind: Some(ChatKind::BotChat),
        stars: Some(25),
        ..Default::default()
    };
    let offer = w.offer(Action::StarsPayment, target, |o| o.hold_seconds = 0);
    let ned = w.sim.add_user(UserSpec::new("Ned")).unwrap();
    start(&w, offer, ned, "c-ned");
    let m = media_message(
        &w,
        ned,
        |m| matches!(m, ObservedMedia::Invoice { currency, amount: 25, .. } if currency == "XTR"),
    );
    let pay = w.sim.user_pay_invoice(ned, m.msg_id).unwrap();
    assert!(matches!(
        w.sim.wait_payment(pay, WAIT),
        Some(PaymentOutcome::Paid { .. })
    ));
    let c = w.wait_status(offer, ned, Action::StarsPayment, ConversionStatus::Approved);
    assert_eq!(c.price, 5);
    assert!(w
        .receiver
        .wait_for(|h| h.contains("cid=c-ned") && h.contains("status=approved")));
}

#[test]
fn precheckout_is_declined_when_the_cap_is_reached() {
    let w = World::new();
    let target = Target {
        chat_kind: Some(ChatKind::BotChat),
        stars: Some(10),
        ..Default::default()
    };
    let offer = w.offer(Action::StarsPayment, target, |o| {
        o.hold_seconds = 0;
        o.caps.total = Some(1);
    });
    let (olga, pete) = (
        w.sim.add_user(UserSpec::new("Olga")).unwrap(),
        w.sim.add_user(UserSpec::new("Pete")).unwrap(),
    );
    start(&w, offer, olga, "c-olga");
    start(&w, offer, pete, "c-pete");
    let inv_o = media_message(&w, olga, |m| matches!(m, ObservedMedia::Invoice { .. }));
    let inv_p = media_message(&w, pete, |m| matches!(m, ObservedMedia::Invoice { .. }));
    let pay = w.sim.user_pay_invoice(olga, inv_o.msg_id).unwrap();
    assert!(matches!(
        w.sim.wait_payment(pay, WAIT),
        Some(PaymentOutcome::Paid { .. })
    ));
    w.wait_status(
        offer,
        olga,
        Action::StarsPayment,
        ConversionStatus::Approved,
    );
    // The cap is now used up: Pete's payment is declined before he is charged.
    let pay = w.sim.user_pay_invoice(pete, inv_p.msg_id).unwrap();
    match w.sim.wait_payment(pay, WAIT) {
        Some(PaymentOutcome::Declined { error }) => assert!(error.contains("limit"), "{error}"),
        other => panic!("expected a decline, got {other:?}"),
    }
    assert!(w
        .sim
        .precheckout_answers()
        .iter()
        .any(|a| a.user_id == pete && !a.ok));
}

#[test]
fn paid_media_purchase_counts() {
    let w = World::new();
    let target = Target {
        chat_kind: Some(ChatKind::BotChat),
        stars: Some(30),
        url: Some("https://example.com/teaser.jpg".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::PaidMedia, target, |o| o.hold_seconds = 0);
    let quinn = w.sim.add_user(UserSpec::new("Quinn")).unwrap();
    start(&w, offer, quinn, "c-quinn");
    let m = media_message(&w, quinn, |m| matches!(m, ObservedMedia::PaidMedia { .. }));
    w.sim.user_buy_paid_media(quinn, m.msg_id).unwrap();
    w.wait_status(offer, quinn, Action::PaidMedia, ConversionStatus::Approved);
}

#[test]
fn boost_counts_with_premium_price() {
    let w = World::new();
    let ch = w
        .sim
        .add_channel(ChatSpec::new("Boost me").username("boostme"))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let target = Target {
        chat_id: Some(ch),
        chat_kind: Some(ChatKind::Channel),
        username: Some("boostme".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::Boost, target, |_| {});
    let rita = w.sim.add_user(UserSpec::new("Rita").premium(true)).unwrap();
    start(&w, offer, rita, "c-rita");
    w.wait_message(rita, "boost @boostme");
    w.sim.user_boost(rita, ch).unwrap();
    let c = w.wait_status(offer, rita, Action::Boost, ConversionStatus::Hold);
    assert!(c.is_premium);
    assert_eq!(c.price, 10, "Premium users are paid at the Premium price");
}

#[test]
fn share_link_visit_counts() {
    let w = World::new();
    let target = Target {
        url: Some("https://example.com/landing".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::Share, target, |o| o.hold_seconds = 0);
    let sam = w.sim.add_user(UserSpec::new("Sam")).unwrap();
    start(&w, offer, sam, "c-sam");
    let card = w.wait_message(sam, "/s/");
    assert!(
        url_buttons(&card)
            .iter()
            .any(|u| u.starts_with("https://t.me/share/url?url=")),
        "the button shares, it does not visit"
    );
    let link = card
        .text
        .split_whitespace()
        .find(|w| w.contains("/s/"))
        .unwrap()
        .to_string();
    let path = &link[link.find("/s/").unwrap()..];
    // Telegram's link preview fetches the link when it is pasted: redirected, not counted.
    let (status, _) = http_get_as(w.daemon().addr, path, "TelegramBot (like TwitterBot)");
    assert_eq!(status, 302);
    let visits = w
        .store()
        .read(|c| {
            Ok::<_, tgtrack::store::StoreError>(c.query_row(
                "SELECT count(*) FROM share_visits",
                [],
                |r| r.get::<_, i64>(0),
            )?)
        })
        .unwrap();
    assert_eq!(visits, 0, "a link preview is not a visitor");
    let (status, location) = http_get(w.daemon().addr, path);
    assert_eq!(
        (status, location.as_deref()),
        (302, Some("https://example.com/landing"))
    );
    w.wait_status(offer, sam, Action::Share, ConversionStatus::Approved);
}

#[test]
fn relay_good_bad_and_replayed_signatures() {
    let w = World::new();
    let target = Target {
        url: Some("https://t.me/partner_bot".into()),
        ..Default::default()
    };
    let offer = w.offer(Action::ThirdPartyBot, target, |o| o.hold_seconds = 0);
    let tom = w.sim.add_user(UserSpec::new("Tom")).unwrap();
    let token = w.click(offer, "c-tom");
    w.sim.user_start_bot(tom, Some(&token)).unwrap();
    let card = w.wait_message(tom, "open");
    assert!(url_buttons(&card).contains(&format!("https://t.me/partner_bot?start={token}")));

    let addr = w.daemon().addr;
    let post = |body: &str, secret: &str, ts: i64| {
        let sig = relay::sign(secret, ts, body.as_bytes());
        http_post(
            addr,
            "/postbacks/relay",
            &[
                ("X-Tgtrack-Timestamp", ts.to_string()),
                ("X-Tgtrack-Signature", sig),
            ],
            body.as_bytes(),
        )
    };
    let now = w.clock.now();
    let body = format!(r#"{{"offer_id":{offer},"event_id":"ev-1","start_token":"{token}"}}"#);
    assert_eq!(post(&body, "wrong-secret", now).0, 401);
    assert_eq!(
        post(&body, "relay-secret", now - 3600).0,
        401,
        "stale timestamp"
    );
    let (status, answer) = post(&body, "relay-secret", now);
    assert_eq!(status, 200, "{answer}");
    assert!(
        answer.contains("\"conversion_status\":\"approved\""),
        "{answer}"
    );
    assert_eq!(
        post(&body, "relay-secret", now).0,
        409,
        "a replayed event id"
    );
    let unknown = format!(r#"{{"offer_id":{offer},"event_id":"ev-2","tg_user_id":424242}}"#);
    assert_eq!(post(&unknown, "relay-secret", now).0, 422);
    assert_eq!(post("{not json", "relay-secret", now).0, 400);
    w.wait_status(
        offer,
        tom,
        Action::ThirdPartyBot,
        ConversionStatus::Approved,
    );
}

#[test]
fn caps_schedule_and_budget_reject_with_reasons() {
    let w = World::new();
    let mk = |f: &dyn Fn(&mut tgtrack::store::offers::NewOffer)| {
        w.offer(Action::StartBot, Target::default(), |o| {
            o.hold_seconds = 600;
            f(o)
        })
    };
    let capped = mk(&|o| o.caps.total = Some(1));
    let closed = mk(&|o| o.schedule = tgtrack::domain::schedule::Schedule::Grid([0; 7]));
    // 12 Stars: a regular user's 5 leave 7, which cannot pay a Premium user's 10.
    // (With less left than the cheapest price the campaign would pause itself.)
    let poor = mk(&|o| o.budget_total = Some(12));
    let users: Vec<i64> = (0..4)
        .map(|i| {
            w.sim
                .add_user(UserSpec::new(&format!("U{i}")).premium(i == 3))
                .unwrap()
        })
        .collect();
    start(&w, capped, users[0], "cap-0");
    w.wait_status(capped, users[0], Action::StartBot, ConversionStatus::Hold);
    start(&w, capped, users[1], "cap-1");
    assert_eq!(
        w.wait_status(
            capped,
            users[1],
            Action::StartBot,
            ConversionStatus::Rejected
        )
        .reason
        .map(|r| r.as_str()),
        Some("cap_total")
    );
    start(&w, closed, users[2], "closed-0");
    assert_eq!(
        w.wait_status(
            closed,
            users[2],
            Action::StartBot,
            ConversionStatus::Rejected
        )
        .reason
        .map(|r| r.as_str()),
        Some("out_of_schedule")
    );
    start(&w, poor, users[0], "poor-0");
    w.wait_status(poor, users[0], Action::StartBot, ConversionStatus::Hold);
    start(&w, poor, users[3], "poor-1");
    assert_eq!(
        w.wait_status(poor, users[3], Action::StartBot, ConversionStatus::Rejected)
            .reason
            .map(|r| r.as_str()),
        Some("budget_exhausted")
    );
    w.wait_message(users[3], "budget");
}

#[test]
fn nobody_pays_for_a_task_that_does_not_count() {
    // Two users race for the last slot: whoever loses is either declined at
    // pre-checkout (never charged) or, if both pre-checkouts passed, refunded.
    let w = World::new();
    let target = Target {
        chat_kind: Some(ChatKind::BotChat),
        stars: Some(10),
        ..Default::default()
    };
    let offer = w.offer(Action::StarsPayment, target, |o| {
        o.hold_seconds = 0;
        o.caps.total = Some(1);
    });
    let users: Vec<i64> = (0..2)
        .map(|i| w.sim.add_user(UserSpec::new(&format!("Payer{i}"))).unwrap())
        .collect();
    for (i, u) in users.iter().enumerate() {
        start(&w, offer, *u, &format!("race-{i}"));
    }
    let invoices: Vec<i32> = users
        .iter()
        .map(|u| media_message(&w, *u, |m| matches!(m, ObservedMedia::Invoice { .. })).msg_id)
        .collect();
    let pays: Vec<i64> = users
        .iter()
        .zip(&invoices)
        .map(|(u, m)| w.sim.user_pay_invoice(*u, *m).unwrap())
        .collect();
    let outcomes: Vec<_> = pays.iter().map(|p| w.sim.wait_payment(*p, WAIT)).collect();
    let mut approved = 0;
    for (u, outcome) in users.iter().zip(&outcomes) {
        match outcome {
            Some(PaymentOutcome::Declined { .. }) => {}
            Some(PaymentOutcome::Paid { charge_id }) => {
                let status = wait_until(|| {
                    w.conversion(offer, *u, Action::StarsPayment)
                        .is_some_and(|c| c.status != ConversionStatus::Lead)
                });
                assert!(status);
                match w
                    .conversion(offer, *u, Action::StarsPayment)
                    .unwrap()
                    .status
                {
                    ConversionStatus::Approved => approved += 1,
                    ConversionStatus::Rejected => assert!(
                        w.sim.wait_for(
                            |o| o.refunds.iter().any(|r| &r.charge_id == charge_id),
                            WAIT
                        ),
                        "a paid but rejected task must be refunded"
                    ),
                    s => panic!("unexpected {s}"),
                }
            }
            other => panic!("payment of user {u}: {other:?}"),
        }
    }
    assert_eq!(approved, 1, "exactly one user gets the last slot");
    eprintln!(
        "race outcomes: {outcomes:?}; refunds: {:?}",
        w.sim.observations().refunds
    );
}

#[test]
fn relay_is_refused_for_offers_telegram_verifies() {
    let w = World::new();
    let offer = w.offer(Action::StartBot, Target::default(), |_| {});
    let body = format!(r#"{{"offer_id":{offer},"event_id":"x","tg_user_id":1}}"#);
    let now = w.clock.now();
    let sig = relay::sign("relay-secret", now, body.as_bytes());
    let (status, text) = http_post(
        w.daemon().addr,
        "/postbacks/relay",
        &[
            ("X-Tgtrack-Timestamp", now.to_string()),
            ("X-Tgtrack-Signature", sig),
        ],
        body.as_bytes(),
    );
    assert_eq!(status, 422, "{text}");
}

#[test]
fn an_undo_after_the_window_but_before_the_check_fails_it() {
    // The scheduler runs only when poked, so the undo lands between the end of
    // the window and the sweep deterministically.
    let w = World::with_tick(std::time::Duration::from_secs(3600));
    let (group, msg, target) = group_message(&w, "lategrp");
    let offer = w.offer(Action::Reaction, target, |o| o.hold_seconds = 600);
    let wes = w.sim.add_user(UserSpec::new("Wes")).unwrap();
    w.sim.add_member(group, wes).unwrap();
    start(&w, offer, wes, "c-wes");
    w.wait_message(wes, "react to the message");
    w.sim.user_react(wes, group, msg, "👍").unwrap();
    w.wait_status(offer, wes, Action::Reaction, ConversionStatus::Hold);
    w.clock.advance(601);
    w.sim.user_unreact(wes, group, msg).unwrap();
    let recorded = wait_until(|| {
        w.store()
            .read(|c| {
                tgtrack::store::audit::has_entry(
                    c,
                    w.conversion(offer, wes, Action::Reaction).unwrap().id,
                    "undone",
                )
            })
            .unwrap()
    });
    assert!(recorded);
    w.daemon().poke_scheduler();
    assert_eq!(
        w.wait_status(offer, wes, Action::Reaction, ConversionStatus::Rejected)
            .reason
            .map(|r| r.as_str()),
        Some("recheck_failed")
    );
}

#[test]
fn reaction_on_a_post_counts_on_its_discussion_copy() {
    // Channel reactions are anonymous; the offer asks for one on the post's copy
    // in the linked group, where the bot (an admin) sees who reacted.
    let w = World::new();
    let (ch, group, post, target) = blog(&w, "reactblog");
    let offer = w.offer(Action::Reaction, target, |_| {});
    let xia = w.sim.add_user(UserSpec::new("Xia")).unwrap();
    w.sim.add_member(group, xia).unwrap();
    start(&w, offer, xia, "c-xia");
    w.wait_message(xia, "react to the message");
    let copy = w
        .sim
        .discussion_copy(ch, post)
        .expect("the post was forwarded to the group");
    w.sim.user_react(xia, group, copy, "🔥").unwrap();
    w.wait_status(offer, xia, Action::Reaction, ConversionStatus::Hold);
}
