//! Bot update benchmark: action updates processed per second end to end
//! through tgsim, and the daemon's memory when idle and under load
//! (issue 4, BENCHMARKS.md).
//!
//!     cargo bench --bench bot_updates -- [--runs 3] [--users 5000] [--start-users 5000] [--window 32] [--timeout 120]
//!
//! `--window W` keeps at most W actions in flight (sent to tgsim, not yet in
//! the database), which measures sustained throughput. `--window 0` sends each
//! phase's actions all at once (a burst; the daemon raises grammers' update
//! queue to 10,000 so a burst is not dropped).
//! Profiling: BENCH_DAEMON_WRAPPER="heaptrack -o /tmp/ht" (or "perf record ...")
//! runs the daemon under the tool and stops it with SIGTERM.
//!
//! Each run starts from nothing:
//! * tgsim runs in this process (`tgsim::Sim::start`), with a channel where
//!   the bot is an admin and `--users` + `--start-users` users;
//! * the real `tgtrack` binary runs as a child, `tgtrack --config F run`, with
//!   `[telegram.test_dc]` pointing at the simulator, so the RSS read from
//!   /proc/PID/status is the daemon's alone;
//! * two offers are written into the daemon's SQLite file through the store
//!   (`join_channel` on the channel, `start_bot`), and one click per user is
//!   made by real HTTP `GET /click/{offer}?uid=..` against the child (before
//!   the clock starts; the token comes from the Location header).
//!
//! Then three timed phases, each from the first simulated action until the
//! daemon's effect is in the database (polled every 10 ms with a separate
//! read-only SQLite connection):
//! * A `/start TOKEN` of the join offer by each of `--users` users: done when
//!   every user has a conversion row (status lead) and the bot has sent every
//!   task card (seen by tgsim; the card needs a `channels.getParticipant`);
//! * B each of those users joins the channel (`updateChannelParticipant`):
//!   done when every conversion is in status hold;
//! * C `/start TOKEN` of the start_bot offer by each of `--start-users` other
//!   users: done when every one of those conversions is in status hold.
//!
//! Updates/s = action updates / elapsed. The combined figure is all updates
//! over the summed time of the three phases. After the load the daemon is
//! killed with SIGKILL and the conversions are counted again from the file:
//! "durable" means committed to the WAL and visible after a crash of the
//! process.

mod common;
use common::*;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags, OptionalExtension};
use tgsim::{AdminRights, ChatSpec, PeerKey, Sim, SimConfig, UserSpec};
use tgtrack::domain::offer::{
    Action, Caps, ChatKind, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair,
    Target,
};
use tgtrack::domain::schedule::Schedule;
use tgtrack::store::offers::{insert_offer, NewOffer};
use tgtrack::store::{unix_now, Store};

struct Args {
    runs: usize,
    users: usize,
    start_users: usize,
    timeout: Duration,
    keep: bool,
    /// Most actions in flight (sent, not yet in the database); 0 = all at once.
    window: usize,
}

