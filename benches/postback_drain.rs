//! Postback drain rate: how fast the outbox worker empties a backlog into a
//! local receiver. Not a timed test; run it and copy the figures into
//! BENCHMARKS.md with the machine:
//!
//!     cargo bench --bench postback_drain                 # 20000 rows, 1/2/4/8 senders, defaults
//!     cargo bench --bench postback_drain -- 50000 8      # rows, senders
//!     cargo bench --bench postback_drain -- 5000 8 5     # ... and 5 ms receiver latency
//!
//! Setup: a real SQLite file in a temp dir (WAL, synchronous=NORMAL as in
//! production), N conversions with their postbacks enqueued up front, a
//! keep-alive HTTP/1.1 receiver on 127.0.0.1 in the same process (so it
//! competes for the same cores), then the worker is started and timed until
//! the outbox is empty. Every row is checked delivered and the receiver must
//! have seen exactly N requests.

#[path = "../tests/postback_common/mod.rs"]
mod postback_common;

use std::thread;
use std::time::{Duration, Instant};

use postback_common::{Receiver, Reply};
use tgtrack::config::PostbackConfig;
use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair, Target,
};
use tgtrack::postback::{self, worker, ConversionFacts};
use tgtrack::store::offers::{self, NewOffer};
use tgtrack::store::postbacks::{self as outbox, PostbackState};
use tgtrack::store::{unix_now, ConversionId, Store, StoreError};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let rows: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let senders: Vec<usize> = match args.get(1).and_then(|a| a.parse().ok()) {
        Some(s) => vec![s],
        None => vec![1, 2, 4, 8, 0],
    };
    let delay_ms: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(0);
    println!(
        "postback drain: {rows} rows to a keep-alive receiver on 127.0.0.1 answering in +{delay_ms} ms, {} cores",
        thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "{:>8}  {:>10}  {:>12}  {:>10}",
        "senders", "seconds", "postbacks/s", "enqueue/s"
    );
    for s in senders {
        let r = run(rows, s, Duration::from_millis(delay_ms));
        println!(
            "{:>8}  {:>10.2}  {:>12.0}  {:>10.0}",
            if s == 0 {
                "default".to_string()
            } else {
                s.to_string()
            },
            r.0,
            rows as f64 / r.0,
            rows as f64 / r.1
        );
    }
}

/// Returns (drain seconds, enqueue seconds).
fn run(rows: usize, senders: usize, delay: Duration) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("bench.db"), 4).unwrap();
    let rx = Receiver::start_with(
        move |_, _| {
            if delay.is_zero() {
                Reply::Status(200, "OK".into())
            } else {
                Reply::Slow(delay, 200, "OK".into())
            }
        },
        false,
    );
    let offer = NewOffer {
        name: "bench".into(),
        advertiser_id: None,
        action: Action::JoinChannel,
        target: Target {
            chat_id: Some(1),
            ..Default::default()
        },
        status: OfferStatus::Active,
        price: PricePair {
            regular: 5,
            premium: 10,
        },
        payout: "0.5".into(),
        currency: "USD".into(),
        caps: Caps::default(),
        schedule: Default::default(),
        timezone: "UTC".into(),
        hold_seconds: 0,
        budget_total: None,
        postback: PostbackSpec {
            url: Some(rx.url(
                "/postback?subid={click_id}&status={status}&payout={payout}&tid={txid}&sub1={sub1}",
            )),
            method: PostbackMethod::Get,
            preset: "keitaro".into(),
            statuses: vec![ConversionStatus::Approved],
            send_user_id: false,
        },
        relay_secret: None,
    };
    let offer = store
        .write(|tx| {
            let id = offers::insert_offer(tx, &offer, unix_now())?;
            Ok::<_, StoreError>(offers::get_offer(tx, id)?.unwrap())
        })
        .unwrap();

    // Enqueue as the engine would: conversion row + postback in one transaction
    // (here 1000 per transaction, to build the backlog quickly).
    let started = Instant::now();
    for chunk in (0..rows).collect::<Vec<_>>().chunks(1000) {
        store
            .write(|tx| {
                for &u in chunk {
                    tx.execute(
                        "INSERT INTO conversions (offer_id, tg_user_id, action, status, created_at, updated_at)
                         VALUES (?1, ?2, 'join_channel', 'approved', 0, 0)",
                        rusqlite::params![offer.id, u as i64 + 1],
                    )?;
                    let facts = ConversionFacts {
                        conversion_id: ConversionId(tx.last_insert_rowid()),
                        lead_id: None,
                        click_uid: format!("clk{u:08}"),
                        subs: [Some("bench".into()), None, None, None, None],
                        tg_user_id: u as i64 + 1,
                        is_premium: false,
                        payout: "0.5".into(),
                        currency: "USD".into(),
                        event_time: unix_now(),
                        hold_until: None,
                    };
                    postback::enqueue(tx, &offer, &facts, ConversionStatus::Approved, 0)?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }
    let enqueue_secs = started.elapsed().as_secs_f64();

    let config = PostbackConfig {
        timeout: Duration::from_secs(10),
        max_attempts: 10,
        backoff: Duration::from_secs(30),
        backoff_max: Duration::from_secs(3600),
        allow_private_targets: true,
    };
    let (waker, inbox) = worker::channel();
    let stopper = inbox.stopper();
    // `senders` = 0 means the defaults `tgtrack run` uses; otherwise that many
    // senders, all allowed on the one receiver.
    let options = match senders {
        0 => worker::Options::default(),
        n => worker::Options {
            senders: n,
            per_host: n,
            in_flight: 2 * n,
            ..worker::Options::default()
        },
    };
    let w = {
        let store = store.clone();
        thread::spawn(move || worker::run_with(store, config, options, inbox))
    };
    let started = Instant::now();
    waker.wake();
    loop {
        thread::sleep(Duration::from_millis(5));
        if store.read(outbox::outbox_depth).unwrap() == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "drain stalled"
        );
    }
    let secs = started.elapsed().as_secs_f64();
    stopper.stop();
    w.join().unwrap();

    let counts = store.read(outbox::counts_by_state).unwrap();
    let delivered = counts
        .iter()
        .find(|(s, _)| *s == PostbackState::Delivered)
        .map_or(0, |(_, n)| *n);
    assert_eq!(
        delivered as usize, rows,
        "every postback delivered: {counts:?}"
    );
    assert_eq!(rx.count(), rows, "each sent exactly once");
    (secs, enqueue_secs)
}
