//! Postback delivery against a real SQLite file and a real HTTP receiver on
//! 127.0.0.1:0: retries, timeouts, 4xx/5xx, body checks, the SSRF guard,
//! idempotent enqueue, CLI retry and test, and shutdown between attempts.

mod postback_common;

use std::collections::HashSet;
use std::thread;
use std::time::Duration;

use postback_common::{wait_until, Receiver, Reply};
use tempfile::TempDir;
use tgtrack::config::PostbackConfig;
use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, Offer, OfferStatus, PostbackMethod, PostbackSpec, PricePair,
    Target,
};
use tgtrack::postback::{self, cli, worker, ConversionFacts};
use tgtrack::store::offers::{self, NewOffer};
use tgtrack::store::postbacks::{self as outbox, PostbackRow, PostbackState};
use tgtrack::store::{unix_now, ConversionId, OfferId, PostbackId, Store};

const WAIT: Duration = Duration::from_secs(10);

fn open_store() -> (TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("tgtrack.db"), 4).unwrap();
    (dir, store)
}

fn config(allow_private: bool) -> PostbackConfig {
    PostbackConfig {
        timeout: Duration::from_millis(400),
        max_attempts: 3,
        backoff: Duration::from_millis(20),
        backoff_max: Duration::from_millis(100),
        allow_private_targets: allow_private,
    }
}

fn make_offer(store: &Store, url: &str, method: PostbackMethod, preset: &str) -> Offer {
    make_offer_reporting(
        store,
        url,
        method,
        preset,
        vec![
            ConversionStatus::Hold,
            ConversionStatus::Approved,
            ConversionStatus::Rejected,
        ],
    )
}

