//! The command line: parsing (clap) and the operator's commands.
//!
//! Exit codes: 0 success, 1 runtime failure, 2 usage or config error (one line
//! naming the key and the problem).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};
use crate::domain::offer::{
    Action, Caps, ChatKind, OfferDraft, OfferStatus, PollSpec, PostbackSpec, PricePair, Target,
};
use crate::domain::schedule::Schedule;
use crate::store::{self, OfferId, Store};

#[derive(Parser, Debug)]
#[command(
    name = "tgtrack",
    version,
    about = "Sell verified Telegram actions to CPA networks"
)]
pub struct Cli {
    /// Config file [default: $TGTRACK_CONFIG, else ./config.toml]
    #[arg(long, global = true, env = "TGTRACK_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the daemon: HTTP sidecar, postback worker and (with [telegram]) the bot.
    Run,
    /// Offline demo: simulated Telegram, the real daemon, a mock CPA receiver. No credentials needed.
    Demo(crate::demo::DemoArgs),
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Validate the config and print the effective values, secrets redacted.
    CheckConfig,
    /// Print a fully commented example config.
    ExampleConfig,
    /// Manage offers.
    #[command(subcommand)]
    Offer(OfferCmd),
    /// Inspect and retry postbacks.
    #[command(subcommand)]
    Postback(PostbackCmd),
    /// Minimum prices per action (the config's [pricing], overridable at run time).
    #[command(subcommand)]
    Price(PriceCmd),
    /// Per-day figures per offer.
    Stats(StatsArgs),
    /// Payments, refunds, spend and balances per advertiser (paid = spent + refunded + balance).
    Ledger {
        /// Also list the last N payments.
        #[arg(long, value_name = "N")]
        payments: Option<u32>,
    },
    /// The audit trail of a conversion: click, start, action, checks, postbacks.
    Audit {
        /// Conversion id (see `stats` or `postback list`).
        conversion: i64,
    },
    /// Online backup of the database to PATH, safe while the daemon runs.
    Backup { path: PathBuf },
}

#[derive(Subcommand, Debug)]
pub enum OfferCmd {
    /// Create an offer (active unless --paused).
    Create(Box<OfferCreate>),
    /// List offers.
    List,
    /// Show one offer with its links.
    Show {
        id: i64,
        /// Also print the relay secret (give it to the advertiser for POST /postbacks/relay).
        #[arg(long)]
        secret: bool,
    },
    /// Stop accepting clicks and conversions.
    Pause { id: i64 },
    /// Accept clicks and conversions again.
    Resume { id: i64 },
    /// Set where and how conversions are posted back.
    SetPostback(SetPostback),
}

#[derive(Args, Debug)]
pub struct OfferCreate {
    #[arg(long)]
    pub name: String,
    /// join_channel, join_request, comment, reaction, poll_vote, start_bot,
    /// third_party_bot, stars_payment, paid_media, boost, share
    #[arg(long)]
    pub action: String,
    /// Target chat id (bare MTProto id).
    #[arg(long)]
    pub chat_id: Option<i64>,
    /// channel, supergroup, basic_group or bot_chat
    #[arg(long)]
    pub chat_kind: Option<String>,
    /// Target @username (without @).
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// Post or message id (comment, reaction).
    #[arg(long)]
    pub msg_id: Option<i32>,
    /// Linked discussion group id (comment, reaction on a post).
    #[arg(long)]
    pub discussion_chat_id: Option<i64>,
    /// Target URL (share, third_party_bot).
    #[arg(long)]
    pub url: Option<String>,
    /// Invoice amount in Stars (stars_payment, paid_media).
    #[arg(long)]
    pub stars: Option<i64>,
    #[arg(long)]
    pub poll_question: Option<String>,
    /// Repeat for each option.
    #[arg(long = "poll-option")]
    pub poll_options: Vec<String>,
    /// Stars per conversion for regular users [default: the configured minimum]
    #[arg(long)]
    pub price: Option<i64>,
    /// Stars per conversion for Premium users [default: the configured minimum]
    #[arg(long)]
    pub price_premium: Option<i64>,
    /// Amount reported to the network as {payout}.
    #[arg(long, default_value = "0")]
    pub payout: String,
    #[arg(long, default_value = "USD")]
    pub currency: String,
    #[arg(long)]
    pub cap_total: Option<i64>,
    #[arg(long)]
    pub cap_hour: Option<i64>,
    #[arg(long)]
    pub cap_day: Option<i64>,
    #[arg(long)]
    pub cap_week: Option<i64>,
    /// always, weekdays, weekends, or a grid like "mon-fri 9-18; sat 10-14"
    #[arg(long, default_value = "always")]
    pub schedule: String,
    #[arg(long, default_value = "UTC")]
    pub timezone: String,
    /// Hold window like "72h" [default: per action]
    #[arg(long)]
    pub hold: Option<String>,
    /// Prepaid budget in Stars [default: unlimited]
    #[arg(long)]
    pub budget: Option<i64>,
    /// Create it paused.
    #[arg(long)]
    pub paused: bool,
    #[command(flatten)]
    pub postback: PostbackArgs,
}

