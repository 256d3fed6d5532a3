//! `tgtrack demo`: the whole journey offline, with no credentials.
//!
//! It starts tgsim (a simulated Telegram datacenter) in this process, the real
//! daemon against it through `[telegram.test_dc]` (exactly as an operator
//! would point it at a test DC), and a mock CPA receiver on loopback. Then it
//! plays a short story and prints it as a transcript: an offer, a click, a
//! user who joins and is approved after the hold (on an accelerated clock),
//! and a user who leaves inside the hold and is rejected.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::app::{self, Daemon, StartOptions};
use crate::clock::Clock;
use crate::config::Config;
use crate::domain::offer::{
    Action, Caps, ChatKind, ConversionStatus, OfferStatus, PostbackMethod, PostbackSpec, PricePair,
    Target,
};
use crate::domain::schedule::Schedule;
use crate::store::{self, OfferId};

const WAIT: Duration = Duration::from_secs(15);
const HOLD: i64 = 72 * 3600;

/// `tgtrack demo`'s options.
#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Stay up after the story and print the links and the simulator's control API.
    #[arg(long)]
    pub keep: bool,
    /// Keep the demo database here instead of a temporary directory.
    #[arg(long, value_name = "PATH")]
    pub db: Option<std::path::PathBuf>,
    /// The demo advertiser's Telegram language: the bot answers in Russian (ru) or English (en).
    #[arg(long, value_name = "LANG", default_value = "ru", value_parser = ["ru", "en"])]
    pub lang: String,
}

