//! /statistic on a big campaign (issue 8, BENCHMARKS.md): 1,000,000 clicks and
//! 50,000 conversions spread over 60 days, asked through the real daemon, its
//! bot on tgsim and the real grammers client.
//!
//!     cargo bench --bench statistic -- [--runs 5] [--clicks 1000000] [--conversions 50000]
//!
//! The database is built once through SQLite with the daemon's own schema (the
//! rollup triggers fill `stats_buckets` as rows go in). The daemon runs in this
//! process (`tgtrack::app::start`), so the peak RSS printed is this process's
//! VmHWM: daemon, tgsim and the generator together, an upper bound for the daemon.
//! Each run: the advertiser presses the campaign's details button (time until
//! the figures message arrives), then the chart button (time until the photo
//! has arrived in tgsim).

use std::net::TcpListener;
use std::time::{Duration, Instant};

use rusqlite::params;
use tgsim::{Sim, SimConfig, UserSpec};
use tgtrack::app::{self, StartOptions};
use tgtrack::clock::Clock;
use tgtrack::config::Config;
use tgtrack::store::{self, Store};

fn arg(name: &str, default: usize) -> usize {
    let a: Vec<String> = std::env::args().collect();
    a.iter()
        .position(|x| x == name)
        .and_then(|i| a.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn vmhwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let runs = arg("--runs", 5);
    let clicks = arg("--clicks", 1_000_000) as i64;
    let convs = arg("--conversions", 50_000) as i64;
    let sim = Sim::start(SimConfig::default()).unwrap();
    let adv = sim.add_user(UserSpec::new("Ada").lang("en")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("tgtrack.db");
    let now = store::unix_now();
    let span = 60 * 86400;
    let t = Instant::now();
    let offer = {
        let st = Store::open(&db, 1).unwrap();
        st.write(|tx| -> Result<i64, store::StoreError> {
            tx.execute(
                "INSERT INTO offers (name, advertiser_id, action, status, price_regular, price_premium, budget_total, created_at, updated_at)
                 VALUES ('Big campaign', ?1, 'join_channel', 'active', 5, 10, 10000000, ?2, ?2)",
                params![adv, now - span],
            )?;
            let offer = tx.last_insert_rowid();
            let mut click = tx.prepare("INSERT INTO clicks (offer_id, uid, token, created_at, last_seen_at, hits) VALUES (?1, ?2, ?2, ?3, ?3, ?4)")?;
            let mut user = tx.prepare("INSERT INTO tg_users (id, first_seen, updated_at, is_premium) VALUES (?1, ?2, ?2, ?3)")?;
            let mut lead = tx.prepare("INSERT INTO leads (click_id, offer_id, tg_user_id, started_at) VALUES (?1, ?2, ?3, ?4)")?;
            let mut conv = tx.prepare(
                "INSERT INTO conversions (offer_id, lead_id, tg_user_id, action, status, is_premium, price, hold_until, reason, created_at, accepted_at, updated_at)
                 VALUES (?1, ?2, ?3, 'join_channel', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)",
            )?;
            let every = (clicks / convs.max(1)).max(1);
            let mut made = 0;
            for i in 0..clicks {
                let at = now - span + i * span / clicks;
                click.execute(params![offer, format!("c{i}"), at, 1 + (i % 7 == 0) as i64])?;
                if i % every == 0 && made < convs {
                    let click_id = tx.last_insert_rowid();
                    let uid = 1_000_000_000 + i;
                    let premium = made % 5 == 0;
                    user.execute(params![uid, at, premium])?;
                    lead.execute(params![click_id, offer, uid, at + 30])?;
                    let lead_id = tx.last_insert_rowid();
                    let (status, reason, price) = match made % 10 {
                        0..=5 => ("approved", None, if premium { 10 } else { 5 }),
                        6 | 7 => ("rejected", Some(if made % 2 == 0 { "undone" } else { "already_done" }), 0),
                        _ => ("hold", None, if premium { 10 } else { 5 }),
                    };
                    conv.execute(params![offer, lead_id, uid, status, premium, price, at + 3600, reason, at + 30, at + 60])?;
                    made += 1;
                }
            }
            tx.execute("UPDATE offers SET budget_spent = (SELECT sum(price) FROM conversions WHERE status IN ('hold','approved')) WHERE id = ?1", [offer])?;
            Ok(offer)
        })
        .unwrap()
    };
    let built = t.elapsed();
    let key = dir.path().join("tgsim.key");
    sim.write_auth_key_file(&key).unwrap();
    let cfg = Config::from_toml(
        &format!(
            "[database]\npath = \"{}\"\n[http]\nlisten = \"127.0.0.1:0\"\npublic_base_url = \"http://127.0.0.1:1\"\nthreads = 2\n\
             [telegram]\napi_id = 1\napi_hash = \"0123456789abcdef0123456789abcdef\"\nbot_token = \"{}\"\nbot_username = \"{}\"\n\
             [telegram.test_dc]\naddress = \"{}\"\nauth_key_file = \"{}\"\n",
            db.display(),
            sim.bot_token(),
            sim.bot_username(),
            sim.addr(),
            key.display()
        ),
        |_| None,
    )
    .unwrap();
    let daemon = app::start(
        cfg,
        StartOptions {
            listener: Some(TcpListener::bind("127.0.0.1:0").unwrap()),
            clock: Clock::new(),
            tick: Duration::from_secs(3600),
            checkpoint_every: Duration::from_secs(1),
        },
    )
    .unwrap();
    let rss_before = vmhwm_kib();
    let wait = |pred: &dyn Fn() -> bool| {
        let end = Instant::now() + Duration::from_secs(60);
        while !pred() {
            assert!(Instant::now() < end, "timed out");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    sim.user_send_text(adv, "/statistic").unwrap();
    wait(&|| {
        sim.sent_to(adv)
            .iter()
            .any(|m| m.text.contains("Pick a campaign"))
    });
    let list = sim
        .sent_to(adv)
        .into_iter()
        .find(|m| m.text.contains("Pick a campaign"))
        .unwrap();
    let (mut fig, mut chart) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let n = sim.sent_to(adv).len();
        let t = Instant::now();
        sim.user_press_button(adv, list.msg_id, format!("s:d:{offer}").as_bytes())
            .unwrap();
        wait(&|| {
            sim.sent_to(adv).len() > n
                && sim
                    .sent_to(adv)
                    .last()
                    .is_some_and(|m| m.text.contains("All time"))
        });
        fig.push(t.elapsed().as_secs_f64() * 1000.0);
        let details = sim.sent_to(adv).into_iter().last().unwrap();
        let files = sim.files_sent_to(adv).len();
        let t = Instant::now();
        sim.user_press_button_labelled(adv, None, details.msg_id, "📈 Chart")
            .unwrap();
        wait(&|| sim.files_sent_to(adv).len() > files);
        chart.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    let figures_text = sim
        .sent_to(adv)
        .iter()
        .rev()
        .find(|m| m.text.contains("All time"))
        .unwrap()
        .text
        .clone();
    println!(
        "database: {clicks} clicks, {convs} conversions over 60 days, built in {:.1} s",
        built.as_secs_f64()
    );
    println!(
        "figures (details press -> message): median {:.0} ms over {runs} runs {fig:.0?}",
        median(fig.clone())
    );
    println!(
        "chart (chart press -> photo received): median {:.0} ms over {runs} runs {chart:.0?}",
        median(chart.clone())
    );
    println!("peak RSS of the bench process (daemon + tgsim in-process): {} MiB (after start, before /statistic: {} MiB)", vmhwm_kib() / 1024, rss_before / 1024);
    println!(
        "--- all-time block ---\n{}",
        figures_text.split("📅 All time").nth(1).unwrap_or("")
    );
    daemon.shutdown().unwrap();
}
