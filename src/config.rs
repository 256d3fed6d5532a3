//! Typed configuration, read once at start and passed explicitly.
//!
//! The file is TOML with `deny_unknown_fields` everywhere, so a typo is an
//! error instead of a silently ignored key. Raw structs mirror the file;
//! [`Config::from_toml`] validates them into typed values. Every error names
//! the key, and the CLI prints it on one line and exits with code 2.
//! Secrets (`bot_token`, `api_hash`) may come from the environment and print as `****`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::offer::{Action, PricePair};

/// The commented example, embedded so `tgtrack example-config` prints it.
pub const EXAMPLE: &str = include_str!("../config.example.toml");

/// A config problem, naming the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub key: String,
    pub problem: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}", self.problem)
        } else {
            write!(f, "{}: {}", self.key, self.problem)
        }
    }
}

impl std::error::Error for ConfigError {}

fn err(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.to_string(),
        problem: problem.into(),
    }
}

/// A secret string: never printed, never logged.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"****\"")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("****")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("****")
    }
}

// ---- the file, as written ------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    database: RawDatabase,
    #[serde(default)]
    http: RawHttp,
    telegram: Option<RawTelegram>,
    #[serde(default)]
    postback: RawPostback,
    #[serde(default)]
    pricing: RawPricing,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    path: Option<PathBuf>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHttp {
    listen: Option<String>,
    public_base_url: Option<String>,
    threads: Option<i64>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    read_timeout: Option<String>,
    max_connections: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTelegram {
    api_id: Option<i64>,
    api_hash: Option<String>,
    bot_token: Option<String>,
    bot_username: Option<String>,
    #[serde(default)]
    admins: Vec<i64>,
    test_dc: Option<RawTestDc>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestDc {
    address: String,
    auth_key_file: PathBuf,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPostback {
    timeout: Option<String>,
    max_attempts: Option<i64>,
    backoff: Option<String>,
    backoff_max: Option<String>,
    allow_private_targets: Option<bool>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPricing {
    join: Option<RawPrice>,
    share: Option<RawPrice>,
    reaction: Option<RawPrice>,
    comment: Option<RawPrice>,
    poll_vote: Option<RawPrice>,
    paid_content: Option<RawPrice>,
    bot_start: Option<RawPrice>,
    boost: Option<RawPrice>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    regular: i64,
    premium: i64,
}

// ---- validated -----------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub telegram: Option<TelegramConfig>,
    pub postback: PostbackConfig,
    pub pricing: Pricing,
}

#[derive(Debug, Clone, Serialize)]
pub struct DatabaseConfig {
    pub path: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Base of the links we hand out, without a trailing slash.
    pub public_base_url: String,
    pub threads: usize,
    /// Peers whose X-Forwarded-For we believe. Everyone else's header is ignored.
    pub trusted_proxies: Vec<IpNet>,
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Most connections open at once; `None` derives it from the open-file
    /// limit at start (`http::server::default_max_connections`).
    pub max_connections: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TelegramConfig {
    pub api_id: i32,
    pub api_hash: Secret,
    pub bot_token: Secret,
    pub bot_username: String,
    pub admins: Vec<i64>,
    pub test_dc: Option<TestDc>,
}

/// Points the bot at a test datacenter (tgsim) instead of Telegram.
#[derive(Debug, Clone, Serialize)]
pub struct TestDc {
    pub address: SocketAddr,
    pub auth_key_file: PathBuf,
}

#[derive(Debug, Clone, Serialize)]
pub struct PostbackConfig {
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub max_attempts: u32,
    #[serde(with = "humantime_serde")]
    pub backoff: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    pub allow_private_targets: bool,
}

/// Minimum prices in Stars per price class (design.md section 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Pricing {
    pub join: PricePair,
    pub share: PricePair,
    pub reaction: PricePair,
    pub comment: PricePair,
    pub poll_vote: PricePair,
    pub paid_content: PricePair,
    pub bot_start: PricePair,
    pub boost: PricePair,
}

impl Default for Pricing {
    fn default() -> Self {
        let p = |regular, premium| PricePair { regular, premium };
        Pricing {
            join: p(5, 10),
            share: p(2, 7),
            reaction: p(1, 5),
            comment: p(3, 10),
            // Not in the design's table: a vote is as cheap to give as a reaction.
            poll_vote: p(1, 5),
            paid_content: p(30, 30),
            bot_start: p(3, 10),
            // Boosting needs Premium (or a gifted slot), so both tiers cost the same.
            boost: p(10, 10),
        }
    }
}

impl Pricing {
    /// The configured minimum for an action.
    pub fn minimum(&self, action: Action) -> PricePair {
        use Action::*;
        match action {
            JoinChannel | JoinRequest => self.join,
            Share => self.share,
            Reaction => self.reaction,
            Comment => self.comment,
            PollVote => self.poll_vote,
            PaidMedia => self.paid_content,
            StartBot | ThirdPartyBot => self.bot_start,
            Boost => self.boost,
            // The user pays us: the advertiser sets the invoice, no minimum applies.
            StarsPayment => PricePair {
                regular: 0,
                premium: 0,
            },
        }
    }
}

impl Config {
    /// Parses and validates TOML text. `env` supplies environment overrides
    /// (a closure so tests need not touch the process environment).
    pub fn from_toml(
        text: &str,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
        Self::validate(raw, env)
    }

    /// Reads the file at `path` (see [`Config::from_toml`]).
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            err(
                "",
                format!("cannot read config file {}: {e}", path.display()),
            )
        })?;
        Self::from_toml(&text, |k| std::env::var(k).ok()).map_err(|mut e| {
            if e.key.is_empty() {
                e.problem = format!("{}: {}", path.display(), e.problem);
            }
            e
        })
    }

    fn validate(
        raw: RawConfig,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let database = DatabaseConfig {
            path: raw
                .database
                .path
                .unwrap_or_else(|| PathBuf::from("tgtrack.db")),
        };
        if database.path.as_os_str().is_empty() {
            return Err(err("database.path", "must not be empty"));
        }

        let listen_s = raw.http.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_s.parse().map_err(|_| {
            err(
                "http.listen",
                format!("{listen_s:?} is not an address like 127.0.0.1:8080"),
            )
        })?;
        let public_base_url = raw
            .http
            .public_base_url
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_base_url.starts_with("http://") || public_base_url.starts_with("https://")) {
            return Err(err(
                "http.public_base_url",
                "must start with http:// or https://",
            ));
        }
        let threads = raw.http.threads.unwrap_or(4);
        if !(1..=256).contains(&threads) {
            return Err(err(
                "http.threads",
                format!("{threads} is out of range 1..=256"),
            ));
        }
        let trusted_proxies = raw
            .http
            .trusted_proxies
            .iter()
            .map(|s| {
                let net = IpNet::parse(s).ok_or_else(|| {
                    err(
                        "http.trusted_proxies",
                        format!("{s:?} is not an IP or CIDR"),
                    )
                })?;
                if net.prefix == 0 {
                    // Every client could then choose the IP we record.
                    return Err(err(
                        "http.trusted_proxies",
                        format!(
                            "{s:?} trusts X-Forwarded-For from every address on the Internet; \
                             list only your proxies (e.g. \"127.0.0.1\")"
                        ),
                    ));
                }
                Ok(net)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let read_timeout = duration("http.read_timeout", raw.http.read_timeout, "10s")?;
        if read_timeout > MAX_READ_TIMEOUT {
            return Err(err(
                "http.read_timeout",
                format!(
                    "{} is more than the maximum of {}s: a client could hold a connection that long",
                    humantime::format_duration(read_timeout),
                    MAX_READ_TIMEOUT.as_secs()
                ),
            ));
        }
        let max_connections = match raw.http.max_connections {
            None => None,
            Some(n) if (16..=65_536).contains(&n) => Some(n as usize),
            Some(n) => {
                return Err(err(
                    "http.max_connections",
                    format!("{n} is out of range 16..=65536"),
                ))
            }
        };

        let telegram = match raw.telegram {
            None => None,
            Some(t) => Some(validate_telegram(t, &env)?),
        };

        let p = raw.postback;
        let timeout = duration("postback.timeout", p.timeout, "10s")?;
        let max_attempts = p.max_attempts.unwrap_or(10);
        if !(1..=100).contains(&max_attempts) {
            return Err(err(
                "postback.max_attempts",
                format!("{max_attempts} is out of range 1..=100"),
            ));
        }
        let backoff = duration("postback.backoff", p.backoff, "30s")?;
        let backoff_max = duration("postback.backoff_max", p.backoff_max, "1h")?;
        if backoff_max < backoff {
            return Err(err(
                "postback.backoff_max",
                "must be at least postback.backoff",
            ));
        }
        let postback = PostbackConfig {
            timeout,
            max_attempts: max_attempts as u32,
            backoff,
            backoff_max,
            allow_private_targets: p.allow_private_targets.unwrap_or(false),
        };

        let d = Pricing::default();
        let price = |key: &str,
                     raw: Option<RawPrice>,
                     default: PricePair|
         -> Result<PricePair, ConfigError> {
            match raw {
                None => Ok(default),
                Some(r) => {
                    let ok = |v: i64| (0..=1_000_000).contains(&v);
                    if !ok(r.regular) || !ok(r.premium) {
                        return Err(err(
                            &format!("pricing.{key}"),
                            "prices must be 0..=1000000 Stars",
                        ));
                    }
                    Ok(PricePair {
                        regular: r.regular,
                        premium: r.premium,
                    })
                }
            }
        };
        let rp = raw.pricing;
        let pricing = Pricing {
            join: price("join", rp.join, d.join)?,
            share: price("share", rp.share, d.share)?,
            reaction: price("reaction", rp.reaction, d.reaction)?,
            comment: price("comment", rp.comment, d.comment)?,
            poll_vote: price("poll_vote", rp.poll_vote, d.poll_vote)?,
            paid_content: price("paid_content", rp.paid_content, d.paid_content)?,
            bot_start: price("bot_start", rp.bot_start, d.bot_start)?,
            boost: price("boost", rp.boost, d.boost)?,
        };

        Ok(Config {
            database,
            http: HttpConfig {
                listen,
                public_base_url,
                threads: threads as usize,
                trusted_proxies,
                read_timeout,
                max_connections,
            },
            telegram,
            postback,
            pricing,
        })
    }

    /// The effective config as TOML-ish text with secrets redacted, for `check-config`.
    pub fn redacted(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render config: {e}"))
    }

    /// The bot username links point to; a placeholder only when the bot is not configured.
    pub fn bot_username(&self) -> Option<&str> {
        self.telegram.as_ref().map(|t| t.bot_username.as_str())
    }
}

fn validate_telegram(
    t: RawTelegram,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<TelegramConfig, ConfigError> {
    let api_id = t.api_id.ok_or_else(|| {
        err(
            "telegram.api_id",
            "is required (from https://my.telegram.org)",
        )
    })?;
    let api_id = i32::try_from(api_id)
        .ok()
        .filter(|v| *v > 0)
        .ok_or_else(|| err("telegram.api_id", format!("{api_id} is not a valid api id")))?;
    // The environment wins, so the file can be committed without secrets.
    let api_hash = env("TGTRACK_API_HASH")
        .or(t.api_hash)
        .ok_or_else(|| err("telegram.api_hash", "is required (or set TGTRACK_API_HASH)"))?;
    if api_hash.len() != 32 || !api_hash.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(err("telegram.api_hash", "must be 32 hex characters"));
    }
    let bot_token = env("TGTRACK_BOT_TOKEN").or(t.bot_token).ok_or_else(|| {
        err(
            "telegram.bot_token",
            "is required (or set TGTRACK_BOT_TOKEN)",
        )
    })?;
    let valid_token = bot_token.split_once(':').is_some_and(|(id, rest)| {
        !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()) && rest.len() >= 10
    });
    if !valid_token {
        return Err(err(
            "telegram.bot_token",
            "does not look like a token from @BotFather (123456:ABC...)",
        ));
    }
    let bot_username = t
        .bot_username
        .ok_or_else(|| err("telegram.bot_username", "is required"))?
        .trim_start_matches('@')
        .to_string();
    let valid_name = (5..=32).contains(&bot_username.len())
        && bot_username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        && bot_username.to_ascii_lowercase().ends_with("bot");
    if !valid_name {
        return Err(err(
            "telegram.bot_username",
            format!(
                "{bot_username:?} is not a bot username (5-32 of A-Za-z0-9_, ending in \"bot\")"
            ),
        ));
    }
    if let Some(bad) = t.admins.iter().find(|id| **id <= 0) {
        return Err(err(
            "telegram.admins",
            format!("{bad} is not a Telegram user id"),
        ));
    }
    let test_dc = match t.test_dc {
        None => None,
        Some(d) => Some(TestDc {
            address: d.address.parse().map_err(|_| {
                err(
                    "telegram.test_dc.address",
                    format!("{:?} is not an address like 127.0.0.1:4430", d.address),
                )
            })?,
            auth_key_file: {
                // Checked here, so a wrong path is a config error naming the file
                // instead of a bot that "did not log in" a minute later.
                let key = "telegram.test_dc.auth_key_file";
                let shown = d.auth_key_file.display();
                match std::fs::metadata(&d.auth_key_file) {
                    Ok(m) if m.is_file() && m.len() == 256 => {}
                    Ok(m) if m.is_file() => {
                        return Err(err(
                            key,
                            format!("{shown} must hold 256 bytes, not {}", m.len()),
                        ))
                    }
                    Ok(_) => return Err(err(key, format!("{shown} is not a file"))),
                    Err(e) => return Err(err(key, format!("cannot read {shown}: {e}"))),
                }
                d.auth_key_file
            },
        }),
    };
    Ok(TelegramConfig {
        api_id,
        api_hash: Secret(api_hash),
        bot_token: Secret(bot_token),
        bot_username,
        admins: t.admins,
        test_dc,
    })
}

