//! /click benchmark: requests per second, p50/p99 latency and the server's
//! peak RSS at 32 concurrent keep-alive connections, checking afterwards that
//! every answered click is in the database.
//!
//!     cargo bench --bench click -- [--runs 3] [--secs 10] [--conns 32] [--workers 4]
//!
//! The server runs in a child process (this same executable, re-run with
//! `TGTRACK_BENCH_SERVER` set) so its VmHWM is the server's alone, not the load
//! generator's. The child is the daemon's HTTP part as `app::start` builds it:
//! the store (WAL, one writer, reader pool), the background checkpointer, and
//! `http::run` with a bot username. The full `tgtrack run` binary is not used
//! because without a reachable Telegram it runs with no bot, and then every
//! click is (correctly) a 503.
//!
//! Every request is a new click (a fresh uid), the insert path; each answer's
//! token is kept and looked up in the database after the run.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use tgtrack::config::Config;
use tgtrack::domain::offer::{
    Action, Caps, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair, Target,
};
use tgtrack::domain::schedule::Schedule;
use tgtrack::http::{self, Context, Shutdown};
use tgtrack::store::offers::{insert_offer, NewOffer};
use tgtrack::store::{unix_now, Store};

const BOT: &str = "bench_bot";

struct Args {
    runs: usize,
    secs: u64,
    conns: usize,
    workers: usize,
}

