//! /ads wizard benchmark (issue 7): N advertisers walk the campaign wizard at
//! once through tgsim; time from each user input to the bot's reply, and the
//! daemon's peak RSS (BENCHMARKS.md).
//!
//!     cargo bench --bench ads_wizard -- [--advertisers 200] [--runs 3] [--channels 0] [--think-ms 0] [--pay] [--timeout 120] [--keep]
//!
//! Each run starts from nothing:
//! * tgsim runs in this process (`tgsim::Sim::start`) with `--channels`
//!   public channels where the bot is an admin (0, the default: one per
//!   advertiser) and `--advertisers` English-speaking users, all made before
//!   the daemon logs in;
//! * the real `tgtrack --config F run` runs as a child process, pointed at
//!   the simulator with `[telegram.test_dc]`, with its default log filter, so
//!   the RSS read from /proc/PID/status is the daemon's alone.
//!
//! Then every advertiser, on its own thread, released together by a barrier,
//! walks the join-campaign wizard as fast as the bot answers (closed loop;
//! `--think-ms M` adds a random pause of 0..2M ms before each input):
//!
//!   /ads · t.me link · "Join" · "6 12" · "10" · "No hourly/daily/weekly caps"
//!   · "24/7" · a time zone (advertiser i takes zone button i mod 8) ·
//!   "Default: …" hold · a name · "Use <slug>" → the review card
//!   [· with --pay: "💳 Pay" → invoice, and paying it → "sent for review"].
//!
//! How latency is measured. One watcher thread sits in `sim.wait_for`, whose
//! predicate runs under tgsim's world lock each time tgsim records something
//! (the bot's `messages.sendMessage` included). It looks only at messages
//! appended since its last call, stamps them with one `Instant::now()` and
//! hands each to the inbox (mutex + condvar) of the advertiser it was sent to.
//! An advertiser thread takes `t0 = Instant::now()` right before
//! `user_send_text` / `user_press_button` / `user_pay_invoice`, then sleeps on
//! its inbox. For each input two figures are kept:
//! * reply: the first message the bot sent that user after the input
//!   (`stamp - t0`); this is the headline figure;
//! * screen: the message that completes the step (the next screen's text);
//!   it differs from the reply only where the bot answers in several
//!   messages: the link ("Checking …" first, then the actions after the
//!   Telegram calls of the inspection) and Pay ("Creating the invoice…", the
//!   invoice, then "awaits payment").
//!
//! The stamp is taken when the watcher sees the message, i.e. after tgsim
//! stored it plus one condvar wake-up: the overhead is that wake-up, not a
//! poll interval, and the waiting advertiser threads never touch tgsim's lock.
//! A reply that is not the expected screen fails the walk (and is reported).
//!
//! The daemon's VmRSS is sampled every 10 ms during the load; VmHWM (peak
//! over its whole life) and VmRSS 2 s after the last reply are reported.
//! Profiling: BENCH_DAEMON_WRAPPER="perf record -g -o /tmp/p" runs the daemon
//! under the tool (RSS figures then belong to the wrapper and are
//! meaningless); BENCH_RUST_LOG sets the daemon's RUST_LOG.

mod common;
use common::*;

use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::time::{Duration, Instant};

use rusqlite::{Connection, OpenFlags};
use tgsim::{
    AdminRights, ButtonKind, ChatSpec, ObservedMedia, ObservedMessage, PeerKey, Sim, SimConfig,
    UserSpec,
};

struct Args {
    runs: usize,
    advertisers: usize,
    /// Public channels; 0 = one per advertiser.
    channels: usize,
    think_ms: u64,
    pay: bool,
    timeout: Duration,
    keep: bool,
}

