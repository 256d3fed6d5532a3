//! The `tgtrack` binary as an operator runs it: `run` as a child process,
//! killed with SIGKILL while postbacks are pending and restarted, stopped with
//! SIGTERM, and refusing bad configs with exit code 2.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair, Target,
};
use tgtrack::domain::schedule::Schedule;
use tgtrack::store::{self, OfferId, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tgtrack");

/// A receiver that answers slowly (so postbacks stay pending while we kill the
/// daemon) and records every (click id, status, txid) it was told.
struct SlowReceiver {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, String, String)>>>,
}

impl SlowReceiver {
    fn start(delay: Duration) -> SlowReceiver {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let s = s.clone();
                std::thread::spawn(move || serve(c, s, delay));
            }
        });
        SlowReceiver { addr, seen }
    }
    fn seen(&self) -> Vec<(String, String, String)> {
        self.seen.lock().unwrap().clone()
    }
}

fn serve(c: TcpStream, seen: Arc<Mutex<Vec<(String, String, String)>>>, delay: Duration) {
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut c = c;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
        }
        std::thread::sleep(delay);
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let q: HashMap<_, _> = target
            .split_once('?')
            .map(|(_, q)| {
                q.split('&')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        seen.lock().unwrap().push((
            q.get("cid").cloned().unwrap_or_default(),
            q.get("status").cloned().unwrap_or_default(),
            q.get("txid").cloned().unwrap_or_default(),
        ));
        if c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
            .is_err()
        {
            return;
        }
    }
}

fn write_config(dir: &Path, port: u16) -> std::path::PathBuf {
    let path = dir.join("config.toml");
    std::fs::write(
        &path,
        format!(
            "[database]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n[postback]\ntimeout = \"2s\"\nbackoff = \"100ms\"\nbackoff_max = \"500ms\"\nallow_private_targets = true\n",
            dir.join("tgtrack.db").display()
        ),
    )
    .unwrap();
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(config: &Path) -> Child {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("run")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    f()
}

fn healthy(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok_and(|mut s| {
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut s, &mut out);
        out.starts_with("HTTP/1.1 200")
    })
}

fn offer(store: &Store, receiver: SocketAddr) -> OfferId {
    let o = store::offers::NewOffer {
        name: "kill test".into(),
        advertiser_id: None,
        action: Action::StartBot,
        target: Target::default(),
        status: OfferStatus::Active,
        price: PricePair {
            regular: 3,
            premium: 10,
        },
        payout: "1".into(),
        currency: "USD".into(),
        caps: Caps::default(),
        schedule: Schedule::Always,
        timezone: "UTC".into(),
        hold_seconds: 0,
        budget_total: None,
        postback: PostbackSpec {
            url: Some(format!(
                "http://{receiver}/pb?cid={{click_id}}&status={{status}}&txid={{txid}}"
            )),
            method: PostbackMethod::Get,
            preset: "generic".into(),
            statuses: vec![
                ConversionStatus::Lead,
                ConversionStatus::Hold,
                ConversionStatus::Approved,
            ],
            send_user_id: false,
        },
        relay_secret: None,
    };
    store
        .write(|tx| store::offers::insert_offer(tx, &o, store::unix_now()))
        .unwrap()
}