pub fn run(args: &DemoArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| tmp.path().join("demo.db"));
    if db.exists() {
        anyhow::bail!(
            "{} already exists; the demo starts from an empty database",
            db.display()
        );
    }
    let sim = Arc::new(
        tgsim::Sim::start(tgsim::SimConfig::default())
            .context("starting the simulated Telegram")?,
    );
    let key = tmp.path().join("tgsim.key");
    sim.write_auth_key_file(&key)?;
    let receiver = Receiver::start()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    // The operator's admin account: gets campaigns to review (telegram.admins).
    let admin = sim.add_user(tgsim::UserSpec::new("Olga").lang("en"))?;
    let cfg = demo_config(&db, &sim, &key, listener.local_addr()?, admin)?;
    let clock = Clock::new();
    let opts = StartOptions {
        listener: Some(listener),
        clock: clock.clone(),
        tick: Duration::from_millis(200),
        ..StartOptions::default()
    };
    let daemon = app::start(cfg.clone(), opts)?;
    let base = format!("http://{}", daemon.addr);

    say("tgtrack demo: a simulated Telegram, the real daemon, and a mock CPA network, all on 127.0.0.1.");
    say(&format!(
        "Daemon: {base}   Telegram (tgsim): {}   CPA receiver: http://{}",
        sim.addr(),
        receiver.addr
    ));
    println!();

    // The world: a channel whose owner sells joins, the bot as its admin, two users.
    let channel = sim.add_channel(tgsim::ChatSpec::new("Demo News").username("demo_news"))?;
    sim.set_bot_admin(channel, tgsim::AdminRights::all())?;
    let alice = sim.add_user(tgsim::UserSpec::new("Alice").lang("ru"))?;
    let bob = sim.add_user(tgsim::UserSpec::new("Bob").lang("en").premium(true))?;

    let offer = create_offer(&daemon, channel, &receiver)?;
    step(1, &format!("The operator creates offer #{offer}: \"join @demo_news\", 5 Stars (10 for Premium users), hold 72 h,"));
    say(&format!(
        "   postbacks to the network: {}",
        receiver.template()
    ));
    say(&format!(
        "   The network gets the link {base}/click/{offer}?uid={{click_id}}"
    ));

    step(2, "A user from the network clicks (click_id CPA-1001).");
    let token_a = click(daemon.addr, offer, "CPA-1001")?;
    step(
        3,
        "Alice opens the bot with her start token and gets the task.",
    );
    sim.user_start_bot(alice, Some(&token_a))?;
    show_reply(&sim, alice, "demo_news")?;
    wait_hit(&receiver, "CPA-1001", "lead")?;

    step(
        4,
        "Alice joins @demo_news. The bot sees updateChannelParticipant for her.",
    );
    sim.user_join(alice, channel)?;
    wait_status(&daemon, offer, alice, ConversionStatus::Hold)?;
    show_reply(&sim, alice, "засчитано")?;
    wait_hit(&receiver, "CPA-1001", "hold")?;

    step(
        5,
        "A second click (CPA-1002): Bob, a Premium user, starts the bot and joins...",
    );
    let token_b = click(daemon.addr, offer, "CPA-1002")?;
    sim.user_start_bot(bob, Some(&token_b))?;
    show_reply(&sim, bob, "demo_news")?;
    sim.user_join(bob, channel)?;
    let c = wait_status(&daemon, offer, bob, ConversionStatus::Hold)?;
    say(&format!(
        "   Bob's join is in hold at {} Stars (the Premium price).",
        c.price
    ));
    wait_hit(&receiver, "CPA-1002", "hold")?;
    step(6, "...and leaves the channel inside the hold window.");
    sim.user_leave(bob, channel)?;
    let c = wait_status(&daemon, offer, bob, ConversionStatus::Rejected)?;
    say(&format!(
        "   Rejected ({}); the Stars go back to the budget.",
        c.reason.map(|r| r.as_str()).unwrap_or("?")
    ));
    wait_hit(&receiver, "CPA-1002", "rejected")?;

    step(7, "72 hours pass (the demo's clock runs ahead). The bot re-checks Alice with channels.getParticipant.");
    clock.advance(HOLD + 60);
    daemon.poke_scheduler();
    wait_status(&daemon, offer, alice, ConversionStatus::Approved)?;
    wait_hit(&receiver, "CPA-1001", "approved")?;

    step(8, "An advertiser, Dave, creates a campaign in the bot with /ads, pays in Stars, and an admin approves it.");
    sim.user_start_bot(admin, None)?;
    crate::demo_ads::run(&sim, &daemon, admin, &args.lang)?;

    println!();
    say("Final stats (tgtrack stats):");
    // Business time ran 72 h ahead: the period ends on the clock's day.
    let until = chrono::DateTime::from_timestamp(clock.now(), 0)
        .map(|t| t.date_naive())
        .unwrap_or_default()
        .succ_opt()
        .context("the demo's clock")?;
    let rows =
        crate::service::stats::daily(&daemon.store, None, until - chrono::Days::new(30), until)?;
    crate::report::table::write_daily(&mut std::io::stdout().lock(), &rows, false)?;
    println!();
    let conv = daemon
        .store
        .read(|c| store::conversions::by_key(c, offer, alice, Action::JoinChannel))?
        .context("Alice's conversion")?;
    say(&format!(
        "Audit trail of Alice's conversion (tgtrack audit {}):",
        conv.id
    ));
    for e in daemon
        .store
        .read(|c| store::audit::trail_for_conversion(c, conv.id))?
    {
        say(&format!("   {:<16} {}", e.kind, e.detail));
    }

    if args.keep {
        let names = [
            ("demo_news", channel),
            ("alice", alice),
            ("bob", bob),
            ("olga_admin", admin),
        ];
        keep_running(daemon, sim, &receiver, offer, &names)?;
    } else {
        daemon.shutdown()?;
        println!();
        say("Done. Run `tgtrack demo --keep` to stay up and click around yourself.");
    }
    Ok(())
}

