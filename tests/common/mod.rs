//! Shared harness for end-to-end tests: tgsim (the real grammers client talks
//! to it), the real daemon started through `app::start`, a real SQLite file in
//! a temp dir, real HTTP on 127.0.0.1:0, and a local postback receiver.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tgsim::{Sim, SimConfig};
use tgtrack::app::{self, Daemon, StartOptions};
use tgtrack::clock::Clock;
use tgtrack::config::Config;
use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair, Target,
};
use tgtrack::domain::schedule::Schedule;
use tgtrack::store::conversions::Conversion;
use tgtrack::store::offers::NewOffer;
use tgtrack::store::{self, OfferId};

pub const WAIT: Duration = Duration::from_secs(10);

/// A postback receiver: records every request line (path and query).
pub struct Receiver {
    pub addr: SocketAddr,
    pub hits: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h = hits.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                let h = h.clone();
                std::thread::spawn(move || serve(conn, h));
            }
        });
        Receiver { addr, hits }
    }

    pub fn url(&self) -> String {
        format!(
            "http://{}/pb?cid={{click_id}}&status={{status}}&txid={{txid}}&payout={{payout}}",
            self.addr
        )
    }

    pub fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }

    /// Waits until a request matching `pred` arrived.
    pub fn wait_for(&self, pred: impl Fn(&str) -> bool) -> bool {
        wait_until(|| self.hits().iter().any(|h| pred(h)))
    }
}

fn serve(conn: TcpStream, hits: Arc<Mutex<Vec<String>>>) {
    let mut reader = BufReader::new(conn.try_clone().unwrap());
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h == "\r\n" || h == "\n" {
                break;
            }
            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        let mut body = vec![0; len];
        let _ = reader.read_exact(&mut body);
        hits.lock().unwrap().push(target);
        let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK");
    }
}