fn args() -> Args {
    let mut a = Args {
        runs: 3,
        advertisers: 200,
        channels: 0,
        think_ms: 0,
        pay: false,
        timeout: Duration::from_secs(120),
        keep: false,
    };
    let argv: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < argv.len() {
        let next = || argv.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match argv[i].as_str() {
            "--runs" => a.runs = next().expect("--runs N") as usize,
            "--advertisers" => a.advertisers = next().expect("--advertisers N") as usize,
            "--channels" => a.channels = next().expect("--channels N") as usize,
            "--think-ms" => a.think_ms = next().expect("--think-ms MS"),
            "--timeout" => a.timeout = Duration::from_secs(next().expect("--timeout SECS")),
            "--pay" | "--keep" => {
                if argv[i] == "--pay" {
                    a.pay = true;
                } else {
                    a.keep = true;
                }
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
    assert!(
        a.runs > 0 && a.advertisers > 0,
        "--runs and --advertisers must be above 0"
    );
    a
}

/// One input of the walk and what completes its answer.
#[derive(Clone)]
enum Input {
    Text(String),
    /// Presses the newest callback button whose label satisfies the matcher.
    Press(Label),
    /// Pays the newest invoice.
    PayInvoice,
}

#[derive(Clone)]
enum Label {
    Exact(&'static str),
    Prefix(&'static str),
    /// The n-th (mod count) button of the newest message, Back/Cancel left out.
    Nth(usize),
}

impl Label {
    fn matches(&self, text: &str) -> bool {
        match self {
            Label::Exact(s) => text == *s,
            Label::Prefix(s) => text.starts_with(s),
            Label::Nth(_) => false,
        }
    }
}

struct Step {
    name: &'static str,
    input: Input,
    /// Text of the message that completes the step (the next screen).
    done: &'static str,
}

fn walk(i: usize, link: &str, pay: bool) -> Vec<Step> {
    let text = |s: &str| Input::Text(s.to_string());
    let mut v = vec![
        Step {
            name: "/ads",
            input: text("/ads"),
            done: "New campaign",
        },
        Step {
            name: "link",
            input: text(link),
            done: "What should the user do?",
        },
        Step {
            name: "Join",
            input: Input::Press(Label::Exact("Join")),
            done: "Price for",
        },
        Step {
            name: "price",
            input: text("6 12"),
            done: "How many actions in total?",
        },
        Step {
            name: "cap",
            input: text("10"),
            done: "Cap per hour, day or week?",
        },
        Step {
            name: "no window caps",
            input: Input::Press(Label::Exact("No hourly/daily/weekly caps")),
            done: "When do actions count?",
        },
        Step {
            name: "24/7",
            input: Input::Press(Label::Exact("24/7")),
            done: "time zone?",
        },
        Step {
            name: "time zone",
            input: Input::Press(Label::Nth(i)),
            done: "How long to hold",
        },
        Step {
            name: "default hold",
            input: Input::Press(Label::Prefix("Default: ")),
            done: "campaign's name",
        },
        Step {
            name: "name",
            input: Input::Text(format!("Bench campaign {i}")),
            done: "short slug",
        },
        Step {
            name: "keep slug",
            input: Input::Press(Label::Prefix("Use ")),
            done: "Review the campaign",
        },
    ];
    if pay {
        v.push(Step {
            name: "Pay",
            input: Input::Press(Label::Prefix("💳 Pay")),
            done: "awaits payment",
        });
        v.push(Step {
            name: "pay invoice",
            input: Input::PayInvoice,
            done: "sent for review",
        });
    }
    v
}

/// What one advertiser's thread saw: the bot's messages to it, stamped.
#[derive(Default)]
struct Inbox {
    msgs: Mutex<Vec<(Instant, ObservedMessage)>>,
    cv: Condvar,
}

impl Inbox {
    fn len(&self) -> usize {
        self.msgs.lock().unwrap().len()
    }

    /// Waits for a message at index >= `from` that satisfies `pred`; its index and stamp.
    fn wait(
        &self,
        from: usize,
        deadline: Instant,
        mut pred: impl FnMut(&ObservedMessage) -> bool,
    ) -> Option<(usize, Instant)> {
        let mut q = self.msgs.lock().unwrap();
        let mut scanned = from;
        loop {
            while scanned < q.len() {
                if pred(&q[scanned].1) {
                    return Some((scanned, q[scanned].0));
                }
                scanned += 1;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            q = self.cv.wait_timeout(q, left).unwrap().0;
        }
    }

    fn texts_from(&self, from: usize) -> Vec<String> {
        let q = self.msgs.lock().unwrap();
        q[from.min(q.len())..]
            .iter()
            .map(|(_, m)| m.text.chars().take(120).collect())
            .collect()
    }
}

/// One measured input.
struct Sample {
    step: usize,
    reply_us: u64,
    screen_us: u64,
}

struct WalkResult {
    samples: Vec<Sample>,
    failure: Option<String>,
}

fn main() {
    let a = args();
    let bin = std::env::var("BENCH_TGTRACK_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_tgtrack").to_string());
    let shown: Vec<String> = std::env::args()
        .skip(1)
        .filter(|x| x != "--bench")
        .collect();
    println!(
        "command: cargo bench --bench ads_wizard{}{}",
        if shown.is_empty() { "" } else { " -- " },
        shown.join(" ")
    );
    println!(
        "ads_wizard bench: {} run(s); {} advertisers at once, {} channel(s), think time {}, {} inputs each{}",
        a.runs,
        a.advertisers,
        if a.channels == 0 { a.advertisers } else { a.channels },
        if a.think_ms == 0 { "none (closed loop)".to_string() } else { format!("0..{} ms", 2 * a.think_ms) },
        walk(0, "", a.pay).len(),
        if a.pay { " (to Pay and the payment)" } else { " (to the review card)" }
    );
    println!(
        "daemon: {bin} (child process); machine: {} CPUs, {}, {} MiB RAM",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        cpu_model(),
        mem_total_mib()
    );
    let mut results = Vec::new();
    for run in 1..=a.runs {
        let r = one_run(&a, &bin);
        println!(
            "run {run}: {} replies ({} walks failed); reply ms: median {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}; \
             screen ms: median {:.1}, p99 {:.1}; wall {:.2} s; RSS peak (VmHWM) {:.1} MiB, sampled peak {:.1} MiB, final {:.1} MiB",
            r.replies, r.failed, r.p50, r.p90, r.p99, r.max, r.s50, r.s99, r.wall, r.hwm, r.peak, r.rss_final
        );
        results.push(r);
    }
    let median = |f: &dyn Fn(&RunResult) -> f64| {
        let mut v: Vec<f64> = results.iter().map(f).collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    };
    let (p99, hwm) = (median(&|r| r.p99), median(&|r| r.hwm));
    println!(
        "median of {}: reply ms median {:.1}, p90 {:.1}, p99 {:.1}, max {:.1}; screen ms median {:.1}, p99 {:.1}; wall {:.2} s; \
         VmHWM {:.1} MiB, final RSS {:.1} MiB",
        results.len(),
        median(&|r| r.p50),
        median(&|r| r.p90),
        p99,
        median(&|r| r.max),
        median(&|r| r.s50),
        median(&|r| r.s99),
        median(&|r| r.wall),
        hwm,
        median(&|r| r.rss_final),
    );
    println!(
        "targets: p99 < 50 ms: {}; peak RSS < 60 MiB: {}; failed walks in all runs: {}",
        if p99 < 50.0 { "met" } else { "MISSED" },
        if hwm < 60.0 { "met" } else { "MISSED" },
        results.iter().map(|r| r.failed).sum::<usize>()
    );
}

struct RunResult {
    replies: usize,
    failed: usize,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    s50: f64,
    s99: f64,
    wall: f64,
    hwm: f64,
    peak: f64,
    rss_final: f64,
}

fn one_run(a: &Args, bin: &str) -> RunResult {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tgtrack.db");
    let sim = Arc::new(Sim::start(SimConfig::default()).expect("start tgsim"));
    let key = dir.path().join("tgsim.key");
    sim.write_auth_key_file(&key).unwrap();

    // The world, before the bot logs in (its own membership updates are then not replayed).
    let n_channels = if a.channels == 0 {
        a.advertisers
    } else {
        a.channels
    };
    let channels: Vec<String> = (0..n_channels)
        .map(|c| {
            let name = format!("benchads{c:04}");
            let id = sim
                .add_channel(ChatSpec::new(&format!("Bench Ads {c}")).username(&name))
                .unwrap();
            sim.set_bot_admin(id, AdminRights::all()).unwrap();
            name
        })
        .collect();
    let users: Vec<i64> = (0..a.advertisers)
        .map(|i| {
            sim.add_user(UserSpec::new(&format!("Adv{i}")).lang("en"))
                .unwrap()
        })
        .collect();

    // The daemon, as an operator runs it.
    let (cfg, http) = common::daemon_config(dir.path(), &db, &key, &sim);
    let log = dir.path().join("daemon.log");
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
    cmd.arg("--config").arg(&cfg).arg("run");
    if let Ok(filter) = std::env::var("BENCH_RUST_LOG") {
        cmd.env("RUST_LOG", filter);
    } else {
        cmd.env_remove("RUST_LOG");
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("spawn tgtrack run");
    let mut daemon = Daemon(child);
    let t_spawn = Instant::now();
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
    let pid = if wrapper.is_empty() {
        daemon.0.id()
    } else {
        descendant_named(daemon.0.id(), "tgtrack").expect("the tgtrack process under the wrapper")
    };
    std::thread::sleep(Duration::from_secs(1));
    println!(
        "  daemon up in {:.2} s; idle RSS {:.1} MiB (VmHWM so far {:.1}); load average {}",
        t_spawn.elapsed().as_secs_f64(),
        rss_kib(pid, "VmRSS:") as f64 / 1024.0,
        rss_kib(pid, "VmHWM:") as f64 / 1024.0,
        loadavg()
    );

    // The watcher: hands each message the bot sends to its advertiser's inbox, stamped.
    let inboxes: Arc<Vec<Inbox>> = Arc::new((0..a.advertisers).map(|_| Inbox::default()).collect());
    let index: HashMap<i64, usize> = users.iter().enumerate().map(|(i, u)| (*u, i)).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (sim, inboxes, stop) = (Arc::clone(&sim), Arc::clone(&inboxes), Arc::clone(&stop));
        std::thread::Builder::new()
            .name("watcher".into())
            .spawn(move || {
                let mut seen = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    sim.wait_for(
                        |o| {
                            let n = o.messages.len();
                            if n > seen {
                                let now = Instant::now();
                                for m in &o.messages[seen..n] {
                                    let PeerKey::User(u) = m.peer else { continue };
                                    let Some(&i) = index.get(&u) else { continue };
                                    inboxes[i].msgs.lock().unwrap().push((now, m.clone()));
                                    inboxes[i].cv.notify_all();
                                }
                                seen = n;
                            }
                            stop.load(Ordering::Relaxed)
                        },
                        Duration::from_millis(200),
                    );
                }
            })
            .unwrap()
    };

    // RSS sampler.
    let peak = Arc::new(AtomicU64::new(0));
    let sampler = {
        let (stop, peak) = (Arc::clone(&stop), Arc::clone(&peak));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid, "VmRSS:"), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    // The advertisers.
    let barrier = Arc::new(Barrier::new(a.advertisers + 1));
    let handles: Vec<_> = (0..a.advertisers)
        .map(|i| {
            let (sim, inboxes, barrier) =
                (Arc::clone(&sim), Arc::clone(&inboxes), Arc::clone(&barrier));
            let user = users[i];
            let link = format!("https://t.me/{}", channels[i % channels.len()]);
            let steps = walk(i, &link, a.pay);
            let (think_ms, timeout) = (a.think_ms, a.timeout);
            std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn(move || {
                    barrier.wait();
                    advertise(&sim, &inboxes[i], user, i, &steps, think_ms, timeout)
                })
                .unwrap()
        })
        .collect();
    let cpu_before = (
        ticks(&format!("/proc/{pid}/stat")),
        ticks("/proc/self/stat"),
        sim_ticks(),
        thread_ticks("watcher"),
    );
    barrier.wait();
    let t0 = Instant::now();
    let walks: Vec<WalkResult> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let wall = t0.elapsed().as_secs_f64();
    let cpu_load = format!(
        "CPU during the load: daemon {:.2} s, tgsim's 2 threads {:.2} s, the watcher {:.2} s, this process in all {:.2} s (of {:.2} s x 2 cores)",
        (ticks(&format!("/proc/{pid}/stat")) - cpu_before.0) as f64 / 100.0,
        (sim_ticks() - cpu_before.2) as f64 / 100.0,
        (thread_ticks("watcher") - cpu_before.3) as f64 / 100.0,
        (ticks("/proc/self/stat") - cpu_before.1) as f64 / 100.0,
        wall
    );
    let hwm = rss_kib(pid, "VmHWM:") as f64 / 1024.0;
    let load = loadavg();
    std::thread::sleep(Duration::from_secs(2));
    let rss_final = rss_kib(pid, "VmRSS:") as f64 / 1024.0;
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed) as f64 / 1024.0;
    let cpu = cpu_times(pid);
    let threads = status_line(pid, "Threads:");

    // Per step and overall.
    let steps = walk(0, "", a.pay);
    let mut reply: Vec<u64> = Vec::new();
    let mut screen: Vec<u64> = Vec::new();
    let mut per_step: Vec<(Vec<u64>, Vec<u64>)> = vec![(Vec::new(), Vec::new()); steps.len()];
    for w in &walks {
        for s in &w.samples {
            reply.push(s.reply_us);
            screen.push(s.screen_us);
            per_step[s.step].0.push(s.reply_us);
            per_step[s.step].1.push(s.screen_us);
        }
    }
    let failures: Vec<&String> = walks.iter().filter_map(|w| w.failure.as_ref()).collect();
    for f in failures.iter().take(3) {
        println!("  FAILED walk: {f}");
    }
    println!("  per input, ms (reply = first message back; screen = the next step's screen):");
    for (k, (r, s)) in per_step.iter_mut().enumerate() {
        println!(
            "    {:<16} n {:>4}  reply median {:>6.1}  p99 {:>6.1}  max {:>6.1}   screen median {:>6.1}  p99 {:>6.1}",
            steps[k].name,
            r.len(),
            pct(r, 0.5),
            pct(r, 0.99),
            pct(r, 1.0),
            pct(s, 0.5),
            pct(s, 0.99)
        );
    }

    // What the daemon stored.
    let q = Connection::open_with_flags(&db, OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let wizards: i64 = q
        .query_row("SELECT count(*) FROM wizard_state", [], |r| r.get(0))
        .unwrap();
    let offers: Vec<String> = {
        let mut st = q
            .prepare("SELECT status, count(*) FROM offers GROUP BY status ORDER BY status")
            .unwrap();
        st.query_map([], |r| {
            Ok(format!(
                "{} {}",
                r.get::<_, String>(0)?,
                r.get::<_, i64>(1)?
            ))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    };
    drop(q);
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
    println!("  {cpu_load}");
    println!(
        "  stored: {wizards} wizard rows, offers [{}]; daemon {threads}, CPU {cpu}; load average at the end {load}; log: {warns} warn, {errors} error lines",
        offers.join(", ")
    );
    if wrapper.is_empty() {
        drop(daemon);
    } else {
        Command::new("kill")
            .arg("-TERM")
            .arg(pid.to_string())
            .status()
            .unwrap();
        let _ = daemon.0.wait();
    }
    if a.keep {
        println!("  kept {}", dir.keep().display());
    }
    drop(sim);

    RunResult {
        replies: reply.len(),
        failed: failures.len(),
        p50: pct(&mut reply, 0.5),
        p90: pct(&mut reply, 0.9),
        p99: pct(&mut reply, 0.99),
        max: pct(&mut reply, 1.0),
        s50: pct(&mut screen, 0.5),
        s99: pct(&mut screen, 0.99),
        wall,
        hwm,
        peak,
        rss_final,
    }
}

/// One advertiser's walk through the wizard.
fn advertise(
    sim: &Sim,
    inbox: &Inbox,
    user: i64,
    i: usize,
    steps: &[Step],
    think_ms: u64,
    timeout: Duration,
) -> WalkResult {
    let mut samples = Vec::with_capacity(steps.len());
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (i as u64).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let fail = |samples, k: usize, why: String| WalkResult {
        samples,
        failure: Some(format!(
            "advertiser {i}, step {} ({}): {why}",
            k + 1,
            steps[k].name
        )),
    };
    for (k, step) in steps.iter().enumerate() {
        if think_ms > 0 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            std::thread::sleep(Duration::from_millis(rng % (2 * think_ms)));
        }
        let before = inbox.len();
        // What to press is found before the clock starts.
        let press = match &step.input {
            Input::Press(label) => match find_button(inbox, label) {
                Some(x) => Some(x),
                None => {
                    return fail(
                        samples,
                        k,
                        format!(
                            "no button; last messages {:?}",
                            inbox.texts_from(before.saturating_sub(1))
                        ),
                    )
                }
            },
            _ => None,
        };
        let invoice = match step.input {
            Input::PayInvoice => match newest(inbox, |m| {
                matches!(m.media, Some(ObservedMedia::Invoice { .. }))
            }) {
                Some(id) => Some(id),
                None => return fail(samples, k, "no invoice".into()),
            },
            _ => None,
        };
        let t0 = Instant::now();
        let sent = match &step.input {
            Input::Text(t) => sim.user_send_text(user, t).map(drop),
            Input::Press(_) => {
                let (msg, data) = press.as_ref().unwrap();
                sim.user_press_button(user, *msg, data).map(drop)
            }
            Input::PayInvoice => sim.user_pay_invoice(user, invoice.unwrap()).map(drop),
        };
        if let Err(e) = sent {
            return fail(samples, k, format!("tgsim refused the input: {e:?}"));
        }
        let deadline = t0 + timeout;
        let Some((_, first)) = inbox.wait(before, deadline, |_| true) else {
            return fail(samples, k, "no reply before the timeout".into());
        };
        let Some((_, done)) = inbox.wait(before, deadline, |m| m.text.contains(step.done)) else {
            return fail(
                samples,
                k,
                format!(
                    "no {:?} before the timeout; got {:?}",
                    step.done,
                    inbox.texts_from(before)
                ),
            );
        };
        samples.push(Sample {
            step: k,
            reply_us: first.duration_since(t0).as_micros() as u64,
            screen_us: done.duration_since(t0).as_micros() as u64,
        });
    }
    WalkResult {
        samples,
        failure: None,
    }
}

/// The newest message with a callback button that `label` picks: (msg id, data).
fn find_button(inbox: &Inbox, label: &Label) -> Option<(i32, Vec<u8>)> {
    let q = inbox.msgs.lock().unwrap();
    q.iter().rev().find_map(|(_, m)| {
        let callbacks = m.all_buttons().filter_map(|b| match &b.kind {
            ButtonKind::Callback(d) => Some((b.text.as_str(), d)),
            _ => None,
        });
        match label {
            Label::Nth(n) => {
                let v: Vec<_> = callbacks
                    .filter(|(t, _)| !t.contains("Back") && !t.contains("Cancel"))
                    .collect();
                (!v.is_empty()).then(|| (m.msg_id, v[n % v.len()].1.clone()))
            }
            l => callbacks
                .into_iter()
                .find(|(t, _)| l.matches(t))
                .map(|(_, d)| (m.msg_id, d.clone())),
        }
    })
}

fn newest(inbox: &Inbox, pred: impl Fn(&ObservedMessage) -> bool) -> Option<i32> {
    let q = inbox.msgs.lock().unwrap();
    q.iter().rev().find(|(_, m)| pred(m)).map(|(_, m)| m.msg_id)
}

/// Nearest-rank percentile of microsecond samples, in ms (`q` = 1.0: the max).
fn pct(v: &mut [u64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1] as f64 / 1000.0
}

fn status_line(pid: u32, field: &str) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// utime + stime in clock ticks from a stat file (a process's counts its ended threads too).
fn ticks(stat_path: &str) -> u64 {
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let field = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// CPU ticks of tgsim's runtime threads (named `tgsim-worker`) in this process.
fn sim_ticks() -> u64 {
    thread_ticks("tgsim-worker")
}

/// CPU ticks of this process's live threads named `name`.
fn thread_ticks(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .map(|t| ticks(&t.path().join("stat").to_string_lossy()))
        .sum()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