fn demo_config(
    db: &Path,
    sim: &tgsim::Sim,
    key: &Path,
    http: SocketAddr,
    admin: i64,
) -> anyhow::Result<Config> {
    // The same TOML an operator would write; only [telegram.test_dc] points at the simulator.
    let text = format!(
        "[database]\npath = {db:?}\n[http]\nlisten = \"{http}\"\npublic_base_url = \"http://{http}\"\nthreads = 2\n\
         [telegram]\napi_id = 1\napi_hash = \"00000000000000000000000000000000\"\nbot_token = {token:?}\nbot_username = {name:?}\nadmins = [{admin}]\n\
         [telegram.test_dc]\naddress = \"{addr}\"\nauth_key_file = {key:?}\n\
         [postback]\ntimeout = \"2s\"\nbackoff = \"200ms\"\nbackoff_max = \"2s\"\nallow_private_targets = true\n",
        db = db.display().to_string(),
        token = sim.bot_token(),
        name = sim.bot_username(),
        addr = sim.addr(),
        key = key.display().to_string(),
    );
    Config::from_toml(&text, |_| None).map_err(|e| anyhow::anyhow!("demo config: {e}"))
}

fn create_offer(daemon: &Daemon, channel: i64, receiver: &Receiver) -> anyhow::Result<OfferId> {
    let offer = store::offers::NewOffer {
        name: "Join @demo_news".into(),
        advertiser_id: None,
        action: Action::JoinChannel,
        target: Target {
            chat_id: Some(channel),
            chat_kind: Some(ChatKind::Channel),
            username: Some("demo_news".into()),
            title: Some("Demo News".into()),
            ..Default::default()
        },
        status: OfferStatus::Active,
        price: PricePair {
            regular: 5,
            premium: 10,
        },
        payout: "0.40".into(),
        currency: "USD".into(),
        caps: Caps {
            total: Some(1000),
            day: Some(100),
            ..Default::default()
        },
        schedule: Schedule::Always,
        timezone: "Europe/Moscow".into(),
        hold_seconds: HOLD,
        budget_total: Some(500),
        postback: PostbackSpec {
            url: Some(receiver.template()),
            method: PostbackMethod::Get,
            preset: "keitaro".into(),
            statuses: vec![
                ConversionStatus::Lead,
                ConversionStatus::Hold,
                ConversionStatus::Approved,
                ConversionStatus::Rejected,
            ],
            send_user_id: false,
        },
        relay_secret: Some(crate::domain::token::secret()),
    };
    Ok(daemon
        .store
        .write(|tx| store::offers::insert_offer(tx, &offer, store::unix_now()))?)
}

fn step(n: u32, text: &str) {
    println!();
    say(&format!("{n}. {text}"));
}

fn say(text: &str) {
    println!("{text}");
}

fn click(addr: SocketAddr, offer: OfferId, uid: &str) -> anyhow::Result<String> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(WAIT))?;
    write!(s, "GET /click/{offer}?uid={uid}&sub1=demo HTTP/1.1\r\nHost: demo\r\nUser-Agent: demo-browser\r\nConnection: close\r\n\r\n")?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text.lines().next().unwrap_or_default().to_string();
    let location = text
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("location"))
                .map(|(_, v)| v.trim().to_string())
        })
        .with_context(|| format!("the click was not redirected: {status}"))?;
    say(&format!(
        "   GET /click/{offer}?uid={uid}  ->  {status}, Location: {location}"
    ));
    location
        .rsplit_once("start=")
        .map(|(_, t)| t.to_string())
        .context("no start token in the redirect")
}

fn wait_until(mut f: impl FnMut() -> anyhow::Result<bool>) -> anyhow::Result<bool> {
    let deadline = Instant::now() + WAIT;
    loop {
        if f()? {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(25));
    }
}

fn wait_status(
    d: &Daemon,
    offer: OfferId,
    user: i64,
    status: ConversionStatus,
) -> anyhow::Result<store::conversions::Conversion> {
    let get = || {
        d.store
            .read(|c| store::conversions::by_key(c, offer, user, Action::JoinChannel))
    };
    if !wait_until(|| Ok(get()?.is_some_and(|c| c.status == status)))? {
        anyhow::bail!(
            "the demo expected a conversion in {status}, found {:?}",
            get()?
        );
    }
    let c = get()?.expect("checked");
    say(&format!(
        "   [tgtrack] conversion #{} of user {user}: {}",
        c.id, c.status
    ));
    Ok(c)
}