#[derive(Args, Debug)]
pub struct PostbackArgs {
    /// URL template, e.g. "https://tracker/postback?subid={click_id}&status={status}&payout={payout}"
    #[arg(long = "postback-url")]
    pub postback_url: Option<String>,
    /// get, post_form or post_json
    #[arg(long = "postback-method", default_value = "get")]
    pub postback_method: String,
    /// generic, keitaro, affise, binom, altercpa
    #[arg(long, default_value = "generic")]
    pub preset: String,
    /// Statuses to post back, comma-separated: lead,hold,approved,rejected
    #[arg(long, default_value = "approved,rejected")]
    pub statuses: String,
    /// Allow {tg_user_id} in the URL (off by default: the network learns nothing about the user).
    #[arg(long)]
    pub send_user_id: bool,
}

#[derive(Args, Debug)]
pub struct SetPostback {
    pub id: i64,
    #[command(flatten)]
    pub postback: PostbackArgs,
}

#[derive(Subcommand, Debug)]
pub enum PostbackCmd {
    /// List postbacks, newest first.
    List {
        /// pending, delivered, failed or dead
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Show one postback and every attempt.
    Show { id: i64 },
    /// Send a failed or dead postback again (or all dead ones).
    Retry {
        #[arg(required_unless_present = "all_dead", conflicts_with = "all_dead")]
        id: Option<i64>,
        #[arg(long)]
        all_dead: bool,
    },
    /// Fire a clearly marked test postback for an offer and show the exchange.
    Test {
        #[arg(long)]
        offer: i64,
        /// Status to report.
        #[arg(long, default_value = "approved")]
        status: String,
    },
}

#[derive(Subcommand, Debug)]
pub enum PriceCmd {
    /// Show the minimum price of every action, and where it comes from.
    Show,
    /// Override an action's minimum price; new offers cannot be priced below it.
    Set {
        #[arg(long)]
        action: String,
        #[arg(long)]
        regular: i64,
        #[arg(long)]
        premium: i64,
    },
    /// Set the hold window new campaigns of an action start with (e.g. 72h, 3d, 0).
    SetHold {
        #[arg(long)]
        action: String,
        #[arg(long)]
        hold: String,
    },
}

#[derive(Args, Debug)]
pub struct StatsArgs {
    #[arg(long)]
    pub offer: Option<i64>,
    /// First day, YYYY-MM-DD, in each offer's time zone [default: 30 days ago]
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, inclusive, YYYY-MM-DD, in each offer's time zone [default: today]
    #[arg(long)]
    pub to: Option<String>,
    #[arg(long)]
    pub csv: bool,
}

/// A failure that is the user's to fix: exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

impl From<ConfigError> for UsageError {
    fn from(e: ConfigError) -> Self {
        UsageError(format!("config error: {e}"))
    }
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // grammers is chatty at info; our own modules speak at info. The demo's
    // transcript is the point, so there only warnings are logged.
    let default_filter = match cli.command {
        Command::Demo(_) => "warn",
        _ => "info,grammers_session=warn,grammers_mtsender=warn,grammers_client=warn,grammers_mtproto=warn",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_filter))
        .format_timestamp_millis()
        .init();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(u) = e.downcast_ref::<UsageError>() {
                eprintln!("tgtrack: {u}");
                return ExitCode::from(2);
            }
            eprintln!("tgtrack: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn config_path(cli: &Cli) -> PathBuf {
    cli.config
        .clone()
        .unwrap_or_else(|| PathBuf::from("config.toml"))
}

fn load_config(cli: &Cli) -> anyhow::Result<Config> {
    let path = config_path(cli);
    if !path.exists() {
        return Err(UsageError(format!(
            "config file {} not found; create one with `tgtrack example-config > {}`, or pass --config",
            path.display(),
            path.display()
        ))
        .into());
    }
    Ok(Config::load(&path).map_err(UsageError::from)?)
}

fn open_store(cfg: &Config) -> anyhow::Result<Store> {
    Store::open(&cfg.database.path, 2)
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::ExampleConfig => {
            print!("{}", crate::config::EXAMPLE);
            Ok(())
        }
        Command::CheckConfig => {
            let cfg = load_config(&cli)?;
            println!(
                "# {} is valid. Effective configuration (secrets redacted):",
                config_path(&cli).display()
            );
            print!("{}", cfg.redacted());
            if cfg.telegram.is_none() {
                println!(
                    "# no [telegram] section: `run` will serve links and postbacks without the bot"
                );
            }
            Ok(())
        }
        Command::Migrate => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            let v =
                store.read(|c| Ok::<_, anyhow::Error>(store::migrations::current_version(c)?))?;
            println!(
                "database {} is at schema version {v}",
                store.path().display()
            );
            Ok(())
        }
        Command::Run => {
            let cfg = load_config(&cli)?;
            crate::app::run_until_signal(cfg)
        }
        Command::Demo(args) => crate::demo::run(args),
        Command::Offer(cmd) => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            offer_cmd(&cfg, &store, cmd)
        }
        Command::Postback(cmd) => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            postback_cmd(&cfg, &store, cmd)
        }
        Command::Price(cmd) => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            price_cmd(&cfg, &store, cmd)
        }
        Command::Stats(args) => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            stats_cmd(&store, args, &mut std::io::stdout().lock())
        }
        Command::Ledger { payments } => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            ledger_cmd(&store, *payments, &mut std::io::stdout().lock())
        }
        Command::Audit { conversion } => {
            let cfg = load_config(&cli)?;
            let store = open_store(&cfg)?;
            audit_cmd(&store, *conversion)
        }
        Command::Backup { path } => {
            let cfg = load_config(&cli)?;
            backup_cmd(&cfg, path)
        }
    }
}

