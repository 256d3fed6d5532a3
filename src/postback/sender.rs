//! The HTTP side of a postback: the only module that imports ureq.
//!
//! One [`Sender`] (a ureq agent) is shared by the worker's sender threads, so
//! keep-alive connections are pooled across them. Redirects are not followed
//! and proxies from the environment are ignored: the address we checked must be
//! the address we talk to.

use std::collections::HashMap;
use std::fmt;
use std::io::Read as _;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::{DefaultConnector, NextTimeout};

use super::guard;
use super::policy::Outcome;
use super::preset::Preset;
use crate::config::PostbackConfig;
use crate::domain::offer::PostbackMethod;

/// How much of a response body we read: enough for any tracker's verdict. A
/// longer body closes the connection instead of being drained.
const BODY_READ_LIMIT: u64 = 64 * 1024;
/// How much of it the attempt log keeps.
pub const BODY_HEAD: usize = 256;
/// How long a checked DNS answer is reused. Without a cache every attempt would
/// resolve again even when a pooled connection is reused.
const DNS_TTL: Duration = Duration::from_secs(60);

/// One request to make.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub method: PostbackMethod,
    pub url: &'a str,
    pub body: Option<&'a str>,
    pub preset: Preset,
}

/// What came back, ready to log and to feed the retry policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub http_status: Option<u16>,
    pub latency_ms: i64,
    pub body_head: Option<String>,
    /// Transport-level problem (timeout, refused address, connection error).
    pub error: Option<String>,
    pub outcome: Outcome,
}

/// The resolver refused every address of a host: the SSRF guard.
#[derive(Debug)]
struct Refused(String);

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// Resolves, then refuses names that lead to non-public addresses. ureq
/// connects only to the addresses returned here, so there is no window for
/// DNS rebinding between the check and the connection.
#[derive(Debug)]
struct GuardedResolver {
    allow_private: bool,
    inner: DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ResolvedSocketAddrs)>>,
}

impl GuardedResolver {
    fn check(&self, host: &str, addrs: &ResolvedSocketAddrs) -> Result<(), ureq::Error> {
        if self.allow_private {
            return Ok(());
        }
        // Any forbidden address refuses the name: a resolver answering one
        // public and one private address is exactly the rebinding trick.
        if let Some((a, why)) = addrs
            .iter()
            .find_map(|a| guard::forbidden(a.ip()).map(|w| (a, w)))
        {
            return Err(ureq::Error::Other(Box::new(Refused(format!(
                "refused: {host} resolves to {} ({why}); set postback.allow_private_targets to allow it",
                a.ip()
            )))));
        }
        Ok(())
    }
}