fn show_reply(sim: &tgsim::Sim, user: i64, needle: &str) -> anyhow::Result<()> {
    let seen = sim.wait_for(
        |o| {
            o.messages
                .iter()
                .any(|m| m.peer == tgsim::PeerKey::User(user) && m.text.contains(needle))
        },
        WAIT,
    );
    if !seen {
        anyhow::bail!("the bot did not answer user {user} as expected");
    }
    let m = sim
        .sent_to(user)
        .into_iter()
        .rev()
        .find(|m| m.text.contains(needle))
        .expect("seen");
    say(&format!(
        "   [bot -> user {user}] {}",
        m.text.replace('\n', " ")
    ));
    for b in m.buttons.iter().flatten() {
        let what = match &b.kind {
            tgsim::ButtonKind::Url(u) => format!("opens {u}"),
            tgsim::ButtonKind::Callback(_) => "asks the bot to check".to_string(),
            tgsim::ButtonKind::Other(o) => o.clone(),
        };
        say(&format!("      [button] {} ({what})", b.text));
    }
    Ok(())
}

fn wait_hit(r: &Receiver, uid: &str, status: &str) -> anyhow::Result<()> {
    // Keitaro's words: lead (unconfirmed, also for hold), sale, rejected.
    let word = match status {
        "approved" => "sale",
        "hold" => "lead",
        other => other,
    };
    let matches =
        |h: &str| h.contains(&format!("subid={uid}")) && h.contains(&format!("status={word}"));
    // Keitaro says "lead" for both our lead and hold: the hold is the second one.
    let want = if status == "hold" { 2 } else { 1 };
    if !wait_until(|| {
        Ok(r.hits
            .lock()
            .map(|h| h.iter().filter(|x| matches(x)).count())
            .unwrap_or(0)
            >= want)
    })? {
        anyhow::bail!("the {status} postback for {uid} did not arrive");
    }
    let hit = r
        .hits
        .lock()
        .map(|h| h.iter().rev().find(|x| matches(x)).cloned())
        .ok()
        .flatten()
        .unwrap_or_default();
    say(&format!("   [CPA network] received postback: GET {hit}"));
    Ok(())
}