fn postback_cmd(cfg: &Config, store: &Store, cmd: &PostbackCmd) -> anyhow::Result<()> {
    use crate::postback::cli as pb;
    use crate::store::postbacks::PostbackState;
    match cmd {
        PostbackCmd::List { state, limit } => {
            let state = state
                .as_deref()
                .map(|s| s.parse::<PostbackState>())
                .transpose()
                .map_err(|e| usage(format!("--state: {e}")))?;
            print!("{}", pb::list(store, state, *limit as usize)?);
        }
        PostbackCmd::Show { id } => println!("{}", pb::show(store, store::PostbackId(*id))?),
        PostbackCmd::Retry { id: Some(id), .. } => {
            println!("{}", pb::retry(store, store::PostbackId(*id))?)
        }
        PostbackCmd::Retry { id: None, .. } => {
            println!("{} dead postback(s) requeued", pb::retry_all_dead(store)?)
        }
        PostbackCmd::Test { offer, status } => {
            let status = status
                .parse()
                .map_err(|e: String| usage(format!("--status: {e}")))?;
            let report = pb::test(store, &cfg.postback, OfferId(*offer), Some(status))?;
            println!("{report}");
            if !report.delivered {
                return Err(anyhow::anyhow!("the test postback was not delivered"));
            }
        }
    }
    Ok(())
}