impl Resolver for GuardedResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &ureq::config::Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let scheme = uri
            .scheme()
            .ok_or_else(|| ureq::Error::BadUri(format!("no scheme in {uri}")))?;
        let authority = uri
            .authority()
            .ok_or_else(|| ureq::Error::BadUri(format!("no host in {uri}")))?;
        let key = DefaultResolver::host_and_port(scheme, authority)
            .ok_or_else(|| ureq::Error::BadUri(format!("no port for {uri}")))?;

        // Literal addresses need no lookup (and no lookup thread).
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if let Ok(ip) = host.parse::<IpAddr>() {
            let default_port = if scheme.as_str().eq_ignore_ascii_case("https") {
                443
            } else {
                80
            };
            let port = authority.port_u16().unwrap_or(default_port);
            let mut addrs = self.inner.empty();
            addrs.push(SocketAddr::new(ip, port));
            self.check(host, &addrs)?;
            return Ok(addrs);
        }

        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .cloned();
        if let Some((at, addrs)) = cache {
            if at.elapsed() < DNS_TTL {
                return Ok(addrs);
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        self.check(host, &addrs)?;
        // Only checked answers are cached.
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

/// A pooled HTTP client with the guard and our timeouts.
#[derive(Clone)]
pub struct Sender {
    agent: ureq::Agent,
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Sender {
    /// `pool` is how many idle keep-alive connections to keep per host: the
    /// number of sender threads, so each can reuse one.
    pub fn new(config: &PostbackConfig, pool: usize) -> Sender {
        let agent_config = ureq::Agent::config_builder()
            // We read every status ourselves; ureq's error for 4xx/5xx would lose the body.
            .http_status_as_error(false)
            .max_redirects(0)
            // HTTP(S)_PROXY from the environment would bypass the address check.
            .proxy(None)
            .timeout_global(Some(config.timeout))
            .max_idle_connections_per_host(pool.max(1))
            .max_idle_connections(pool.max(1) * 8)
            // Postbacks are a URL and a short answer; ureq's 128 KiB default
            // buffers per pooled connection would be most of our RSS budget.
            .input_buffer_size(32 * 1024)
            .output_buffer_size(32 * 1024)
            .max_response_header_size(16 * 1024)
            .user_agent(concat!(
                "tgtrack/",
                env!("CARGO_PKG_VERSION"),
                " (postback)"
            ))
            .build();
        let resolver = GuardedResolver {
            allow_private: config.allow_private_targets,
            inner: DefaultResolver::default(),
            cache: Mutex::new(HashMap::new()),
        };
        Sender {
            agent: ureq::Agent::with_parts(agent_config, DefaultConnector::default(), resolver),
        }
    }

    /// Makes one attempt. Never panics and never returns early without an
    /// [`Answer`]: every attempt is logged, whatever happened.
    pub fn send(&self, req: Request<'_>) -> Answer {
        let started = Instant::now();
        let elapsed = |s: Instant| s.elapsed().as_millis().min(i64::MAX as u128) as i64;
        let lower = req.url.get(..8).unwrap_or(req.url).to_ascii_lowercase();
        if !(lower.starts_with("http://") || lower.starts_with("https://")) {
            let reason = "refused: only http and https postback URLs are sent".to_string();
            return Answer {
                http_status: None,
                latency_ms: 0,
                body_head: None,
                error: Some(reason.clone()),
                outcome: Outcome::Refused { reason },
            };
        }
        let body = req.body.unwrap_or("");
        let result = match req.method {
            PostbackMethod::Get => self.agent.get(req.url).call(),
            PostbackMethod::PostForm => self
                .agent
                .post(req.url)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body),
            PostbackMethod::PostJson => self
                .agent
                .post(req.url)
                .header("Content-Type", "application/json")
                .send(body),
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => {
                let (outcome, error) = classify_error(e);
                return Answer {
                    http_status: None,
                    latency_ms: elapsed(started),
                    body_head: None,
                    error: Some(error),
                    outcome,
                };
            }
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let mut bytes = Vec::new();
        // Reading to the end (within the limit) returns the connection to the pool.
        let read = response
            .body_mut()
            .as_reader()
            .take(BODY_READ_LIMIT)
            .read_to_end(&mut bytes);
        let latency_ms = elapsed(started);
        let text = String::from_utf8_lossy(&bytes);
        let body_head = Some(text.chars().take(BODY_HEAD).collect::<String>());
        if let Err(e) = read {
            // The status line arrived but the body broke off: the receiver may
            // or may not have acted on it, and resending is safe (same txid).
            let reason = format!("HTTP {status}, body read failed: {e}");
            return Answer {
                http_status: Some(status),
                latency_ms,
                body_head,
                error: Some(reason.clone()),
                outcome: Outcome::Transient {
                    reason,
                    retry_after: None,
                },
            };
        }
        let check = if (200..300).contains(&status) {
            req.preset.check_body(&text)
        } else {
            Ok(())
        };
        let outcome = Outcome::from_status(status, check, retry_after);
        Answer {
            http_status: Some(status),
            latency_ms,
            body_head,
            error: None,
            outcome,
        }
    }
}

/// Splits transport errors into refusals (ours, or a URL that can never work)
/// and transient failures (worth retrying).
fn classify_error(e: ureq::Error) -> (Outcome, String) {
    if let ureq::Error::Other(inner) = &e {
        if let Some(r) = inner.downcast_ref::<Refused>() {
            return (
                Outcome::Refused {
                    reason: r.0.clone(),
                },
                r.0.clone(),
            );
        }
    }
    let text = match &e {
        ureq::Error::Timeout(t) => format!("timeout ({t})"),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Io(io) => format!("connection error: {io}"),
        other => other.to_string(),
    };
    let permanent = matches!(
        e,
        ureq::Error::BadUri(_) | ureq::Error::Http(_) | ureq::Error::RequireHttpsOnly(_)
    );
    if permanent {
        (
            Outcome::Refused {
                reason: text.clone(),
            },
            text,
        )
    } else {
        (
            Outcome::Transient {
                reason: text.clone(),
                retry_after: None,
            },
            text,
        )
    }
}

/// Shared handle used by the worker's threads.
pub type SharedSender = Arc<Sender>;