/// The longest `http.read_timeout`: a client may hold a connection (and its
/// thread) this long without finishing a request.
pub const MAX_READ_TIMEOUT: Duration = Duration::from_secs(60);

fn duration(key: &str, v: Option<String>, default: &str) -> Result<Duration, ConfigError> {
    let s = v.unwrap_or_else(|| default.to_string());
    let d = humantime::parse_duration(&s).map_err(|e| {
        err(
            key,
            format!("{s:?} is not a duration like \"10s\" or \"5m\": {e}"),
        )
    })?;
    if d.is_zero() {
        return Err(err(key, "must be greater than zero"));
    }
    Ok(d)
}

/// Turns a toml error into one line: `line L: key: message`.
fn toml_error(text: &str, e: &toml::de::Error) -> ConfigError {
    let message = e.message().trim().replace('\n', " ");
    let Some(span) = e.span() else {
        return err("", message);
    };
    let line_no = text[..span.start.min(text.len())].matches('\n').count() + 1;
    // Name the key: the `[table]` above the error plus the key on its line.
    let mut table = String::new();
    let mut key = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if i + 1 > line_no {
            break;
        }
        if t.starts_with('[') {
            table = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            key.clear();
        }
        if i + 1 == line_no {
            if let Some((k, _)) = t.split_once('=') {
                key = k.trim().to_string();
            }
        }
    }
    let full = match (table.is_empty(), key.is_empty()) {
        (_, true) => table,
        (true, false) => key,
        (false, false) => format!("{table}.{key}"),
    };
    ConfigError {
        key: full,
        problem: format!("{message} (line {line_no})"),
    }
}