fn make_offer_reporting(
    store: &Store,
    url: &str,
    method: PostbackMethod,
    preset: &str,
    statuses: Vec<ConversionStatus>,
) -> Offer {
    let new = NewOffer {
        name: "Join @news".into(),
        advertiser_id: None,
        action: Action::JoinChannel,
        target: Target {
            chat_id: Some(100),
            username: Some("news".into()),
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
        hold_seconds: 3600,
        budget_total: None,
        postback: PostbackSpec {
            url: Some(url.to_string()),
            method,
            preset: preset.to_string(),
            statuses,
            send_user_id: false,
        },
        relay_secret: None,
    };
    postback::validate_template(url, preset).unwrap();
    store
        .write(|tx| {
            let id = offers::insert_offer(tx, &new, unix_now())?;
            Ok::<_, tgtrack::store::StoreError>(offers::get_offer(tx, id)?.unwrap())
        })
        .unwrap()
}

fn facts(conv: ConversionId, uid: &str) -> ConversionFacts {
    ConversionFacts {
        conversion_id: conv,
        lead_id: None,
        click_uid: uid.to_string(),
        subs: [Some("s 1".into()), None, None, None, None],
        tg_user_id: 4242,
        is_premium: true,
        payout: "0.5".into(),
        currency: "USD".into(),
        event_time: 1_700_000_000,
        hold_until: None,
    }
}

/// A conversion row plus its postback, in one transaction, as the engine will do it.
fn convert(
    store: &Store,
    offer: &Offer,
    user: i64,
    status: ConversionStatus,
) -> (ConversionId, Option<PostbackId>) {
    store
        .write(|tx| {
            // The conversions store belongs to the engine; a fixture row is enough here.
            tx.execute(
                "INSERT INTO conversions (offer_id, tg_user_id, action, status, created_at, updated_at)
                 VALUES (?1, ?2, 'join_channel', ?3, 0, 0)",
                rusqlite::params![offer.id, user, status.as_str()],
            )?;
            let conv = ConversionId(tx.last_insert_rowid());
            let pb = postback::enqueue(tx, offer, &facts(conv, &format!("click-{user}")), status, unix_now())?;
            Ok::<_, tgtrack::store::StoreError>((conv, pb))
        })
        .unwrap()
}

fn row(store: &Store, id: PostbackId) -> PostbackRow {
    store.read(|c| outbox::get(c, id)).unwrap().unwrap()
}

fn state(store: &Store, id: PostbackId) -> PostbackState {
    row(store, id).state
}

struct Worker {
    waker: worker::Waker,
    stopper: worker::Stopper,
    handle: thread::JoinHandle<()>,
}

impl Worker {
    fn start(store: &Store, config: PostbackConfig) -> Worker {
        Self::start_with(store, config, 2)
    }

    fn start_with(store: &Store, config: PostbackConfig, per_host: usize) -> Worker {
        let (waker, inbox) = worker::channel();
        let stopper = inbox.stopper();
        let store = store.clone();
        let options = worker::Options {
            senders: 2,
            in_flight: 16,
            per_host,
            idle_poll: Duration::from_millis(50),
            ..Default::default()
        };
        let handle = thread::spawn(move || worker::run_with(store, config, options, inbox));
        Worker {
            waker,
            stopper,
            handle,
        }
    }

    fn stop(self) {
        self.stopper.stop();
        self.handle.join().unwrap();
    }
}

#[test]
fn retries_until_the_receiver_recovers_and_logs_every_attempt() {
    let (_dir, store) = open_store();
    let rx = Receiver::start(|n, _| {
        if n < 2 {
            Reply::Status(503, "busy".into())
        } else {
            Reply::Status(200, "OK".into())
        }
    });
    let offer = make_offer(
        &store,
        &rx.url("/pb?cid={click_id}&st={status}&tx={txid}&s1={sub1}&u={tg_user_id}"),
        PostbackMethod::Get,
        "keitaro",
    );
    let w = Worker::start(&store, config(true));
    let (_, pb) = convert(&store, &offer, 1, ConversionStatus::Approved);
    let pb = pb.unwrap();
    w.waker.wake();
    assert!(
        wait_until(WAIT, || state(&store, pb) == PostbackState::Delivered),
        "{:?}",
        row(&store, pb)
    );
    w.stop();

    let r = row(&store, pb);
    let seen = rx.seen();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(
            s.param("tx").as_deref(),
            Some(r.txid.as_str()),
            "every resend carries the same txid"
        );
        assert_eq!(
            s.param("st").as_deref(),
            Some("sale"),
            "keitaro says sale for approved"
        );
        assert_eq!(s.param("cid").as_deref(), Some("click-1"));
        assert_eq!(
            s.param("s1").as_deref(),
            Some("s%201"),
            "values are URL-encoded"
        );
        assert_eq!(
            s.param("u").as_deref(),
            Some(""),
            "the Telegram id is not sent unless enabled"
        );
    }
    let attempts = store.read(|c| outbox::attempts_of(c, pb)).unwrap();
    let statuses: Vec<_> = attempts.iter().map(|a| a.http_status).collect();
    assert_eq!(statuses, vec![Some(503), Some(503), Some(200)]);
    assert_eq!(attempts[0].body_head.as_deref(), Some("busy"));
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 503"));
    assert_eq!(attempts[2].body_head.as_deref(), Some("OK"));
    assert!(attempts.iter().all(|a| a.latency_ms >= 0 && a.at > 0));
}

#[test]
fn a_hanging_receiver_times_out_and_is_retried() {
    let (_dir, store) = open_store();
    let rx = Receiver::start(|n, _| {
        if n == 0 {
            Reply::Hang(Duration::from_secs(3))
        } else {
            Reply::Status(200, "OK".into())
        }
    });
    let offer = make_offer(
        &store,
        &rx.url("/pb?cid={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let w = Worker::start(&store, config(true));
    let (_, pb) = convert(&store, &offer, 1, ConversionStatus::Approved);
    let pb = pb.unwrap();
    w.waker.wake();
    assert!(
        wait_until(WAIT, || state(&store, pb) == PostbackState::Delivered),
        "{:?}",
        row(&store, pb)
    );
    w.stop();
    let attempts = store.read(|c| outbox::attempts_of(c, pb)).unwrap();
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].http_status, None);
    assert!(
        attempts[0].error.as_deref().unwrap().contains("timeout"),
        "{:?}",
        attempts[0]
    );
    assert!(
        attempts[0].latency_ms >= 350,
        "the timeout was waited for: {:?}",
        attempts[0]
    );
}