#[test]
fn sigkill_with_pending_postbacks_then_restart_delivers_each_status_once() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = SlowReceiver::start(Duration::from_millis(30));
    let port = free_port();
    let cfg = write_config(dir.path(), port);
    let mut child = spawn(&cfg);
    assert!(
        wait_until(Duration::from_secs(20), || healthy(port)),
        "daemon did not come up"
    );

    // Conversions are made here through the engine on the same file (the bot
    // would make them in the daemon); each queues lead, hold and approved.
    let store = Store::open(&dir.path().join("tgtrack.db"), 1).unwrap();
    let offer = offer(&store, receiver.addr);
    let (waker, _inbox) = tgtrack::postback::worker::channel();
    let engine = tgtrack::engine::Engine::new(store.clone(), waker);
    let n = 40;
    for i in 0..n {
        let token = store_click(&store, offer, &format!("k-{i}"));
        let user = tgtrack::store::users::TgUser {
            id: 5000 + i,
            ..Default::default()
        };
        engine.start(&token, &user, store::unix_now()).unwrap();
    }
    let expected = (n * 3) as usize;
    // Kill it mid-delivery: some rows delivered, most still pending or in flight.
    assert!(wait_until(Duration::from_secs(20), || receiver
        .seen()
        .len()
        >= 5));
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let delivered_before: i64 = store
        .read(|c| {
            Ok::<_, store::StoreError>(c.query_row(
                "SELECT count(*) FROM postbacks WHERE state = 'delivered'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert!(
        (delivered_before as usize) < expected,
        "the kill came too late to test anything"
    );

    let mut child = spawn(&cfg);
    let all = wait_until(Duration::from_secs(30), || {
        store
            .read(|c| {
                Ok::<_, store::StoreError>(c.query_row(
                    "SELECT count(*) FROM postbacks WHERE state = 'delivered'",
                    [],
                    |r| r.get::<_, i64>(0),
                )?)
            })
            .unwrap() as usize
            == expected
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(all, "not every postback was delivered after the restart");

    // At-least-once: a row in flight at the kill may arrive twice, but always
    // under the same txid, so no (click, status) is ever reported under two.
    let mut txids: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for (cid, status, txid) in receiver.seen() {
        txids.entry((cid, status)).or_default().insert(txid);
    }
    assert_eq!(
        txids.len(),
        expected,
        "every (conversion, status) reached the receiver"
    );
    for (k, v) in &txids {
        assert_eq!(v.len(), 1, "{k:?} was sent under several txids: {v:?}");
    }
}

/// A click as the sidecar records it (without `[telegram]` the daemon answers
/// clicks 503, so the test stores them directly in the same file).
fn store_click(store: &Store, offer: OfferId, uid: &str) -> String {
    let click = store::clicks::NewClick {
        offer,
        uid,
        subs: [None; 5],
        ip: None,
        user_agent: None,
    };
    store
        .write(|tx| {
            store::clicks::record_click(
                tx,
                &click,
                store::unix_now(),
                tgtrack::domain::token::click_token,
            )
        })
        .unwrap()
        .token
}

#[test]
fn sigterm_stops_gracefully_and_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let cfg = write_config(dir.path(), port);
    let child = spawn(&cfg);
    assert!(wait_until(Duration::from_secs(20), || healthy(port)));
    unsafe_kill_term(child.id());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "exit: {:?}", out.status);
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("stopped cleanly"), "{log}");
    assert!(log.contains("running without the bot"), "{log}");
}

fn unsafe_kill_term(pid: u32) {
    let ok = Command::new("kill")
        .arg("-TERM")
        .arg(pid.to_string())
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn config_errors_exit_2_with_one_line_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[http]\nthreads = \"many\"\n", "http.threads"),
        ("[htp]\n", "htp"),
        ("[telegram]\napi_id = 1\n", "telegram.api_hash"),
        ("[postback]\ntimeout = \"soon\"\n", "postback.timeout"),
    ] {
        let path = dir.path().join("bad.toml");
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .arg("check-config")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
        assert!(err.contains(key), "{text} -> {err}");
    }
    let out = Command::new(BIN)
        .arg("--config")
        .arg(dir.path().join("missing.toml"))
        .arg("run")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("example-config"));
    let out = Command::new(BIN).arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2), "usage errors exit 2 too");
}

mod common;

