//! End to end, /statistic: figures against a scripted scenario with known
//! counts, the chart and CSV files as the bot sent them (decoded here), and
//! advertisers kept apart, through the real daemon, grammers and tgsim.

mod common;

use common::*;
use tgsim::{AdminRights, ButtonKind, ChatSpec, UserSpec};
use tgtrack::domain::offer::{Action, Caps, ChatKind, ConversionStatus, Target};
use tgtrack::store;

fn channel(w: &World, name: &str) -> (i64, Target) {
    let ch = w
        .sim
        .add_channel(ChatSpec::new("News").username(name))
        .unwrap();
    w.sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    (
        ch,
        Target {
            chat_id: Some(ch),
            chat_kind: Some(ChatKind::Channel),
            username: Some(name.into()),
            ..Default::default()
        },
    )
}

fn labels(m: &tgsim::ObservedMessage) -> Vec<String> {
    m.buttons.iter().flatten().map(|b| b.text.clone()).collect()
}

fn callback_data(m: &tgsim::ObservedMessage) -> Vec<Vec<u8>> {
    m.buttons
        .iter()
        .flatten()
        .filter_map(|b| match &b.kind {
            ButtonKind::Callback(d) => Some(d.clone()),
            _ => None,
        })
        .collect()
}

/// Presses the button labelled `label` on the newest message to `user` that has it.
fn press(w: &World, user: i64, label: &str) -> i64 {
    let m = w
        .sim
        .sent_to(user)
        .into_iter()
        .rev()
        .find(|m| labels(m).iter().any(|l| l == label))
        .unwrap_or_else(|| panic!("no button {label:?} for user {user}"));
    w.sim
        .user_press_button_labelled(user, None, m.msg_id, label)
        .unwrap()
}

fn wait_file(w: &World, user: i64, name_part: &str) -> tgsim::files::SentFile {
    assert!(
        wait_until(|| w
            .sim
            .files_sent_to(user)
            .iter()
            .any(|f| f.file_name.contains(name_part))),
        "no file {name_part:?} sent to {user}: {:?}",
        w.sim
            .files_sent_to(user)
            .iter()
            .map(|f| &f.file_name)
            .collect::<Vec<_>>()
    );
    w.sim
        .files_sent_to(user)
        .into_iter()
        .rev()
        .find(|f| f.file_name.contains(name_part))
        .unwrap()
}

/// The block of the figures message for one window ("All time", "30 days").
fn block<'a>(text: &'a str, window: &str) -> &'a str {
    let start = text.find(&format!("📅 {window}\n")).expect("window block");
    let rest = &text[start..];
    let skip = "📅".len();
    let end = rest[skip..]
        .find("📅")
        .map(|e| e + skip)
        .unwrap_or(rest.len());
    &rest[..end]
}