pub fn wait_until(mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + WAIT;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

/// Everything one test needs.
pub struct World {
    pub sim: Sim,
    pub daemon: Option<Daemon>,
    pub receiver: Receiver,
    pub dir: tempfile::TempDir,
    pub clock: Clock,
    pub cfg: Config,
    /// How often the daemon's scheduler runs by itself (it also runs when poked).
    pub tick: Duration,
}

pub fn config(dir: &std::path::Path, sim: &Sim) -> Config {
    let key = dir.join("tgsim.key");
    sim.write_auth_key_file(&key).unwrap();
    let text = format!(
        r#"
[database]
path = "{db}"
[http]
listen = "127.0.0.1:0"
public_base_url = "http://127.0.0.1:1"
threads = 2
[telegram]
api_id = 1
api_hash = "0123456789abcdef0123456789abcdef"
bot_token = "{token}"
bot_username = "{name}"
[telegram.test_dc]
address = "{addr}"
auth_key_file = "{key}"
[postback]
timeout = "2s"
backoff = "100ms"
backoff_max = "1s"
allow_private_targets = true
"#,
        db = dir.join("tgtrack.db").display(),
        token = sim.bot_token(),
        name = sim.bot_username(),
        addr = sim.addr(),
        key = key.display(),
    );
    Config::from_toml(&text, |_| None).unwrap()
}

impl World {
    pub fn new() -> World {
        World::with_tick(Duration::from_millis(100))
    }

    /// A world whose scheduler runs only every `tick` (or when poked): for
    /// tests that must place an event before the next sweep.
    pub fn with_tick(tick: Duration) -> World {
        let _ = env_logger::builder().is_test(true).try_init();
        let sim = Sim::start(SimConfig {
            precheckout_timeout: Duration::from_secs(3),
            ..SimConfig::default()
        })
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let cfg = config(dir.path(), &sim);
        let receiver = Receiver::start();
        let clock = Clock::new();
        let mut w = World {
            sim,
            daemon: None,
            receiver,
            dir,
            clock,
            cfg,
            tick,
        };
        w.start_daemon();
        w
    }

    pub fn start_daemon(&mut self) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let opts = StartOptions {
            listener: Some(listener),
            clock: self.clock.clone(),
            tick: self.tick,
            checkpoint_every: Duration::from_millis(200),
        };
        self.daemon = Some(app::start(self.cfg.clone(), opts).unwrap());
    }

    pub fn stop_daemon(&mut self) {
        if let Some(d) = self.daemon.take() {
            d.shutdown().unwrap();
        }
    }

    pub fn daemon(&self) -> &Daemon {
        self.daemon.as_ref().expect("daemon running")
    }

    pub fn store(&self) -> store::Store {
        self.daemon().store.clone()
    }

    /// Creates an offer through the store, posting back every status to the receiver.
    pub fn offer(&self, action: Action, target: Target, f: impl FnOnce(&mut NewOffer)) -> OfferId {
        let mut o = NewOffer {
            name: format!("{action} test"),
            advertiser_id: None,
            action,
            target,
            status: OfferStatus::Active,
            price: PricePair {
                regular: 5,
                premium: 10,
            },
            payout: "0.5".into(),
            currency: "USD".into(),
            caps: Caps::default(),
            schedule: Schedule::Always,
            timezone: "UTC".into(),
            hold_seconds: 3600,
            budget_total: None,
            postback: PostbackSpec {
                url: Some(self.receiver.url()),
                method: PostbackMethod::Get,
                preset: "generic".into(),
                statuses: vec![
                    ConversionStatus::Lead,
                    ConversionStatus::Hold,
                    ConversionStatus::Approved,
                    ConversionStatus::Rejected,
                ],
                send_user_id: false,
            },
            relay_secret: Some("relay-secret".into()),
        };
        f(&mut o);
        self.store()
            .write(|tx| store::offers::insert_offer(tx, &o, store::unix_now()))
            .unwrap()
    }

    /// GETs /click and returns the start token from the redirect.
    pub fn click(&self, offer: OfferId, uid: &str) -> String {
        let (status, location) = http_get(self.daemon().addr, &format!("/click/{offer}?uid={uid}"));
        assert_eq!(status, 302, "click answered {status}");
        let location = location.expect("Location header");
        location
            .split("start=")
            .nth(1)
            .expect("start token")
            .to_string()
    }

    pub fn conversion(&self, offer: OfferId, user: i64, action: Action) -> Option<Conversion> {
        self.store()
            .read(|c| store::conversions::by_key(c, offer, user, action))
            .unwrap()
    }

    /// Waits for the conversion to reach `status`.
    pub fn wait_status(
        &self,
        offer: OfferId,
        user: i64,
        action: Action,
        status: ConversionStatus,
    ) -> Conversion {
        let ok = wait_until(|| {
            self.conversion(offer, user, action)
                .is_some_and(|c| c.status == status)
        });
        let c = self.conversion(offer, user, action);
        assert!(
            ok,
            "conversion of user {user} on offer {offer} never became {status}: {c:?}"
        );
        c.unwrap()
    }

    /// Passes the hold window on the daemon's clock and runs the scheduler.
    pub fn pass_hold(&self, secs: i64) {
        self.clock.advance(secs);
        self.daemon().poke_scheduler();
    }

    /// Waits until the bot sent `user` a message containing `needle`.
    pub fn wait_message(&self, user: i64, needle: &str) -> tgsim::ObservedMessage {
        let found = self.sim.wait_for(
            |o| {
                o.messages
                    .iter()
                    .any(|m| m.peer == tgsim::PeerKey::User(user) && m.text.contains(needle))
            },
            WAIT,
        );
        let msgs = self.sim.sent_to(user);
        assert!(
            found,
            "no message with {needle:?} to user {user}; got {:#?}",
            msgs.iter().map(|m| &m.text).collect::<Vec<_>>()
        );
        msgs.into_iter()
            .rev()
            .find(|m| m.text.contains(needle))
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        // Never panic here: a failing test is already unwinding.
        if let Some(d) = self.daemon.take() {
            if let Err(e) = d.shutdown() {
                eprintln!("daemon shutdown: {e:#}");
            }
        }
    }
}

/// A plain HTTP/1.1 GET; returns (status, Location).
pub fn http_get(addr: SocketAddr, path: &str) -> (u16, Option<String>) {
    http_get_as(addr, path, "e2e")
}

/// A GET with a given User-Agent; returns (status, Location).
pub fn http_get_as(addr: SocketAddr, path: &str, user_agent: &str) -> (u16, Option<String>) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nUser-Agent: {user_agent}\r\nConnection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let location = text.lines().find_map(|l| {
        l.strip_prefix("Location: ")
            .or_else(|| l.strip_prefix("location: "))
            .map(|v| v.trim().to_string())
    });
    (status, location)
}

/// A plain HTTP/1.1 POST with headers; returns (status, body).
pub fn http_post(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, String)],
    body: &[u8],
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut req = format!("POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split("\r\n\r\n").nth(1).unwrap_or("").to_string();
    (status, body)
}