fn keep_running(
    daemon: Daemon,
    sim: Arc<tgsim::Sim>,
    receiver: &Receiver,
    offer: OfferId,
    names: &[(&str, i64)],
) -> anyhow::Result<()> {
    let control = TcpListener::bind("127.0.0.1:0")?;
    let control_addr = control.local_addr()?;
    let world = names.iter().map(|(n, id)| (n.to_string(), *id)).collect();
    let channel = names
        .iter()
        .find(|(n, _)| *n == "demo_news")
        .map_or(0, |(_, id)| *id);
    let s = Arc::clone(&sim);
    std::thread::spawn(move || tgsim::control::serve(s, control, world));
    println!();
    say("Staying up (Ctrl+C to stop). Try it:");
    say(&format!(
        "   click link:      curl -i 'http://{}/click/{offer}?uid=my-click-1'",
        daemon.addr
    ));
    say(&format!(
        "   metrics:         curl http://{}/metrics",
        daemon.addr
    ));
    say(&format!(
        "   simulator API:   http://{control_addr}  (sim/README.md lists every action)"
    ));
    say("   a new user's journey, by hand:");
    say(&format!("      C=http://{control_addr}"));
    say("      curl -s -XPOST $C/users -d '{\"first_name\":\"Carol\"}'                 # -> {\"id\":USER}");
    say("      TOKEN=...   # the start= value from the click link's Location header above");
    say("      curl -s -XPOST $C/actions/start -d '{\"user\":USER,\"payload\":\"'$TOKEN'\"}'");
    say(
        "      curl -s $C/sent/USER                                                # the task card",
    );
    say(&format!(
        "      curl -s -XPOST $C/actions/join -d '{{\"user\":USER,\"chat\":{channel}}}'"
    ));
    let admin = names
        .iter()
        .find(|(n, _)| *n == "olga_admin")
        .map_or(0, |(_, id)| *id);
    say("   an advertiser's campaign, by hand (the bot speaks the user's lang_code, ru or en):");
    say("      curl -s -XPOST $C/users -d '{\"first_name\":\"Eve\",\"lang_code\":\"en\"}'   # -> {\"id\":ADV}");
    say("      curl -s -XPOST $C/actions/text -d '{\"user\":ADV,\"text\":\"/ads\"}'");
    say("      curl -s -XPOST $C/actions/text -d '{\"user\":ADV,\"text\":\"https://t.me/demo_news\"}'");
    say(
        "      curl -s $C/sent/ADV        # every screen with its buttons; press one by its label:",
    );
    say("      curl -s -XPOST $C/actions/press -d '{\"user\":ADV,\"msg_id\":MSG,\"label\":\"Join\",\"wait_ms\":2000}'");
    say("      ...then answer each screen: prices \"6 12\", a total \"10\", [No hourly/daily/weekly caps], [24/7],");
    say("         [Europe/Moscow], [Default: 3 days], a name, [Use <slug>], [💳 Pay 120 ⭐]");
    say("      curl -s -XPOST $C/actions/pay -d '{\"user\":ADV,\"msg_id\":INVOICE_MSG,\"wait_ms\":5000}'");
    say(&format!("      curl -s $C/sent/{admin}     # the admin's review card; press [✅ Approve] or [❌ Reject]:"));
    say(&format!("      curl -s -XPOST $C/actions/press -d '{{\"user\":{admin},\"msg_id\":CARD_MSG,\"label\":\"✅ Approve\"}}'"));
    say(&format!(
        "   postbacks land:  http://{} (printed below as they arrive)",
        receiver.addr
    ));
    let seen = Arc::new(Mutex::new(
        receiver.hits.lock().map(|h| h.len()).unwrap_or(0),
    ));
    use signal_hook::consts::{SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT])?;
    let handle = signals.handle();
    let hits = Arc::clone(&receiver.hits);
    let printer = std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_millis(200));
        let Ok(h) = hits.lock() else { return };
        let mut n = seen.lock().expect("not poisoned");
        for x in &h[*n..] {
            println!("   [CPA network] received postback: GET {x}");
        }
        *n = h.len();
    });
    signals.forever().next();
    handle.close();
    drop(printer);
    daemon.shutdown()
}

/// The mock CPA network: records each postback's request target.
struct Receiver {
    addr: SocketAddr,
    hits: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let hits = Arc::new(Mutex::new(Vec::new()));
        let h = Arc::clone(&hits);
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let h = Arc::clone(&h);
                std::thread::spawn(move || serve_postbacks(conn, h));
            }
        });
        Ok(Receiver { addr, hits })
    }

    /// A Keitaro-style postback URL.
    fn template(&self) -> String {
        format!("http://{}/postback?subid={{click_id}}&status={{status}}&payout={{payout}}&currency={{currency}}&tid={{txid}}", self.addr)
    }
}

fn serve_postbacks(conn: TcpStream, hits: Arc<Mutex<Vec<String>>>) {
    let Ok(read_half) = conn.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut conn = conn;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let target = line
            .split_whitespace()
            .nth(1)
            .unwrap_or_default()
            .to_string();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            if h.trim().is_empty() {
                break;
            }
        }
        if let Ok(mut h) = hits.lock() {
            h.push(target);
        }
        if conn
            .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK")
            .is_err()
        {
            return;
        }
    }
}