/// The bot's update state survives a SIGKILL: what happened while the daemon
/// was dead arrives after the restart, and nothing is decided twice.
#[test]
fn sigkill_with_the_bot_running_loses_no_update() {
    use tgsim::{AdminRights, ChatSpec, UserSpec};
    let sim = tgsim::Sim::start(tgsim::SimConfig::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let key = dir.path().join("tgsim.key");
    sim.write_auth_key_file(&key).unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\npath = \"{db}\"\n[http]\nlisten = \"127.0.0.1:{port}\"\n\
             [telegram]\napi_id = 1\napi_hash = \"0123456789abcdef0123456789abcdef\"\nbot_token = \"{token}\"\nbot_username = \"{name}\"\n\
             [telegram.test_dc]\naddress = \"{addr}\"\nauth_key_file = \"{key}\"\n",
            db = dir.path().join("tgtrack.db").display(),
            token = sim.bot_token(),
            name = sim.bot_username(),
            addr = sim.addr(),
            key = key.display()
        ),
    )
    .unwrap();
    let ch = sim
        .add_channel(ChatSpec::new("K").username("killnews"))
        .unwrap();
    sim.set_bot_admin(ch, AdminRights::all()).unwrap();
    let mut child = spawn(&cfg);
    assert!(wait_until(Duration::from_secs(30), || healthy(port)));
    let store = Store::open(&dir.path().join("tgtrack.db"), 1).unwrap();
    let target = Target {
        chat_kind: Some(tgtrack::domain::offer::ChatKind::Channel),
        username: Some("killnews".into()),
        ..Default::default()
    };
    let o = store::offers::NewOffer {
        action: Action::JoinChannel,
        target,
        hold_seconds: 3600,
        postback: PostbackSpec {
            url: None,
            ..offer_postback()
        },
        ..base_offer()
    };
    let offer = store
        .write(|tx| store::offers::insert_offer(tx, &o, store::unix_now()))
        .unwrap();
    let users: Vec<i64> = (0..3)
        .map(|i| sim.add_user(UserSpec::new(&format!("K{i}"))).unwrap())
        .collect();
    for (i, u) in users.iter().enumerate() {
        let token = store_click(&store, offer, &format!("kill-{i}"));
        sim.user_start_bot(*u, Some(&token)).unwrap();
    }
    let status = |u: i64| {
        store
            .read(|c| store::conversions::by_key(c, offer, u, Action::JoinChannel))
            .unwrap()
            .map(|c| c.status)
    };
    assert!(wait_until(Duration::from_secs(20), || users
        .iter()
        .all(|u| status(*u) == Some(ConversionStatus::Lead))));
    sim.user_join(users[0], ch).unwrap();
    assert!(wait_until(Duration::from_secs(20), || status(users[0])
        == Some(ConversionStatus::Hold)));
    // Give the bot a quiet second to save its update state, as it does when idle.
    std::thread::sleep(Duration::from_secs(6));
    child.kill().unwrap();
    child.wait().unwrap();

    sim.user_join(users[1], ch).unwrap();
    sim.user_leave(users[0], ch).unwrap();
    let mut child = spawn(&cfg);
    let caught_up = wait_until(Duration::from_secs(30), || {
        status(users[1]) == Some(ConversionStatus::Hold)
            && status(users[0]) == Some(ConversionStatus::Rejected)
    });
    sim.user_join(users[2], ch).unwrap();
    let live = wait_until(Duration::from_secs(20), || {
        status(users[2]) == Some(ConversionStatus::Hold)
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        caught_up,
        "updates made while the daemon was dead arrive after the restart"
    );
    assert!(live);
    let joins: i64 = store
        .read(|c| {
            Ok::<_, store::StoreError>(c.query_row(
                "SELECT count(*) FROM events WHERE kind = 'join'",
                [],
                |r| r.get(0),
            )?)
        })
        .unwrap();
    assert_eq!(joins, 3, "each join journaled once");
}

fn offer_postback() -> PostbackSpec {
    PostbackSpec {
        url: None,
        method: PostbackMethod::Get,
        preset: "generic".into(),
        statuses: vec![],
        send_user_id: false,
    }
}

fn base_offer() -> store::offers::NewOffer {
    store::offers::NewOffer {
        name: "base".into(),
        advertiser_id: None,
        action: Action::StartBot,
        target: Target::default(),
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
        hold_seconds: 0,
        budget_total: None,
        postback: offer_postback(),
        relay_secret: None,
    }
}
