//! Load benchmark: 10,000 scripted user actions against a connected grammers bot.
//!
//! `cargo run --release -p tgsim --example bench [-- ACTIONS RUNS [live|catchup]]`. Each action is
//! one of /start with a payload, a text message, a channel join (qts) or a group reaction (qts).
//! `live`: the bot is connected while the actions run; the clock stops when it has received an
//! update for every action. `catchup`: the actions run while the bot is offline; the clock runs
//! from reconnecting until getDifference has delivered all of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use grammers_client::update::Update;
use grammers_mtsender::{SenderPool, UpdatesConfiguration};
use grammers_session::storages::MemorySession;
use tgsim::{AdminRights, ChatSpec, Sim, SimConfig, UserSpec};

async fn run_once(actions: usize, catchup: bool) -> Duration {
    let sim = Arc::new(Sim::start(SimConfig::default()).unwrap());
    let chan = sim.add_channel(ChatSpec::new("Bench channel")).unwrap();
    let group = sim.add_supergroup(ChatSpec::new("Bench group")).unwrap();
    sim.set_bot_admin(chan, AdminRights::all()).unwrap();
    sim.set_bot_admin(group, AdminRights::all()).unwrap();
    let poster = sim.add_user(UserSpec::new("Poster")).unwrap();
    sim.add_member(group, poster).unwrap();
    let target = sim
        .send_group_message(group, poster, "react to me")
        .unwrap();
    let users: Vec<i64> = (0..actions / 4 + 1)
        .map(|i| {
            let u = sim.add_user(UserSpec::new(&format!("U{i}"))).unwrap();
            sim.add_member(group, u).unwrap();
            u
        })
        .collect();

    let session = Arc::new(MemorySession::default());
    tgsim::seed_session(&*session, sim.addr(), &sim.auth_key()).await;
    // grammers drops updates beyond `updates_channel_capacity` (default 100) when the consumer
    // lags; a burst of 10,000 actions needs a deeper queue (the daemon should size it too).
    let connect = |session: Arc<MemorySession>| {
        let params = grammers_mtsender::ConnectionParams {
            updates_channel_capacity: std::num::NonZeroUsize::new(actions * 2).unwrap(),
            ..Default::default()
        };
        SenderPool::with_configuration(session, 1, params)
    };
    let SenderPool {
        runner,
        updates,
        handle,
    } = connect(Arc::clone(&session));
    let client = grammers_client::Client::new(handle.clone());
    let task = tokio::spawn(runner.run());
    client.bot_sign_in(&sim.bot_token(), "hash").await.unwrap();
    let mut stream = client
        .stream_updates(updates, UpdatesConfiguration { catch_up: true })
        .await
        .unwrap();

    let drive = {
        let sim = Arc::clone(&sim);
        move || {
            for i in 0..actions {
                let u = users[i / 4];
                match i % 4 {
                    0 => sim.user_start_bot(u, Some("bench")).map(|_| ()),
                    1 => sim.user_send_text(u, "hello").map(|_| ()),
                    2 => sim.user_join(u, chan),
                    _ => sim.user_react(u, group, target, "👍"),
                }
                .unwrap();
            }
        }
    };
    let (start, driver, handle, task) = if catchup {
        // Go offline, let everything happen, then reconnect with the saved state.
        stream.sync_update_state().await.unwrap();
        drop(stream);
        handle.quit();
        let _ = task.await;
        drive();
        let SenderPool {
            runner,
            updates,
            handle,
        } = connect(Arc::clone(&session));
        let client = grammers_client::Client::new(handle.clone());
        let start = Instant::now();
        let task = tokio::spawn(runner.run());
        stream = client
            .stream_updates(updates, UpdatesConfiguration { catch_up: true })
            .await
            .unwrap();
        (start, None, handle, task)
    } else {
        let start = Instant::now();
        (start, Some(std::thread::spawn(drive)), handle, task)
    };
    let mut seen = 0;
    while seen < actions {
        match tokio::time::timeout(Duration::from_secs(60), stream.next()).await {
            Ok(Ok(Update::NewMessage(_))) | Ok(Ok(Update::Raw(_))) => seen += 1,
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("stream error {e}"),
            Err(_) => panic!("stalled after {seen} updates"),
        }
    }
    let elapsed = start.elapsed();
    if let Some(d) = driver {
        d.join().unwrap();
    }
    handle.quit();
    let _ = task.await;
    elapsed
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let actions: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let runs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let catchup = args.next().as_deref() == Some("catchup");
    let mut times = Vec::new();
    for r in 0..runs {
        let t = run_once(actions, catchup).await;
        println!(
            "run {}: {actions} actions in {:.3} s ({:.0} actions/s)",
            r + 1,
            t.as_secs_f64(),
            actions as f64 / t.as_secs_f64()
        );
        times.push(t);
    }
    times.sort();
    let median = times[times.len() / 2];
    println!(
        "median: {:.3} s for {actions} actions ({:.0} actions/s)",
        median.as_secs_f64(),
        actions as f64 / median.as_secs_f64()
    );
}