fn args() -> Args {
    let mut a = Args {
        runs: 3,
        secs: 10,
        conns: 32,
        workers: 4,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = || argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match argv[i].as_str() {
            "--runs" => a.runs = next().expect("--runs N") as usize,
            "--secs" => a.secs = next().expect("--secs N"),
            "--conns" => a.conns = next().expect("--conns N") as usize,
            "--workers" => a.workers = next().expect("--workers N") as usize,
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn main() {
    if let Ok(db) = std::env::var("TGTRACK_BENCH_SERVER") {
        serve(&db);
        return;
    }
    let a = args();
    println!(
        "click bench: {} run(s) x {} s, {} keep-alive connections, {} HTTP workers; machine: {} CPUs, {}",
        a.runs,
        a.secs,
        a.conns,
        a.workers,
        thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model()
    );
    let mut results = Vec::new();
    for run in 1..=a.runs {
        // Other processes on the machine skew the figures; the load average says how much.
        let load_before = loadavg();
        let r = one_run(&a);
        println!(
            "run {run}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, peak RSS {:.1} MiB, {} clicks answered, {} found in the database, non-302: {} (loadavg before {load_before}, after {})",
            r.rps, r.p50_ms, r.p99_ms, r.max_ms, r.rss_mib, r.answered, r.found, r.non_302, loadavg()
        );
        assert_eq!(
            r.found, r.answered,
            "an answered click is missing from the database"
        );
        results.push(r);
    }
    let median = |f: fn(&RunResult) -> f64| {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "median of {}: {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, peak RSS {:.1} MiB",
        results.len(),
        median(|r| r.rps),
        median(|r| r.p50_ms),
        median(|r| r.p99_ms),
        median(|r| r.rss_mib)
    );
}

/// The child: the daemon's HTTP side on a fresh database, until stdin closes.
fn serve(db: &str) {
    let workers: usize = std::env::var("TGTRACK_BENCH_WORKERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let mut cfg = Config::from_toml("", |_| None).expect("default config");
    cfg.http.threads = workers;
    // As app::start sizes it.
    let store =
        Store::open(std::path::Path::new(db), (workers as u32 + 2).min(16)).expect("open store");
    let (checkpoint_stop, checkpoint) = store.spawn_checkpointer(Duration::from_secs(1));
    let offer = store
        .write(|tx| insert_offer(tx, &bench_offer(), unix_now()))
        .expect("insert offer");
    let ctx = Context::new(store.clone(), &cfg.http, Some(BOT.into())).expect("context");
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().unwrap();
    let shutdown = Shutdown::new();
    let stop = shutdown.clone();
    thread::spawn(move || {
        // The parent closes our stdin when it is done.
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        stop.trigger();
    });
    println!("{addr} {}", offer.0);
    std::io::stdout().flush().unwrap();
    http::run(listener, ctx, shutdown).expect("http::run");
    drop(checkpoint_stop);
    let _ = checkpoint.join();
}

fn bench_offer() -> NewOffer {
    NewOffer {
        name: "bench".into(),
        advertiser_id: None,
        action: Action::StartBot,
        target: Target::default(),
        status: OfferStatus::Active,
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
    }
}

struct RunResult {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rss_mib: f64,
    answered: usize,
    found: usize,
    non_302: usize,
}

struct ConnResult {
    latencies_us: Vec<u32>,
    tokens: Vec<String>,
    non_302: usize,
}

fn one_run(a: &Args) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bench.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env("TGTRACK_BENCH_SERVER", &db)
        .env("TGTRACK_BENCH_WORKERS", a.workers.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the server child");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let mut parts = line.split_whitespace();
    let addr: SocketAddr = parts.next().expect("child address").parse().unwrap();
    let offer: i64 = parts.next().expect("offer id").parse().unwrap();

    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let handles: Vec<_> = (0..a.conns)
        .map(|i| {
            let (measuring, stop) = (measuring.clone(), stop.clone());
            thread::spawn(move || load(addr, offer, i, &measuring, &stop))
        })
        .collect();
    // One second of warm-up (connections, page cache, prepared statements) is not counted.
    thread::sleep(Duration::from_secs(1));
    measuring.store(true, Ordering::SeqCst);
    let t0 = Instant::now();
    thread::sleep(Duration::from_secs(a.secs));
    stop.store(true, Ordering::SeqCst);
    let results: Vec<ConnResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let elapsed = t0.elapsed().as_secs_f64();

    let rss_mib = peak_rss_kib(child.id()) as f64 / 1024.0;
    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success(), "server child failed: {status}");

    let mut lat: Vec<u32> = results
        .iter()
        .flat_map(|r| r.latencies_us.iter().copied())
        .collect();
    lat.sort_unstable();
    let pct = |p: f64| lat[((lat.len() as f64 * p) as usize).min(lat.len() - 1)] as f64 / 1000.0;
    let tokens: Vec<&String> = results.iter().flat_map(|r| r.tokens.iter()).collect();
    let conn =
        rusqlite::Connection::open_with_flags(&db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .unwrap();
    let mut st = conn
        .prepare("SELECT count(*) FROM clicks WHERE token = ?1")
        .unwrap();
    let found = tokens
        .iter()
        .filter(|t| st.query_row([t.as_str()], |r| r.get::<_, i64>(0)).unwrap() == 1)
        .count();
    RunResult {
        rps: lat.len() as f64 / elapsed,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
        max_ms: *lat.last().unwrap() as f64 / 1000.0,
        rss_mib,
        answered: tokens.len(),
        found,
        non_302: results.iter().map(|r| r.non_302).sum(),
    }
}

/// One keep-alive connection sending clicks back to back.
fn load(
    addr: SocketAddr,
    offer: i64,
    conn: usize,
    measuring: &AtomicBool,
    stop: &AtomicBool,
) -> ConnResult {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let mut out = ConnResult {
        latencies_us: Vec::with_capacity(1 << 16),
        tokens: Vec::with_capacity(1 << 16),
        non_302: 0,
    };
    let mut req = Vec::with_capacity(256);
    let mut buf = vec![0u8; 4096];
    let marker = b"?start=";
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        req.clear();
        write!(req, "GET /click/{offer}?uid=c{conn}-{n}&sub1=bench HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench/1\r\n\r\n").unwrap();
        n += 1;
        let t = Instant::now();
        s.write_all(&req).unwrap();
        // Read one answer: our 302s have no body, so the head is the whole answer.
        let mut len = 0;
        loop {
            let k = s.read(&mut buf[len..]).unwrap();
            assert!(k > 0, "server closed the connection");
            len += k;
            if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
        let us = t.elapsed().as_micros() as u32;
        let head = &buf[..len];
        if !head.starts_with(b"HTTP/1.1 302") {
            out.non_302 += 1;
            continue;
        }
        if measuring.load(Ordering::Relaxed) {
            out.latencies_us.push(us);
            let at = head
                .windows(marker.len())
                .position(|w| w == marker)
                .expect("start token")
                + marker.len();
            let end = head[at..].iter().position(|b| *b == b'\r').unwrap() + at;
            out.tokens
                .push(String::from_utf8(head[at..end].to_vec()).unwrap());
        }
    }
    out
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().next().unwrap_or("?").to_string())
        .unwrap_or_default()
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}
