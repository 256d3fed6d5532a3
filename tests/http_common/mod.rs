//! Shared by the `http_*` integration tests: a real server on 127.0.0.1:0 over
//! a real SQLite file in a temp dir, started through the same `http::run` that
//! `main` uses, and a minimal raw HTTP/1.1 client (raw, because the tests send
//! malformed and slow requests no client library would).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use tgtrack::config::{Config, IpNet};
use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair, Target,
};
use tgtrack::domain::schedule::Schedule;
use tgtrack::http::{self, Context, Shutdown};
use tgtrack::store::offers::{insert_offer, NewOffer};
use tgtrack::store::{unix_now, OfferId, Store};

pub struct Opts {
    pub bot: Option<&'static str>,
    pub trusted_proxies: Vec<&'static str>,
    pub read_timeout: Duration,
    pub threads: usize,
    /// Serve `POST /postbacks/relay` with a real engine (else it answers 501).
    pub relay: bool,
}

impl Default for Opts {
    fn default() -> Self {
        Opts {
            bot: Some("demo_bot"),
            trusted_proxies: vec![],
            read_timeout: Duration::from_secs(5),
            threads: 4,
            relay: false,
        }
    }
}

pub struct TestServer {
    pub addr: SocketAddr,
    pub store: Store,
    pub db_path: std::path::PathBuf,
    pub shutdown: Shutdown,
    handle: Option<JoinHandle<anyhow::Result<()>>>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start(opts: Opts) -> TestServer {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("tgtrack.db");
        let store = Store::open(&db_path, 4).unwrap();
        let mut http_cfg = Config::from_toml("", |_| None).unwrap().http;
        http_cfg.threads = opts.threads;
        http_cfg.read_timeout = opts.read_timeout;
        http_cfg.trusted_proxies = opts
            .trusted_proxies
            .iter()
            .map(|s| IpNet::parse(s).unwrap())
            .collect();
        let mut ctx = Context::new(store.clone(), &http_cfg, opts.bot.map(String::from)).unwrap();
        if opts.relay {
            // The worker is not started: postbacks stay queued, which is all we need.
            let (waker, _inbox) = tgtrack::postback::worker::channel();
            ctx = ctx.with_relay(
                tgtrack::engine::Engine::new(store.clone(), waker),
                tgtrack::clock::Clock::new(),
            );
        }
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shutdown = Shutdown::new();
        let s = shutdown.clone();
        let handle = std::thread::spawn(move || http::run(listener, ctx, s));
        TestServer {
            addr,
            store,
            db_path,
            shutdown,
            handle: Some(handle),
            _dir: dir,
        }
    }

    pub fn offer(&self, status: OfferStatus) -> OfferId {
        let o = NewOffer {
            name: "Start the demo bot".into(),
            advertiser_id: None,
            action: Action::StartBot,
            target: Target::default(),
            status,
            price: PricePair {
                regular: 3,
                premium: 10,
            },
            payout: "0.1".into(),
            currency: "USD".into(),
            caps: Caps::default(),
            schedule: Schedule::Always,
            timezone: "UTC".into(),
            hold_seconds: 0,
            budget_total: None,
            postback: PostbackSpec {
                url: None,
                method: PostbackMethod::Get,
                preset: "generic".into(),
                statuses: vec![ConversionStatus::Approved],
                send_user_id: false,
            },
            relay_secret: None,
        };
        self.store
            .write(|tx| insert_offer(tx, &o, unix_now()))
            .unwrap()
    }

    /// A separate connection to the same file, as another process would see it.
    pub fn open_db(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(
            &self.db_path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap()
    }

    /// Triggers shutdown and waits for `run` to return.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        match self.handle.take() {
            Some(h) => h.join().expect("http::run panicked"),
            None => Ok(()),
        }
    }

    pub fn get(&self, target: &str) -> Response {
        Conn::open(self.addr).get(target, &[])
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One keep-alive connection.
pub struct Conn {
    pub reader: BufReader<TcpStream>,
    pub stream: TcpStream,
}

impl Conn {
    pub fn open(addr: SocketAddr) -> Conn {
        let stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    pub fn send(&mut self, raw: &[u8]) {
        self.stream.write_all(raw).unwrap();
    }

    pub fn request(&mut self, method: &str, target: &str, headers: &[(&str, &str)]) -> Response {
        let mut raw = format!("{method} {target} HTTP/1.1\r\nHost: test\r\n");
        for (n, v) in headers {
            raw.push_str(&format!("{n}: {v}\r\n"));
        }
        raw.push_str("\r\n");
        self.send(raw.as_bytes());
        self.read_response(method == "HEAD").expect("a response")
    }

    pub fn get(&mut self, target: &str, headers: &[(&str, &str)]) -> Response {
        self.request("GET", target, headers)
    }

    /// Reads one response; `None` if the server closed the connection first.
    pub fn read_response(&mut self, head_only: bool) -> Option<Response> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let status: u16 = line.split(' ').nth(1)?.parse().ok()?;
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            self.reader.read_line(&mut h).ok()?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            let (n, v) = h.split_once(':')?;
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
        let mut r = Response {
            status,
            headers,
            body: Vec::new(),
        };
        if !head_only {
            if let Some(len) = r
                .header("Content-Length")
                .and_then(|l| l.parse::<usize>().ok())
            {
                r.body = vec![0; len];
                self.reader.read_exact(&mut r.body).ok()?;
            } else if r.header("Transfer-Encoding").is_some() {
                panic!("chunked responses are not expected from the sidecar");
            }
        }
        Some(r)
    }

    /// True if the server has closed its side (EOF) within the socket timeout.
    pub fn closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 256];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// The `start` token of a click redirect.
pub fn start_token(r: &Response) -> String {
    let loc = r.header("Location").expect("Location header");
    loc.strip_prefix("https://t.me/demo_bot?start=")
        .unwrap_or_else(|| panic!("unexpected Location {loc}"))
        .to_string()
}