fn price_cmd(cfg: &Config, store: &Store, cmd: &PriceCmd) -> anyhow::Result<()> {
    match cmd {
        PriceCmd::Show => {
            println!(
                "{:<16} {:>8} {:>8}  {:<8}  default hold",
                "action", "regular", "premium", "source"
            );
            for action in crate::domain::offer::ALL_ACTIONS {
                let p = store::settings::min_price(store, &cfg.pricing, action)?;
                let source = if p == cfg.pricing.minimum(action) {
                    "config"
                } else {
                    "override"
                };
                let hold = store::settings::default_hold(store, action)?;
                println!(
                    "{:<16} {:>8} {:>8}  {source:<8}  {}",
                    action.as_str(),
                    p.regular,
                    p.premium,
                    humantime::format_duration(std::time::Duration::from_secs(hold.max(0) as u64))
                );
            }
            Ok(())
        }
        PriceCmd::Set {
            action,
            regular,
            premium,
        } => {
            let action: Action = action
                .parse()
                .map_err(|e| usage(format!("--action: {e}")))?;
            let price = PricePair {
                regular: *regular,
                premium: *premium,
            };
            crate::service::settings::set_min_price(
                store,
                action,
                price,
                crate::service::offers::Actor::Cli,
                store::unix_now(),
            )
            .map_err(|e| usage(e.to_string()))?;
            println!("minimum price of {action}: {regular} / {premium} Stars (regular / Premium)");
            Ok(())
        }
        PriceCmd::SetHold { action, hold } => set_hold_cmd(store, action, hold),
    }
}

fn set_hold_cmd(store: &Store, action: &str, hold: &str) -> anyhow::Result<()> {
    let action: Action = action
        .parse()
        .map_err(|e| usage(format!("--action: {e}")))?;
    let secs = humantime::parse_duration(hold)
        .map(|d| d.as_secs() as i64)
        .or_else(|_| if hold.trim() == "0" { Ok(0) } else { Err(()) })
        .map_err(|_| usage(format!("--hold: {hold:?} is not a duration like 72h or 3d")))?;
    crate::service::settings::set_default_hold(
        store,
        action,
        secs,
        crate::service::offers::Actor::Cli,
        store::unix_now(),
    )
    .map_err(|e| usage(format!("--hold: {e}")))?;
    println!("default hold of {action}: {hold}");
    Ok(())
}

fn backup_cmd(cfg: &Config, dest: &Path) -> anyhow::Result<()> {
    if dest.exists() {
        return Err(UsageError(format!(
            "{} already exists; choose a new file",
            dest.display()
        ))
        .into());
    }
    let store = open_store(cfg)?;
    store.backup(dest)?;
    let size = std::fs::metadata(dest).map(|m| m.len()).unwrap_or(0);
    println!(
        "backed up {} to {} ({} KiB)",
        store.path().display(),
        dest.display(),
        size / 1024
    );
    Ok(())
}

fn usage(msg: impl Into<String>) -> anyhow::Error {
    UsageError(msg.into()).into()
}

/// Builds the postback spec from CLI flags, validating the template.
pub fn postback_spec(a: &PostbackArgs) -> anyhow::Result<PostbackSpec> {
    crate::postback::spec::build(
        a.postback_url.as_deref(),
        &a.postback_method,
        &a.preset,
        &a.statuses,
        a.send_user_id,
    )
    .map_err(|e| usage(format!("{}: {}", e.flag(), e.detail())))
}