#[test]
fn figures_chart_and_csv_match_a_scripted_campaign() {
    let w = World::new();
    let (ch, target) = channel(&w, "stats_news");
    let adv = w.sim.add_user(UserSpec::new("Ada").lang("en")).unwrap();
    let offer = w.offer(Action::JoinChannel, target, |o| {
        o.advertiser_id = Some(adv);
        o.caps = Caps {
            total: Some(2),
            ..Default::default()
        };
        o.budget_total = Some(100);
        o.name = "Stats news".into();
    });
    // 4 unique clicks, one of them clicked twice (5 hits), 4 bot starts.
    let users: Vec<i64> = (1..=4)
        .map(|i| {
            w.sim
                .add_user(UserSpec::new(&format!("U{i}")).lang("en"))
                .unwrap()
        })
        .collect();
    for (i, u) in users.iter().enumerate() {
        let uid = format!("net-{}", i + 1);
        let token = w.click(offer, &uid);
        if i == 0 {
            assert_eq!(
                w.click(offer, &uid),
                token,
                "a repeat click reuses its token"
            );
        }
        w.sim.user_start_bot(*u, Some(&token)).unwrap();
        assert!(wait_until(|| w
            .store()
            .read(|c| store::leads::lead_by_offer_user(c, offer, *u))
            .unwrap()
            .is_some()));
    }
    let a = Action::JoinChannel;
    // u1 and u2 join (hold, the cap of 2 is full); u2 leaves inside the hold
    // (rejected: undone, which frees a place); u3 joins (hold, the cap is hit);
    // u4 joins (rejected: cap_total).
    w.sim.user_join(users[0], ch).unwrap();
    w.wait_status(offer, users[0], a, ConversionStatus::Hold);
    w.sim.user_join(users[1], ch).unwrap();
    w.wait_status(offer, users[1], a, ConversionStatus::Hold);
    w.sim.user_leave(users[1], ch).unwrap();
    w.wait_status(offer, users[1], a, ConversionStatus::Rejected);
    w.sim.user_join(users[2], ch).unwrap();
    w.wait_status(offer, users[2], a, ConversionStatus::Hold);
    w.sim.user_join(users[3], ch).unwrap();
    let c4 = w.wait_status(offer, users[3], a, ConversionStatus::Rejected);
    assert_eq!(c4.reason.map(|r| r.as_str()), Some("cap_total"));
    // The hold ends: u1 and u3 are approved.
    w.pass_hold(3600 + 60);
    w.wait_status(offer, users[0], a, ConversionStatus::Approved);
    w.wait_status(offer, users[2], a, ConversionStatus::Approved);
    // Every postback delivered, so the figures are final.
    assert!(wait_until(|| w
        .store()
        .read(|c| -> Result<i64, store::StoreError> {
            Ok(c.query_row(
                "SELECT count(*) FROM postbacks WHERE state != 'delivered'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap()
        == 0));

    w.sim.user_send_text(adv, "/statistic").unwrap();
    let list = w.wait_message(adv, "Pick a campaign");
    assert_eq!(
        callback_data(&list),
        vec![format!("s:d:{offer}").into_bytes()]
    );
    press(&w, adv, &labels(&list)[0]);
    let fig = w.wait_message(adv, "📅 All time");
    let text = fig.text.clone();
    assert!(
        text.contains("Budget: spent 10 of 100 ⭐, left 90 ⭐"),
        "{text}"
    );
    assert!(text.contains("Caps: total 2/2"), "{text}");
    for window in ["30 days", "All time"] {
        let b = block(&text, window);
        assert!(
            b.contains("Clicks: 5 (unique 4) · bot starts: 4 · actions: 4"),
            "{b}"
        );
        assert!(b.contains("Hold: 0 · approved: 2 · rejected: 2"), "{b}");
        assert!(b.contains("Top rejections: cap_total 1, undone 1"), "{b}");
        assert!(
            b.contains("CR click→approved: 50.00% · Premium: 0% · spent: 10 ⭐"),
            "{b}"
        );
        assert!(b.contains("failed 0"), "{b}");
        assert!(b.contains("pending 0"), "{b}");
    }

    // The same figures as `tgtrack stats` for the same range: one implementation.
    let mut out = Vec::new();
    let day = chrono::DateTime::from_timestamp(w.clock.now(), 0)
        .unwrap()
        .format("%Y-%m-%d")
        .to_string();
    let args = tgtrack::cli::StatsArgs {
        offer: Some(offer.0),
        from: Some("2000-01-01".into()),
        to: Some(day),
        csv: true,
    };
    tgtrack::cli::stats_at(&w.store(), &args, w.clock.now(), &mut out).unwrap();
    let out = String::from_utf8(out).unwrap();
    let total = out.lines().find(|l| l.starts_with("total,")).unwrap();
    // day,offer_id,clicks,hits,leads,holds,approved,rejected,premium,spent_stars,...
    assert!(total.starts_with("total,,4,5,4,0,2,2,0,10,"), "{total}");

    // The chart: a PNG of the stated size, sent as a photo.
    press(&w, adv, "📈 Chart");
    let png = wait_file(&w, adv, "chart.png");
    assert_eq!(png.kind, "photo");
    let mut r = png::Decoder::new(std::io::Cursor::new(png.bytes.clone()))
        .read_info()
        .unwrap();
    let mut buf = vec![0; r.output_buffer_size()];
    let info = r.next_frame(&mut buf).unwrap();
    assert_eq!((info.width, info.height), (1080, 1350));
    if let Some(path) = std::env::var_os("TGTRACK_SAVE_CHART") {
        std::fs::write(path, &png.bytes).unwrap();
    }

    // Per-day CSV: 30 days, the totals add up.
    press(&w, adv, "📄 CSV by day");
    let days = wait_file(&w, adv, "days.csv");
    assert_eq!(days.kind, "document");
    let days = String::from_utf8(days.bytes.clone()).unwrap();
    let mut lines = days.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("day,clicks,unique_clicks,bot_starts"));
    let rows: Vec<Vec<i64>> = lines
        .map(|l| l.split(',').skip(1).map(|v| v.parse().unwrap()).collect())
        .collect();
    assert_eq!(rows.len(), 30);
    let sum = |i: usize| rows.iter().map(|r| r[i]).sum::<i64>();
    assert_eq!(
        (sum(0), sum(1), sum(2), sum(5), sum(6), sum(8)),
        (5, 4, 4, 2, 2, 10)
    );

    // Conversions CSV: one row per observed action, no Telegram user id.
    press(&w, adv, "📄 Conversions CSV");
    let conv = wait_file(&w, adv, "conversions.csv");
    let conv = String::from_utf8(conv.bytes.clone()).unwrap();
    if let Some(path) = std::env::var_os("TGTRACK_SAVE_CSV") {
        std::fs::write(path, &conv).unwrap();
    }
    let mut lines = conv.lines();
    let header = lines.next().unwrap();
    assert!(!header.contains("tg_user_id"), "{header}");
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 4, "{conv}");
    let status: Vec<(&str, &str, &str)> = rows.iter().map(|r| (r[1], r[2], r[3])).collect();
    assert_eq!(
        status,
        vec![
            ("net-1", "approved", ""),
            ("net-2", "rejected", "undone"),
            ("net-3", "approved", ""),
            ("net-4", "rejected", "cap_total")
        ]
    );
    for u in &users {
        assert!(!conv.contains(&u.to_string()), "user id {u} leaked: {conv}");
    }
}

#[test]
fn an_advertiser_never_sees_another_advertisers_campaign() {
    let w = World::new();
    let (_, target) = channel(&w, "kept_apart");
    let ada = w.sim.add_user(UserSpec::new("Ada").lang("en")).unwrap();
    let bob = w.sim.add_user(UserSpec::new("Bob").lang("en")).unwrap();
    let adas = w.offer(Action::JoinChannel, target.clone(), |o| {
        o.advertiser_id = Some(ada)
    });
    let bobs = w.offer(Action::JoinChannel, target, |o| o.advertiser_id = Some(bob));
    w.sim.user_send_text(bob, "/statistic").unwrap();
    let list = w.wait_message(bob, "Pick a campaign");
    assert_eq!(
        callback_data(&list),
        vec![format!("s:d:{bobs}").into_bytes()]
    );
    press(&w, bob, &labels(&list)[0]);
    w.wait_message(bob, "📅 All time");
    // Bob's buttons now name a campaign that is no longer his (as forged or
    // forwarded data would): every one of them is refused, and nothing is sent.
    w.store()
        .write(|tx| -> Result<usize, store::StoreError> {
            Ok(tx.execute(
                "UPDATE offers SET advertiser_id = ?1 WHERE id = ?2",
                rusqlite::params![ada, bobs],
            )?)
        })
        .unwrap();
    let before = w.sim.sent_to(bob).len();
    for label in ["📈 Chart", "📄 CSV by day", "📄 Conversions CSV"] {
        let q = press(&w, bob, label);
        let ans = w.sim.wait_callback_answer(q, WAIT).expect("answered");
        assert_eq!(
            ans.message.as_deref(),
            Some("Campaign not found."),
            "{label}"
        );
    }
    // The list's details button too.
    let q = w
        .sim
        .user_press_button(bob, list.msg_id, format!("s:d:{bobs}").as_bytes())
        .unwrap();
    assert_eq!(
        w.sim
            .wait_callback_answer(q, WAIT)
            .and_then(|a| a.message)
            .as_deref(),
        Some("Campaign not found.")
    );
    assert!(w.sim.files_sent_to(bob).is_empty());
    assert_eq!(
        w.sim.sent_to(bob).len(),
        before,
        "nothing more was sent to Bob"
    );
    // Bob's list is empty now; Ada's holds both.
    w.sim.user_send_text(ada, "/statistic").unwrap();
    let list = w.wait_message(ada, "Pick a campaign");
    let mut got = callback_data(&list);
    got.sort();
    let mut want = vec![
        format!("s:d:{adas}").into_bytes(),
        format!("s:d:{bobs}").into_bytes(),
    ];
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn admins_ledger_reconciles_after_payment_refund_and_spend() {
    use tgtrack::domain::payment::PaymentKind;
    let mut w = World::new();
    let admin = w.sim.add_user(UserSpec::new("Root").lang("en")).unwrap();
    let ada = w.sim.add_user(UserSpec::new("Ada").lang("en")).unwrap();
    w.stop_daemon();
    w.cfg.telegram.as_mut().unwrap().admins = vec![admin];
    w.start_daemon();
    let (_, target) = channel(&w, "ledger_news");
    let offer = w.offer(Action::JoinChannel, target, |o| {
        o.advertiser_id = Some(ada);
        o.budget_total = Some(90);
    });
    let pay = |kind: PaymentKind, amount: i64, charge: &str| {
        w.store()
            .write(|tx| {
                store::payments::record(
                    tx,
                    &store::payments::NewPayment {
                        tg_user_id: ada,
                        offer_id: Some(offer),
                        kind: kind.as_str(),
                        amount,
                        currency: "XTR",
                        payload: None,
                        charge_id: charge,
                        status: if amount > 0 { "paid" } else { "refunded" },
                    },
                    1,
                )
            })
            .unwrap();
    };
    pay(PaymentKind::CampaignBudget, 50, "c-1");
    pay(PaymentKind::CampaignBudget, 40, "c-2");
    pay(PaymentKind::Refund, -40, "refund:c-2");
    w.store()
        .write(|tx| store::offers::spend_budget(tx, offer, 15, 2))
        .unwrap();
    w.sim.user_send_text(ada, "/ledger").unwrap();
    w.wait_message(ada, "for administrators only");
    w.sim.user_send_text(admin, "/ledger").unwrap();
    let m = w.wait_message(admin, "Reconciles");
    assert!(
        m.text.contains(&format!(
            "{ada}: paid 90, refunded 40, spent 15, balance 35 (in campaigns 35, credit 0)"
        )),
        "{}",
        m.text
    );
    assert!(!w
        .sim
        .sent_to(ada)
        .iter()
        .any(|m| m.text.contains("Stars ledger")));
}

/// A budget that can no longer pay the cheapest action pauses its campaign and
/// tells the advertiser, once; so does a bot that lost its admin rights.
#[test]
fn an_exhausted_budget_and_lost_rights_pause_the_campaign_once() {
    let w = World::new();
    let adv = w.sim.add_user(UserSpec::new("Adv").lang("en")).unwrap();
    w.sim.user_start_bot(adv, None).unwrap();
    w.wait_message(adv, "Hi");
    let poor = w.offer(Action::StartBot, Target::default(), |o| {
        o.advertiser_id = Some(adv);
        o.budget_total = Some(7);
    });
    let u = w.sim.add_user(UserSpec::new("U")).unwrap();
    let token = w.click(poor, "b-1");
    w.sim.user_start_bot(u, Some(&token)).unwrap();
    w.wait_status(poor, u, Action::StartBot, ConversionStatus::Hold);
    // 2 Stars left cannot pay 5: paused, and the advertiser is told once.
    w.wait_message(adv, "budget is exhausted");
    assert!(wait_until(|| w
        .store()
        .read(|c| tgtrack::store::offers::get_offer(c, poor))
        .unwrap()
        .is_some_and(
            |o| o.status == tgtrack::domain::offer::OfferStatus::Paused
        )));
    w.daemon().poke_scheduler();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let told = w
        .sim
        .sent_to(adv)
        .iter()
        .filter(|m| m.text.contains("budget is exhausted"))
        .count();
    assert_eq!(told, 1);

    // The bot loses its rights in a join campaign's channel: the re-check pauses it.
    let (ch, target) = channel(&w, "lostrights");
    let join = w.offer(Action::JoinChannel, target, |o| o.advertiser_id = Some(adv));
    let v = w.sim.add_user(UserSpec::new("V")).unwrap();
    let token = w.click(join, "j-1");
    w.sim.user_start_bot(v, Some(&token)).unwrap();
    w.wait_message(v, "join");
    w.sim.remove_bot(ch).unwrap();
    let v2 = w.sim.add_user(UserSpec::new("V2")).unwrap();
    let token = w.click(join, "j-2");
    w.sim.user_start_bot(v2, Some(&token)).unwrap();
    w.wait_message(adv, "no longer an administrator");
    assert!(wait_until(|| w
        .store()
        .read(|c| tgtrack::store::offers::get_offer(c, join))
        .unwrap()
        .is_some_and(
            |o| o.status == tgtrack::domain::offer::OfferStatus::Paused
        )));
}

/// Postbacks that fail for good are told to the advertiser once; a long list pages.
#[test]
fn failing_postbacks_are_told_once_and_a_long_list_pages() {
    let mut w = World::new();
    w.stop_daemon();
    w.cfg.postback.max_attempts = 1;
    w.start_daemon();
    let adv = w.sim.add_user(UserSpec::new("Adv").lang("en")).unwrap();
    w.sim.user_start_bot(adv, None).unwrap();
    w.wait_message(adv, "Hi");
    // Nothing listens on port 9 of loopback: every attempt fails, and with one attempt it is dead.
    let offer = w.offer(Action::StartBot, Target::default(), |o| {
        o.advertiser_id = Some(adv);
        o.postback.url = Some("http://127.0.0.1:9/pb?cid={click_id}&s={status}".into());
    });
    for i in 0..8 {
        w.offer(Action::StartBot, Target::default(), |o| {
            o.advertiser_id = Some(adv);
            o.name = format!("Extra {i}");
        });
    }
    let u = w.sim.add_user(UserSpec::new("U")).unwrap();
    let token = w.click(offer, "pb-1");
    w.sim.user_start_bot(u, Some(&token)).unwrap();
    w.wait_status(offer, u, Action::StartBot, ConversionStatus::Hold);
    w.wait_message(adv, "postbacks to the CPA network are failing");
    w.daemon().poke_scheduler();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let told = w
        .sim
        .sent_to(adv)
        .iter()
        .filter(|m| m.text.contains("are failing"))
        .count();
    assert_eq!(told, 1);

    // Nine campaigns: page 1 of 2, then the next page has the last one.
    w.sim.user_send_text(adv, "/statistic").unwrap();
    let list = w.wait_message(adv, "page 1/2");
    assert_eq!(
        list.buttons
            .iter()
            .flatten()
            .filter(|b| b.text.starts_with('#'))
            .count(),
        8
    );
    press(&w, adv, "▶");
    let next = w.wait_message(adv, "page 2/2");
    assert_eq!(
        next.buttons
            .iter()
            .flatten()
            .filter(|b| b.text.starts_with('#'))
            .count(),
        1
    );
}