fn args() -> Args {
    let mut a = Args {
        runs: 3,
        users: 5000,
        start_users: 5000,
        timeout: Duration::from_secs(120),
        keep: false,
        window: 32,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = || argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match argv[i].as_str() {
            "--runs" => a.runs = next().expect("--runs N") as usize,
            "--users" => a.users = next().expect("--users N") as usize,
            "--start-users" => a.start_users = next().expect("--start-users N") as usize,
            "--window" => a.window = next().expect("--window N") as usize,
            "--timeout" => a.timeout = Duration::from_secs(next().expect("--timeout SECS")),
            "--keep" => {
                a.keep = true;
                i += 1;
                continue;
            }
            _ => {
                // `cargo bench` passes --bench; ignore what we do not know.
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    a
}

fn main() {
    let a = args();
    let bin = env!("CARGO_BIN_EXE_tgtrack");
    println!(
        "bot_updates bench: {} run(s); phase A {} x /start (join offer), B {} x join, C {} x /start (start_bot offer); window {}",
        a.runs,
        a.users,
        a.users,
        a.start_users,
        if a.window == 0 { "none (each phase's actions all at once)".to_string() } else { format!("{} actions in flight", a.window) }
    );
    println!(
        "daemon: {bin} (child process); machine: {} CPUs, {}, {} MiB RAM",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        mem_total_mib()
    );
    let mut results = Vec::new();
    for run in 1..=a.runs {
        let r = one_run(&a, bin);
        println!(
            "run {run}: A {:.0}/s ({:.2} s), B {:.0}/s ({:.2} s), C {:.0}/s ({:.2} s), all {:.0} updates/s; \
             RSS idle {:.1} MiB, peak {:.1} MiB (VmHWM {:.1}), after {:.1} MiB; durable after SIGKILL: {}/{} join holds, {}/{} start holds; \
             log: {} warn, {} error lines",
            r.rate_a, r.secs_a, r.rate_b, r.secs_b, r.rate_c, r.secs_c, r.rate_all,
            r.rss_idle, r.rss_peak, r.hwm, r.rss_after, r.durable_join, a.users, r.durable_start, a.start_users, r.warns, r.errors
        );
        if r.timed_out {
            println!(
                "run {run}: A PHASE TIMED OUT after {:?}; see the counts above",
                a.timeout
            );
        }
        results.push(r);
    }
    let median = |f: &dyn Fn(&RunResult) -> f64| {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    println!(
        "median of {}: A {:.0}/s, B {:.0}/s, C {:.0}/s, all {:.0} updates/s; RSS idle {:.1} MiB, peak {:.1} MiB, VmHWM {:.1} MiB, after {:.1} MiB",
        results.len(),
        median(&|r| r.rate_a),
        median(&|r| r.rate_b),
        median(&|r| r.rate_c),
        median(&|r| r.rate_all),
        median(&|r| r.rss_idle),
        median(&|r| r.rss_peak),
        median(&|r| r.hwm),
        median(&|r| r.rss_after),
    );
}

struct RunResult {
    secs_a: f64,
    secs_b: f64,
    secs_c: f64,
    rate_a: f64,
    rate_b: f64,
    rate_c: f64,
    rate_all: f64,
    rss_idle: f64,
    rss_peak: f64,
    hwm: f64,
    rss_after: f64,
    durable_join: i64,
    durable_start: i64,
    warns: usize,
    errors: usize,
    timed_out: bool,
}

fn one_run(a: &Args, bin: &str) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tgtrack.db");
    let sim = Sim::start(SimConfig::default()).expect("start tgsim");
    let key = dir.path().join("tgsim.key");
    sim.write_auth_key_file(&key).unwrap();

    // The world.
    let channel = sim
        .add_channel(ChatSpec::new("Bench News").username("bench_news"))
        .unwrap();
    sim.set_bot_admin(channel, AdminRights::all()).unwrap();
    let mk_user = |i: usize| {
        let lang = if i % 2 == 0 { "en" } else { "ru" };
        sim.add_user(
            UserSpec::new(&format!("User{i}"))
                .lang(lang)
                .premium(i % 10 == 0),
        )
        .unwrap()
    };
    let joiners: Vec<i64> = (0..a.users).map(mk_user).collect();
    let starters: Vec<i64> = (0..a.start_users).map(|i| mk_user(a.users + i)).collect();

    // The daemon, as an operator runs it.
    let (cfg, http) = common::daemon_config(dir.path(), &db, &key, &sim);
    let log = dir.path().join("daemon.log");
    let t_spawn = Instant::now();
    // For profiling only: BENCH_DAEMON_WRAPPER="heaptrack -o /tmp/x" or "perf record -g -o /tmp/p"
    // (RSS figures then belong to the wrapper process and are meaningless).
    let wrapper: Vec<String> = std::env::var("BENCH_DAEMON_WRAPPER")
        .map(|w| w.split_whitespace().map(String::from).collect())
        .unwrap_or_default();
    let mut cmd = match wrapper.split_first() {
        Some((w, rest)) => {
            let mut c = Command::new(w);
            c.args(rest).arg(bin);
            c
        }
        None => Command::new(bin),
    };
    let child = cmd
        .arg("--config")
        .arg(&cfg)
        .arg("run")
        .env(
            "RUST_LOG",
            std::env::var("BENCH_RUST_LOG").unwrap_or_else(|_| "info".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn tgtrack run");
    let mut daemon = Daemon(child);
    let pid = daemon.0.id();
    // app::start answers HTTP only after the bot logged in.
    let deadline = Instant::now() + Duration::from_secs(120);
    while http_status(http, "/healthz") != Some(200) {
        if let Ok(Some(st)) = daemon.0.try_wait() {
            panic!(
                "tgtrack exited with {st}:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        }
        assert!(
            Instant::now() < deadline,
            "tgtrack did not come up:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let up = t_spawn.elapsed();
    // With a wrapper, measure (and later stop) the tgtrack process under it.
    let pid = if wrapper.is_empty() {
        pid
    } else {
        descendant_named(pid, "tgtrack").expect("the tgtrack process under the wrapper")
    };

    // Offers, through the store on the same file.
    let store = Store::open(&db, 1).expect("open the daemon's database");
    let join_offer = store
        .write(|tx| insert_offer(tx, &offer(Action::JoinChannel, channel), unix_now()))
        .unwrap()
        .0;
    let start_offer = store
        .write(|tx| insert_offer(tx, &offer(Action::StartBot, channel), unix_now()))
        .unwrap()
        .0;
    drop(store);

    // Clicks, by real HTTP (not timed).
    let t_clicks = Instant::now();
    let join_tokens = clicks(http, join_offer, "j", a.users);
    let start_tokens = clicks(http, start_offer, "s", a.start_users);
    let clicks_secs = t_clicks.elapsed().as_secs_f64();

    // Idle: logged in, offers and clicks in, no updates yet.
    std::thread::sleep(Duration::from_secs(2));
    let rss_idle = rss_kib(pid, "VmRSS:") as f64 / 1024.0;
    println!(
        "  daemon up in {:.2} s; {} clicks by HTTP in {clicks_secs:.2} s; idle RSS {rss_idle:.1} MiB (VmHWM so far {:.1})",
        up.as_secs_f64(),
        a.users + a.start_users,
        rss_kib(pid, "VmHWM:") as f64 / 1024.0
    );

    let q = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let count = |sql: &str, offer: i64| -> i64 {
        q.query_row(sql, [offer], |r| r.get(0))
            .optional()
            .unwrap()
            .unwrap_or(0)
    };
    const ALL: &str = "SELECT count(*) FROM conversions WHERE offer_id = ?1";
    const HOLD: &str = "SELECT count(*) FROM conversions WHERE offer_id = ?1 AND status = 'hold'";
    let mut peak = 0u64;
    let mut timed_out = false;
    let n = a.users as i64;
    let ns = a.start_users as i64;
    let private_msgs = |o: &tgsim::Observations| {
        o.messages
            .iter()
            .filter(|m| matches!(m.peer, PeerKey::User(_)))
            .count()
    };

    // Phase A: /start with the join offer's token.
    let msgs_before = {
        let mut c = 0;
        sim.wait_for(
            |o| {
                c = private_msgs(o);
                true
            },
            Duration::ZERO,
        );
        c
    };
    let progress_a = || {
        let mut cards = 0;
        sim.wait_for(
            |o| {
                cards = private_msgs(o) - msgs_before;
                true
            },
            Duration::ZERO,
        );
        (count(ALL, join_offer) as usize).min(cards)
    };
    let t = Instant::now();
    drive(a.window, a.users, &progress_a, |i| {
        sim.user_start_bot(joiners[i], Some(&join_tokens[i]))
            .unwrap();
    });
    let drive_a = t.elapsed();
    let ok = wait(a.timeout, pid, &mut peak, || {
        let done = progress_a();
        (
            done >= a.users,
            format!(
                "{} conversions, {done} handled with task card",
                count(ALL, join_offer)
            ),
        )
    });
    timed_out |= !ok;
    let secs_a = t.elapsed().as_secs_f64();
    println!(
        "  A: {} /start sent in {:.3} s, all handled in {secs_a:.3} s",
        a.users,
        drive_a.as_secs_f64()
    );

    // Phase B: every one of them joins the channel.
    let t = Instant::now();
    drive(
        a.window,
        a.users,
        &|| count(HOLD, join_offer) as usize,
        |i| sim.user_join(joiners[i], channel).unwrap(),
    );
    let drive_b = t.elapsed();
    let ok = wait(a.timeout, pid, &mut peak, || {
        (
            count(HOLD, join_offer) >= n,
            format!("{} in hold", count(HOLD, join_offer)),
        )
    });
    timed_out |= !ok;
    let secs_b = t.elapsed().as_secs_f64();
    println!(
        "  B: {} joins sent in {:.3} s, all in hold in {secs_b:.3} s",
        a.users,
        drive_b.as_secs_f64()
    );

    // Phase C: /start with the start_bot offer's token: the start is the action.
    let t = Instant::now();
    drive(
        a.window,
        a.start_users,
        &|| count(HOLD, start_offer) as usize,
        |i| {
            sim.user_start_bot(starters[i], Some(&start_tokens[i]))
                .unwrap();
        },
    );
    let drive_c = t.elapsed();
    let ok = wait(a.timeout, pid, &mut peak, || {
        (
            count(HOLD, start_offer) >= ns,
            format!("{} in hold", count(HOLD, start_offer)),
        )
    });
    timed_out |= !ok;
    let secs_c = t.elapsed().as_secs_f64();
    println!(
        "  C: {} /start sent in {:.3} s, all in hold in {secs_c:.3} s",
        a.start_users,
        drive_c.as_secs_f64()
    );

    let hwm = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
    std::thread::sleep(Duration::from_secs(2));
    let rss_after = rss_kib(pid, "VmRSS:") as f64 / 1024.0;
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Threads:"))
        .map(|l| l.to_string())
        .unwrap_or_default();
    println!(
        "  daemon {threads}; CPU time of the daemon: {}",
        cpu_times(pid)
    );
    drop(q);

    // Durable: kill the process hard and count again from the file.
    if wrapper.is_empty() {
        daemon.0.kill().unwrap();
    } else {
        // Profilers need a clean exit to write their data.
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
    }
    daemon.0.wait().unwrap();
    let q = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_WRITE).unwrap();
    let durable_join: i64 = q.query_row(HOLD, [join_offer], |r| r.get(0)).unwrap();
    let durable_start: i64 = q.query_row(HOLD, [start_offer], |r| r.get(0)).unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let warns = text.lines().filter(|l| l.contains(" WARN ")).count();
    let errors = text.lines().filter(|l| l.contains(" ERROR ")).count();
    for l in text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .take(5)
    {
        println!("  log: {l}");
    }
    if a.keep {
        let kept = dir.keep();
        println!("  kept {}", kept.display());
    }
    sim.shutdown();

    let updates = (2 * a.users + a.start_users) as f64;
    RunResult {
        secs_a,
        secs_b,
        secs_c,
        rate_a: a.users as f64 / secs_a,
        rate_b: a.users as f64 / secs_b,
        rate_c: a.start_users as f64 / secs_c,
        rate_all: updates / (secs_a + secs_b + secs_c),
        rss_idle,
        rss_peak: peak as f64 / 1024.0,
        hwm,
        rss_after,
        durable_join,
        durable_start,
        warns,
        errors,
        timed_out,
    }
}

/// Sends actions `0..total`, keeping at most `window` in flight (sent minus
/// `done()`); with `window` 0 all are sent at once.
fn drive(window: usize, total: usize, done: &dyn Fn() -> usize, mut act: impl FnMut(usize)) {
    let mut sent = 0;
    let deadline = Instant::now() + Duration::from_secs(300);
    while sent < total {
        assert!(
            Instant::now() < deadline,
            "drive: stuck with {sent} of {total} actions sent"
        );
        let limit = if window == 0 {
            total
        } else {
            (done() + window).min(total)
        };
        while sent < limit {
            act(sent);
            sent += 1;
        }
        if sent < total {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Polls `done` every 10 ms (sampling the daemon's RSS) until it holds or the timeout passes.
fn wait(
    timeout: Duration,
    pid: u32,
    peak: &mut u64,
    mut done: impl FnMut() -> (bool, String),
) -> bool {
    let deadline = Instant::now() + timeout;
    let mut last_report = Instant::now();
    loop {
        *peak = (*peak).max(rss_kib(pid, "VmRSS:"));
        let (ok, what) = done();
        if ok {
            return true;
        }
        if Instant::now() > deadline {
            println!("  TIMEOUT: {what}");
            return false;
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            println!("  ... still waiting: {what}");
            last_report = Instant::now();
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn offer(action: Action, channel: i64) -> NewOffer {
    let target = match action {
        Action::JoinChannel => Target {
            chat_id: Some(channel),
            chat_kind: Some(ChatKind::Channel),
            username: Some("bench_news".into()),
            title: Some("Bench News".into()),
            ..Default::default()
        },
        _ => Target::default(),
    };
    NewOffer {
        name: format!("bench {action}"),
        advertiser_id: None,
        action,
        target,
        status: OfferStatus::Active,
        price: PricePair {
            regular: 1,
            premium: 2,
        },
        payout: "0.10".into(),
        currency: "USD".into(),
        caps: Caps::default(),
        schedule: Schedule::Always,
        timezone: "UTC".into(),
        hold_seconds: 72 * 3600,
        budget_total: None,
        // No postback URL: the postback worker is benchmarked on its own (benches/postback_drain.rs).
        postback: PostbackSpec {
            url: None,
            method: PostbackMethod::Get,
            preset: "generic".into(),
            statuses: vec![ConversionStatus::Hold],
            send_user_id: false,
        },
        relay_secret: None,
    }
}

/// `n` clicks on `offer` over two keep-alive connections; returns the start tokens in order.
fn clicks(addr: SocketAddr, offer: i64, prefix: &str, n: usize) -> Vec<String> {
    let conns = 2;
    let handles: Vec<_> = (0..conns)
        .map(|c| {
            let prefix = prefix.to_string();
            std::thread::spawn(move || {
                let mut s = TcpStream::connect(addr).unwrap();
                s.set_nodelay(true).unwrap();
                let mut buf = vec![0u8; 4096];
                let mut out = Vec::new();
                for i in (c..n).step_by(conns) {
                    write!(s, "GET /click/{offer}?uid={prefix}{i} HTTP/1.1\r\nHost: bench\r\nUser-Agent: bench/1\r\n\r\n").unwrap();
                    let mut len = 0;
                    loop {
                        let k = s.read(&mut buf[len..]).unwrap();
                        assert!(k > 0, "the daemon closed the connection");
                        len += k;
                        if buf[..len].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                    let head = String::from_utf8_lossy(&buf[..len]).to_string();
                    assert!(head.starts_with("HTTP/1.1 302"), "click answered {head}");
                    let token = head.split("start=").nth(1).and_then(|t| t.split("\r\n").next()).expect("start token").to_string();
                    out.push((i, token));
                }
                out
            })
        })
        .collect();
    let mut all: Vec<(usize, String)> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    all.sort();
    all.into_iter().map(|(_, t)| t).collect()
}