fn offer_cmd(cfg: &Config, store: &Store, cmd: &OfferCmd) -> anyhow::Result<()> {
    let now = store::unix_now();
    match cmd {
        OfferCmd::Create(a) => {
            let action: Action = a
                .action
                .parse()
                .map_err(|e| usage(format!("--action: {e}")))?;
            let chat_kind = a
                .chat_kind
                .as_deref()
                .map(|k| {
                    serde_json::from_value::<ChatKind>(serde_json::Value::String(k.to_string()))
                })
                .transpose()
                .map_err(|_| {
                    usage("--chat-kind: expected channel, supergroup, basic_group or bot_chat")
                })?;
            let poll = a.poll_question.as_ref().map(|q| PollSpec {
                question: q.clone(),
                options: a.poll_options.clone(),
            });
            let target = Target {
                chat_id: a.chat_id,
                chat_kind,
                username: a
                    .username
                    .as_ref()
                    .map(|u| u.trim_start_matches('@').to_string()),
                title: a.title.clone(),
                msg_id: a.msg_id,
                discussion_chat_id: a.discussion_chat_id,
                url: a.url.clone(),
                poll,
                stars: a.stars,
            };
            if action == Action::Comment && a.discussion_chat_id.is_none() {
                // The CLI does not talk to Telegram, so it cannot look the group up itself.
                return Err(usage(
                    "--discussion-chat-id: a comment offer needs the id of the channel's linked discussion group \
                     (the CLI cannot ask Telegram; create the campaign with /ads in the bot to have it looked up)",
                ));
            }
            let min = store::settings::min_price(store, &cfg.pricing, action)?;
            let hold_seconds = a
                .hold
                .as_deref()
                .map(|h| humantime::parse_duration(h).map(|d| d.as_secs() as i64))
                .transpose()
                .map_err(|e| usage(format!("--hold: {e}")))?;
            if a.schedule.trim().is_empty() {
                // An empty value reads as a mistake, not as "no limit".
                return Err(usage("--schedule: empty; write `always` for no time limit"));
            }
            let schedule =
                Schedule::parse(&a.schedule).map_err(|e| usage(format!("--schedule: {e}")))?;
            let draft = OfferDraft {
                name: a.name.clone(),
                advertiser_id: None,
                action,
                target,
                price: PricePair {
                    regular: a.price.unwrap_or(min.regular),
                    premium: a.price_premium.unwrap_or(min.premium),
                },
                payout: a.payout.clone(),
                currency: a.currency.clone(),
                caps: Caps {
                    total: a.cap_total,
                    hour: a.cap_hour,
                    day: a.cap_day,
                    week: a.cap_week,
                },
                schedule,
                timezone: a.timezone.clone(),
                hold_seconds,
                budget_total: a.budget,
            };
            let postback = postback_spec(&a.postback)?;
            let status = if a.paused {
                OfferStatus::Paused
            } else {
                OfferStatus::Active
            };
            let id = crate::service::offers::create(store, draft, min, status, postback, now)
                .map_err(|e| match e {
                    crate::service::offers::CreateError::Store(e) => anyhow::Error::from(e),
                    other => usage(other.to_string()),
                })?;
            println!("created offer {id} ({status})");
            println!(
                "click link for networks: {}/click/{id}?uid={{click_id}}",
                cfg.http.public_base_url
            );
            Ok(())
        }
        OfferCmd::List => {
            let offers = store.read(store::offers::list_offers)?;
            if offers.is_empty() {
                println!("no offers yet; create one with `tgtrack offer create --help`");
                return Ok(());
            }
            println!(
                "{:>5}  {:<10}  {:<16}  {:>7}  {:>9}  name",
                "id", "status", "action", "price", "budget"
            );
            for o in offers {
                let budget = o.budget_left().map_or("-".to_string(), |b| b.to_string());
                println!(
                    "{:>5}  {:<10}  {:<16}  {:>7}  {:>9}  {}",
                    o.id,
                    o.status.as_str(),
                    o.action.as_str(),
                    format!("{}/{}", o.price.regular, o.price.premium),
                    budget,
                    o.name
                );
            }
            Ok(())
        }
        OfferCmd::Show { id, secret } => {
            let o = store
                .read(|c| store::offers::get_offer(c, OfferId(*id)))?
                .ok_or_else(|| usage(format!("no offer {id}")))?;
            let mut shown = serde_json::to_value(&o)?;
            if let Some(s) = shown.get_mut("relay_secret").filter(|s| !s.is_null()) {
                *s = serde_json::Value::String("**** (see --secret)".into());
            }
            println!("{}", serde_json::to_string_pretty(&shown)?);
            println!(
                "click link: {}/click/{}?uid={{click_id}}",
                cfg.http.public_base_url, o.id
            );
            if *secret {
                match &o.relay_secret {
                    Some(s) => println!("relay secret: {s}"),
                    None => println!("relay secret: none (this offer takes no relay events)"),
                }
            }
            Ok(())
        }
        OfferCmd::Pause { id } => set_status(store, *id, OfferStatus::Paused, now),
        OfferCmd::Resume { id } => set_status(store, *id, OfferStatus::Active, now),
        OfferCmd::SetPostback(a) => {
            let spec = postback_spec(&a.postback)?;
            let ok = crate::service::offers::set_postback(
                store,
                OfferId(a.id),
                &spec,
                crate::service::offers::Actor::Cli,
                now,
            )?;
            if !ok {
                return Err(usage(format!("no offer {}", a.id)));
            }
            println!(
                "offer {}: postback set ({} {}, statuses {})",
                a.id,
                spec.method.as_str(),
                spec.preset,
                a.postback.statuses
            );
            Ok(())
        }
    }
}