/// An IP network for `trusted_proxies`: `10.0.0.0/8`, `::1`, `192.168.1.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    pub fn parse(s: &str) -> Option<IpNet> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(IpNet { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => mask_eq(&n.octets(), &i.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V6(i)) => mask_eq(&n.octets(), &i.octets(), self.prefix),
            (IpAddr::V6(n), IpAddr::V4(i)) => n.to_ipv4_mapped() == Some(i) && self.prefix == 128,
            (IpAddr::V4(n), IpAddr::V6(i)) => i
                .to_ipv4_mapped()
                .is_some_and(|i| mask_eq(&n.octets(), &i.octets(), self.prefix)),
        }
    }
}

fn mask_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = (prefix / 8) as usize;
    if a[..full] != b[..full] {
        return false;
    }
    let rest = prefix % 8;
    rest == 0 || (a[full] ^ b[full]) & (0xffu8 << (8 - rest)) == 0
}

impl Serialize for IpNet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{}/{}", self.addr, self.prefix))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn example_config_parses() {
        let c = Config::from_toml(EXAMPLE, no_env).expect("config.example.toml must parse");
        assert_eq!(c.pricing, Pricing::default());
    }

    #[test]
    fn empty_config_uses_defaults() {
        let c = Config::from_toml("", no_env).unwrap();
        assert!(c.telegram.is_none());
        assert_eq!(c.http.threads, 4);
        assert_eq!(c.postback.max_attempts, 10);
    }

    #[test]
    fn unknown_key_is_named() {
        let e = Config::from_toml("[http]\nthreads = 4\nlistn = \"x\"\n", no_env).unwrap_err();
        assert_eq!(e.key, "http.listn");
        assert!(e.problem.contains("unknown field"), "{e}");
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn wrong_type_is_named() {
        let e = Config::from_toml("[http]\nthreads = \"many\"\n", no_env).unwrap_err();
        assert_eq!(e.key, "http.threads");
    }

    #[test]
    fn bad_values_are_named() {
        for (text, key) in [
            ("[http]\nlisten = \"nowhere\"", "http.listen"),
            ("[http]\nthreads = 0", "http.threads"),
            (
                "[http]\ntrusted_proxies = [\"0.0.0.0/0\"]",
                "http.trusted_proxies",
            ),
            (
                "[http]\ntrusted_proxies = [\"::/0\"]",
                "http.trusted_proxies",
            ),
            ("[http]\nread_timeout = \"61s\"", "http.read_timeout"),
            ("[http]\nmax_connections = 3", "http.max_connections"),
            (
                "[http]\ntrusted_proxies = [\"10.0.0.0/99\"]",
                "http.trusted_proxies",
            ),
            ("[postback]\ntimeout = \"soon\"", "postback.timeout"),
            ("[postback]\nmax_attempts = 0", "postback.max_attempts"),
            (
                "[pricing]\njoin = { regular = -1, premium = 3 }",
                "pricing.join",
            ),
            ("[telegram]\nbot_username = \"x_bot\"", "telegram.api_id"),
        ] {
            let e = Config::from_toml(text, no_env).unwrap_err();
            assert_eq!(e.key, key, "{text} -> {e}");
        }
    }

    #[test]
    fn secrets_come_from_env_and_are_redacted() {
        let text = "[telegram]\napi_id = 1\nbot_username = \"demo_bot\"\n";
        let env = |k: &str| match k {
            "TGTRACK_API_HASH" => Some("0123456789abcdef0123456789abcdef".to_string()),
            "TGTRACK_BOT_TOKEN" => Some("123:AAAAAAAAAAAAAAAA".to_string()),
            _ => None,
        };
        let c = Config::from_toml(text, env).unwrap();
        let t = c.telegram.as_ref().unwrap();
        assert_eq!(t.bot_token.expose(), "123:AAAAAAAAAAAAAAAA");
        let shown = format!("{c:?}\n{}", c.redacted());
        assert!(
            !shown.contains("AAAAAAAA") && !shown.contains("0123456789abcdef"),
            "{shown}"
        );
        assert!(shown.contains("****"));
    }

    #[test]
    fn ip_nets() {
        let n = IpNet::parse("10.0.0.0/8").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("11.0.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.0.0.1".parse().unwrap()));
        assert!(IpNet::parse("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(IpNet::parse("1.2.3.4/33").is_none());
    }
}