#[test]
fn a_4xx_fails_without_retry_and_5xx_goes_dead_then_cli_retry_delivers() {
    let (_dir, store) = open_store();
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let h = healthy.clone();
    let rx = Receiver::start(move |_, s| {
        if s.target.contains("cid=click-1") {
            Reply::Status(404, "SubID not found".into())
        } else if h.load(std::sync::atomic::Ordering::SeqCst) {
            Reply::Status(200, "OK".into())
        } else {
            Reply::Status(500, "oops".into())
        }
    });
    let offer = make_offer(
        &store,
        &rx.url("/pb?cid={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let w = Worker::start(&store, config(true));
    let (_, not_found) = convert(&store, &offer, 1, ConversionStatus::Approved);
    let (_, broken) = convert(&store, &offer, 2, ConversionStatus::Approved);
    let (not_found, broken) = (not_found.unwrap(), broken.unwrap());
    w.waker.wake();
    assert!(wait_until(WAIT, || state(&store, not_found) == PostbackState::Failed));
    assert!(
        wait_until(WAIT, || state(&store, broken) == PostbackState::Dead),
        "{:?}",
        row(&store, broken)
    );
    // A failed row stays failed: nothing resends it by itself.
    thread::sleep(Duration::from_millis(300));
    let r = row(&store, not_found);
    assert_eq!((r.state, r.attempts), (PostbackState::Failed, 1));
    assert_eq!(r.last_error.as_deref(), Some("HTTP 404"));
    let r = row(&store, broken);
    assert_eq!(
        (r.state, r.attempts),
        (PostbackState::Dead, 3),
        "max_attempts = 3"
    );
    assert_eq!(
        store
            .read(|c| outbox::attempts_of(c, broken))
            .unwrap()
            .len(),
        3
    );

    let dead = cli::list(&store, Some(PostbackState::Dead), 100).unwrap();
    assert_eq!(
        dead.0.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![broken]
    );
    assert!(dead.to_string().contains("HTTP 500"), "{dead}");

    // The receiver is fixed; the operator requeues from the shell.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(cli::retry_all_dead(&store).unwrap(), 1);
    assert!(
        wait_until(WAIT, || state(&store, broken) == PostbackState::Delivered),
        "{:?}",
        row(&store, broken)
    );
    assert!(
        cli::retry(&store, broken).is_err(),
        "a delivered postback is not resent"
    );
    // `retry ID` on a failed row works the same (it gets 404 again here).
    assert_eq!(
        cli::retry(&store, not_found).unwrap(),
        format!("postback {not_found} requeued")
    );
    assert!(wait_until(WAIT, || store
        .read(|c| outbox::attempts_of(c, not_found))
        .unwrap()
        .len()
        == 2));
    assert!(cli::retry(&store, PostbackId(9999))
        .unwrap_err()
        .to_string()
        .contains("not found"));
    w.stop();
    let counts = store.read(outbox::counts_by_state).unwrap();
    assert_eq!(counts.iter().map(|(_, n)| n).sum::<i64>(), 2);
}

#[test]
fn body_checks_turn_a_200_into_a_failure() {
    let (_dir, store) = open_store();
    let rx = Receiver::start(|_, s| {
        if s.target.starts_with("/tune") {
            Reply::Status(200, "success=false; err_msg=Duplicate conversion;".into())
        } else if s.target.starts_with("/alter") {
            Reply::Status(200, r#"{"status":"error","error":"click"}"#.into())
        } else {
            Reply::Status(200, "success=false".into())
        }
    });
    let tune = make_offer(
        &store,
        &rx.url("/tune?transaction_id={click_id}"),
        PostbackMethod::Get,
        "tune",
    );
    let alter = make_offer(
        &store,
        &rx.url("/alter?click={click_id}&status={status}"),
        PostbackMethod::Get,
        "altercpa",
    );
    let generic = make_offer(
        &store,
        &rx.url("/generic?c={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let w = Worker::start(&store, config(true));
    let ids: Vec<_> = [&tune, &alter, &generic]
        .iter()
        .map(|o| convert(&store, o, 1, ConversionStatus::Approved).1.unwrap())
        .collect();
    w.waker.wake();
    assert!(wait_until(WAIT, || ids
        .iter()
        .all(|id| state(&store, *id) != PostbackState::Pending)));
    w.stop();
    assert_eq!(state(&store, ids[0]), PostbackState::Failed);
    assert!(row(&store, ids[0])
        .last_error
        .unwrap()
        .contains("success=false"));
    assert_eq!(state(&store, ids[1]), PostbackState::Failed);
    assert!(rx
        .seen()
        .iter()
        .any(|s| s.param("status").as_deref() == Some("approve")));
    assert_eq!(
        state(&store, ids[2]),
        PostbackState::Delivered,
        "generic does not read bodies"
    );
}

#[test]
fn private_targets_are_refused_unless_allowed() {
    let (_dir, store) = open_store();
    let rx = Receiver::ok();
    let by_ip = make_offer(
        &store,
        &rx.url("/pb?c={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let by_name = make_offer(
        &store,
        &format!("http://localhost:{}/pb?c={{click_id}}", rx.addr.port()),
        PostbackMethod::Get,
        "generic",
    );
    let w = Worker::start(&store, config(false));
    let a = convert(&store, &by_ip, 1, ConversionStatus::Approved)
        .1
        .unwrap();
    let b = convert(&store, &by_name, 1, ConversionStatus::Approved)
        .1
        .unwrap();
    w.waker.wake();
    assert!(wait_until(WAIT, || state(&store, a)
        == PostbackState::Failed
        && state(&store, b) == PostbackState::Failed));
    w.stop();
    for id in [a, b] {
        let e = row(&store, id).last_error.unwrap();
        assert!(
            e.contains("refused") && e.contains("loopback") && e.contains("allow_private_targets"),
            "{e}"
        );
        assert_eq!(row(&store, id).attempts, 1, "a refusal is not retried");
    }
    assert_eq!(rx.count(), 0, "nothing reached the private address");

    let report = cli::test(&store, &config(false), OfferId(by_ip.id), None).unwrap();
    assert!(!report.delivered);
    assert!(report.to_string().contains("refused"), "{report}");
    assert_eq!(rx.count(), 0);
}

#[test]
fn enqueue_is_idempotent_and_respects_the_offer() {
    let (_dir, store) = open_store();
    let offer = make_offer(
        &store,
        "https://t.example/pb?c={click_id}&s={status}&t={txid}",
        PostbackMethod::Get,
        "affise",
    );
    let (conv, first) = convert(&store, &offer, 1, ConversionStatus::Hold);
    let first = first.unwrap();
    let again = store
        .write(|tx| {
            postback::enqueue(
                tx,
                &offer,
                &facts(conv, "click-1"),
                ConversionStatus::Hold,
                unix_now(),
            )
        })
        .unwrap();
    assert_eq!(
        again,
        Some(first),
        "the same (conversion, status) is queued once"
    );
    let approved = store
        .write(|tx| {
            postback::enqueue(
                tx,
                &offer,
                &facts(conv, "click-1"),
                ConversionStatus::Approved,
                unix_now(),
            )
        })
        .unwrap()
        .unwrap();
    assert_ne!(approved, first);
    let (h, a) = (row(&store, first), row(&store, approved));
    assert_ne!(h.txid, a.txid, "one txid per (conversion, status)");
    assert!(
        h.url.contains("s=5") && a.url.contains("s=1"),
        "affise: hold 5, approved 1: {} {}",
        h.url,
        a.url
    );
    assert!(h.url.contains(&format!("t={}", h.txid)));
    // Not posted: `lead` is not in the offer's statuses; no URL at all.
    let lead = store
        .write(|tx| {
            postback::enqueue(
                tx,
                &offer,
                &facts(conv, "click-1"),
                ConversionStatus::Lead,
                unix_now(),
            )
        })
        .unwrap();
    assert_eq!(lead, None);
    let mut silent = offer.clone();
    silent.postback.url = None;
    let none = store
        .write(|tx| {
            postback::enqueue(
                tx,
                &silent,
                &facts(conv, "click-1"),
                ConversionStatus::Rejected,
                unix_now(),
            )
        })
        .unwrap();
    assert_eq!(none, None);
    assert_eq!(store.read(outbox::outbox_depth).unwrap(), 2);
    // A rolled-back status change takes its postback with it (same transaction).
    let rolled: Result<(), tgtrack::store::StoreError> = store.write(|tx| {
        postback::enqueue(
            tx,
            &offer,
            &facts(conv, "click-1"),
            ConversionStatus::Rejected,
            unix_now(),
        )?;
        Err(tgtrack::store::StoreError::Corrupt("engine refused".into()))
    });
    assert!(rolled.is_err());
    assert_eq!(store.read(outbox::outbox_depth).unwrap(), 2);
}

#[test]
fn post_form_and_json_bodies_arrive() {
    let (_dir, store) = open_store();
    let rx = Receiver::ok();
    let form = make_offer(
        &store,
        &rx.url("/form?cid={click_id}&p={payout}&s={status}"),
        PostbackMethod::PostForm,
        "generic",
    );
    let json = make_offer(
        &store,
        &rx.url("/json?cid={click_id}&prem={is_premium}"),
        PostbackMethod::PostJson,
        "binom",
    );
    let w = Worker::start(&store, config(true));
    let a = convert(&store, &form, 7, ConversionStatus::Approved)
        .1
        .unwrap();
    let b = convert(&store, &json, 7, ConversionStatus::Rejected)
        .1
        .unwrap();
    w.waker.wake();
    assert!(wait_until(WAIT, || state(&store, a)
        == PostbackState::Delivered
        && state(&store, b) == PostbackState::Delivered));
    w.stop();
    let seen = rx.seen();
    let f = seen.iter().find(|s| s.target == "/form").unwrap();
    assert_eq!(
        (f.method.as_str(), f.body.as_str()),
        ("POST", "cid=click-7&p=0.5&s=approved")
    );
    assert_eq!(
        f.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    let j = seen.iter().find(|s| s.target == "/json").unwrap();
    assert_eq!(j.content_type.as_deref(), Some("application/json"));
    let v: serde_json::Value = serde_json::from_str(&j.body).unwrap();
    assert_eq!(v, serde_json::json!({"cid": "click-7", "prem": "1"}));
}

#[test]
fn shutdown_between_attempts_loses_nothing_and_a_restart_finishes() {
    let (_dir, store) = open_store();
    let rx = Receiver::start(|_, _| Reply::Slow(Duration::from_millis(30), 200, "OK".into()));
    let offer = make_offer(
        &store,
        &rx.url("/pb?tx={txid}"),
        PostbackMethod::Get,
        "generic",
    );
    let ids: Vec<_> = (0..40)
        .map(|u| {
            convert(&store, &offer, u, ConversionStatus::Approved)
                .1
                .unwrap()
        })
        .collect();

    let w = Worker::start(&store, config(true));
    assert!(wait_until(WAIT, || rx.count() >= 4));
    w.stop();
    let delivered_first = ids
        .iter()
        .filter(|id| state(&store, **id) == PostbackState::Delivered)
        .count();
    let pending = ids
        .iter()
        .filter(|id| state(&store, **id) == PostbackState::Pending)
        .count();
    assert_eq!(
        delivered_first + pending,
        ids.len(),
        "every row is delivered or still pending"
    );
    assert!(pending > 0, "the stop came before the end");
    assert_eq!(
        delivered_first,
        rx.count(),
        "every answered request was recorded before stopping"
    );

    // The next start sends the rest, under the txids stored at enqueue time.
    let w = Worker::start(&store, config(true));
    assert!(wait_until(WAIT, || ids
        .iter()
        .all(|id| state(&store, *id) == PostbackState::Delivered)));
    w.stop();
    let sent: Vec<_> = rx.seen().iter().map(|s| s.param("tx").unwrap()).collect();
    let stored: HashSet<_> = ids.iter().map(|id| row(&store, *id).txid).collect();
    assert_eq!(sent.len(), ids.len(), "no postback was sent twice");
    assert_eq!(sent.into_iter().collect::<HashSet<_>>(), stored);
}

#[test]
fn cli_test_fires_a_marked_postback_and_logs_it() {
    let (_dir, store) = open_store();
    let rx = Receiver::start(|_, _| Reply::Status(200, "accepted, thanks".into()));
    let offer = make_offer(
        &store,
        &rx.url("/pb?cid={click_id}&tx={txid}&st={status}"),
        PostbackMethod::Get,
        "keitaro",
    );
    let report = cli::test(
        &store,
        &config(true),
        OfferId(offer.id),
        Some(ConversionStatus::Rejected),
    )
    .unwrap();
    assert!(report.delivered, "{report}");
    assert_eq!(report.answer.http_status, Some(200));
    let seen = rx.seen();
    assert_eq!(seen.len(), 1);
    assert!(seen[0].param("cid").unwrap().starts_with("TEST-"));
    assert!(seen[0].param("tx").unwrap().starts_with("test-"));
    assert_eq!(seen[0].param("st").as_deref(), Some("rejected"));
    let text = report.to_string();
    assert!(
        text.contains("TEST")
            && text.contains(&report.url)
            && text.contains("HTTP 200")
            && text.contains("accepted, thanks"),
        "{text}"
    );

    let r = row(&store, report.postback_id);
    assert!(r.is_test);
    assert_eq!(r.state, PostbackState::Delivered);
    assert_eq!(
        store
            .read(|c| outbox::attempts_of(c, report.postback_id))
            .unwrap()
            .len(),
        1
    );
    // A running worker never sends a test row again.
    let w = Worker::start(&store, config(true));
    w.waker.wake();
    thread::sleep(Duration::from_millis(200));
    w.stop();
    assert_eq!(rx.count(), 1);

    let shown = cli::show(&store, report.postback_id).unwrap().to_string();
    assert!(
        shown.contains("(TEST)") && shown.contains("HTTP 200"),
        "{shown}"
    );
    assert!(cli::test(&store, &config(true), OfferId(9999), None).is_err());
}

#[test]
fn a_hanging_network_does_not_hold_up_the_others() {
    let (_dir, store) = open_store();
    let stuck = Receiver::start(|_, _| Reply::Hang(Duration::from_secs(2)));
    let fine = Receiver::ok();
    let slow_offer = make_offer(
        &store,
        &stuck.url("/pb?c={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let fast_offer = make_offer(
        &store,
        &fine.url("/pb?c={click_id}"),
        PostbackMethod::Get,
        "generic",
    );
    let stuck_ids: Vec<_> = (0..10)
        .map(|u| {
            convert(&store, &slow_offer, u, ConversionStatus::Approved)
                .1
                .unwrap()
        })
        .collect();
    let fast = convert(&store, &fast_offer, 1, ConversionStatus::Approved)
        .1
        .unwrap();
    // Two senders, at most one per host: the stuck host keeps one busy, never both.
    let w = Worker::start_with(&store, config(true), 1);
    w.waker.wake();
    assert!(wait_until(Duration::from_secs(2), || state(&store, fast)
        == PostbackState::Delivered));
    assert!(
        stuck_ids
            .iter()
            .filter(|id| state(&store, **id) == PostbackState::Pending)
            .count()
            >= 8,
        "the stuck host's rows are still waiting their turn"
    );
    w.stop();
}

/// Issue 11, defect 4: after a receiver outage a conversion's postbacks
/// arrived out of order (rejected -> hold -> lead): each row's retry backoff
/// had grown differently, so the newest row was due first. A later status must
/// never be delivered before an earlier one is settled; txids stay stable and
/// every status is delivered.
#[test]
fn a_conversions_postbacks_arrive_in_order_after_an_outage() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    let (_dir, store) = open_store();
    let down = Arc::new(AtomicBool::new(true));
    let d = down.clone();
    let rx = Receiver::start(move |_, _| {
        if d.load(Ordering::SeqCst) {
            Reply::Status(503, "down".into())
        } else {
            Reply::Status(200, "OK".into())
        }
    });
    let offer = make_offer_reporting(
        &store,
        &rx.url("/pb?cid={click_id}&st={status}&tx={txid}"),
        PostbackMethod::Get,
        "generic",
        vec![
            ConversionStatus::Lead,
            ConversionStatus::Hold,
            ConversionStatus::Rejected,
        ],
    );
    let cfg = PostbackConfig {
        max_attempts: 100,
        backoff: Duration::from_millis(100),
        backoff_max: Duration::from_secs(3),
        ..config(true)
    };
    let w = Worker::start(&store, cfg);
    let (conv, lead) = convert(&store, &offer, 7, ConversionStatus::Lead);
    let lead = lead.unwrap();
    w.waker.wake();
    // The lead is retried while the receiver is down; its backoff grows.
    assert!(wait_until(WAIT, || row(&store, lead).attempts >= 4));
    let enqueue = |status| {
        store
            .write(|tx| postback::enqueue(tx, &offer, &facts(conv, "click-7"), status, unix_now()))
            .unwrap()
            .unwrap()
    };
    let hold = enqueue(ConversionStatus::Hold);
    w.waker.wake();
    thread::sleep(Duration::from_millis(300));
    let rejected = enqueue(ConversionStatus::Rejected);
    // The receiver comes back while the lead waits out a long backoff and the
    // rejection is new (due now).
    down.store(false, Ordering::SeqCst);
    w.waker.wake();
    assert!(
        wait_until(Duration::from_secs(20), || [lead, hold, rejected]
            .iter()
            .all(|id| state(&store, *id) == PostbackState::Delivered)),
        "{:?}",
        [lead, hold, rejected].map(|id| row(&store, id))
    );
    w.stop();
    // Every request the receiver saw, in order (503s during the outage, then 200s).
    let sent: Vec<(String, String)> = rx
        .seen()
        .iter()
        .map(|s| (s.param("st").unwrap(), s.param("tx").unwrap()))
        .collect();
    let order: Vec<&str> = sent.iter().map(|(st, _)| st.as_str()).collect();
    // The last request of each status is its delivery; they must be in order.
    let last = |st: &str| order.iter().rposition(|s| *s == st).unwrap();
    assert!(
        last("lead") < last("hold") && last("hold") < last("rejected"),
        "delivery order: {order:?}"
    );
    // No later status was even attempted before the earlier one was delivered.
    let first = |st: &str| order.iter().position(|s| *s == st).unwrap();
    assert!(
        first("hold") > last("lead") && first("rejected") > last("hold"),
        "a later status was sent while an earlier one was pending: {order:?}"
    );
    for (id, st) in [(lead, "lead"), (hold, "hold"), (rejected, "rejected")] {
        let txid = row(&store, id).txid;
        assert!(
            sent.iter()
                .filter(|(s, _)| s == st)
                .all(|(_, t)| *t == txid),
            "{st}: every attempt carries the txid {txid}"
        );
    }
}