fn set_status(store: &Store, id: i64, to: OfferStatus, now: i64) -> anyhow::Result<()> {
    use crate::service::offers::{self, Actor};
    let o = offers::set_status(store, OfferId(id), None, to, Actor::Cli, now)
        .map_err(|e| usage(e.to_string()))?;
    println!("offer {id} is {}", o.status);
    Ok(())
}

fn parse_day(s: &str, flag: &str) -> anyhow::Result<chrono::NaiveDate> {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|_| usage(format!("{flag}: {s:?} is not a date like 2026-11-26")))
}

/// `tgtrack stats`: the same figures as the bot's `/statistic` (`service::stats`),
/// per day of each offer's time zone. `now` decides "today".
pub fn stats_cmd(store: &Store, a: &StatsArgs, out: &mut dyn std::io::Write) -> anyhow::Result<()> {
    stats_at(store, a, store::unix_now(), out)
}

pub fn stats_at(
    store: &Store,
    a: &StatsArgs,
    now: i64,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let today = chrono::DateTime::from_timestamp(now, 0)
        .map(|t| t.date_naive())
        .unwrap_or_default();
    let to = match &a.to {
        Some(s) => parse_day(s, "--to")?,
        None => today,
    }
    .succ_opt()
    .ok_or_else(|| usage("--to is too far in the future"))?;
    let from = match &a.from {
        Some(s) => parse_day(s, "--from")?,
        None => to - chrono::Days::new(30),
    };
    if from >= to {
        return Err(usage("--from must not be after --to"));
    }
    let rows = crate::service::stats::daily(store, a.offer.map(OfferId), from, to)?;
    crate::report::table::write_daily(out, &rows, a.csv)
}

/// `tgtrack ledger`: the same figures as the admins' `/ledger` (`service::ledger`).
pub fn ledger_cmd(
    store: &Store,
    payments: Option<u32>,
    out: &mut dyn std::io::Write,
) -> anyhow::Result<()> {
    let l = crate::service::ledger::ledger(store)?;
    writeln!(
        out,
        "{:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "advertiser", "paid", "refunded", "spent", "held", "credit", "balance"
    )?;
    let totals = std::iter::once(("total".to_string(), &l.total));
    for (who, a) in l
        .accounts
        .iter()
        .map(|a| (a.advertiser.to_string(), a))
        .chain(totals)
    {
        writeln!(
            out,
            "{who:<14} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            a.paid,
            a.refunded,
            a.spent,
            a.held,
            a.credit,
            a.balance()
        )?;
    }
    if l.reconciles() {
        writeln!(out, "reconciles: paid = spent + refunded + balance")?;
    } else {
        for a in l.accounts.iter().filter(|a| a.discrepancy() != 0) {
            writeln!(
                out,
                "DOES NOT RECONCILE: advertiser {} is off by {} Stars",
                a.advertiser,
                a.discrepancy()
            )?;
        }
    }
    if let Some(n) = payments {
        writeln!(out)?;
        for p in crate::service::ledger::payments(store, n)? {
            let when = chrono::DateTime::from_timestamp(p.at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                .unwrap_or_default();
            writeln!(
                out,
                "{when}  {:>6}  {:<15} {:>7}  user {} offer {}  {}",
                p.id,
                p.kind,
                p.amount,
                p.user,
                p.offer.map(|o| o.to_string()).unwrap_or_else(|| "-".into()),
                p.charge_id.unwrap_or_default()
            )?;
        }
    }
    Ok(())
}

fn audit_cmd(store: &Store, conversion: i64) -> anyhow::Result<()> {
    let trail =
        store.read(|c| store::audit::trail_for_conversion(c, store::ConversionId(conversion)))?;
    if trail.is_empty() {
        return Err(usage(format!("no conversion {conversion}")));
    }
    for e in trail {
        let when = chrono::DateTime::from_timestamp(e.at, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        println!("{when}  {:<18} {}", e.kind, e.detail);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
