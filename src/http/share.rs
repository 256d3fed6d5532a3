//! `GET /s/{token}`: count a visitor of a personal share link, then redirect
//! to the link's stored target.
//!
//! Visits are counted like clicks are stored: the intake validates them
//! ([`prepare`]), commits a batch of them in one transaction (`batch.rs`) and
//! answers each once it has committed ([`answer`]).
//!
//! The visitor is identified by a salted hash of (IP, user agent) and the raw
//! IP is never stored. The redirect target comes only from the stored row,
//! never from the request, and is checked again before it becomes a header.

use sha2::{Digest, Sha256};
use tiny_http::Request;

use base64::Engine as _;

use super::client_ip::client_ip;
use super::router::{HttpError, Reply};
use super::server::Context;
use crate::domain::token::is_start_payload as is_token_shaped;
use crate::store::shares::{record_share_visit, share_by_token, ShareVisit};
use crate::store::{Connection, ShareId, StoreError};

pub fn share(ctx: &Context, rq: &Request, token: &str) -> Result<Reply, HttpError> {
    match prepare(ctx, rq, token)? {
        // The intake batches visits; one reaches the router only if no helper
        // is left to take it (see `server.rs`): its own transaction.
        Some(visit) => {
            let now = ctx.clock.now();
            let visited = ctx.store.write(|tx| record(tx, &visit, now))?;
            answer(ctx, visited)
        }
        None => {
            let link = ctx
                .store
                .read(|c| share_by_token(c, token))?
                .ok_or(HttpError::NotFound("unknown share link"))?;
            redirect(link.id, &link.target_url)
        }
    }
}

/// A visit validated and hashed, owned so it can wait for the batch's commit.
pub struct OwnedVisit {
    token: String,
    visitor_hash: String,
}

/// Validates a share request: `Ok(None)` when it is not a visit to count, a
/// HEAD (link checkers) or a link-preview fetcher or crawler (Telegram fetches
/// every pasted link, so pasting a link somewhere is not a visit); those are
/// redirected read-only.
pub fn prepare(ctx: &Context, rq: &Request, token: &str) -> Result<Option<OwnedVisit>, HttpError> {
    if !is_token_shaped(token) {
        return Err(HttpError::NotFound("unknown share link"));
    }
    let user_agent = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("User-Agent"))
        .map_or("", |h| h.value.as_str());
    if *rq.method() == tiny_http::Method::Head || is_preview_bot(user_agent) {
        return Ok(None);
    }
    let ip = client_ip(
        rq.remote_addr().map(|a| a.ip()),
        &ctx.trusted_proxies,
        rq.headers()
            .iter()
            .filter(|h| h.field.equiv("X-Forwarded-For"))
            .map(|h| h.value.as_str()),
    );
    Ok(Some(OwnedVisit {
        token: token.to_string(),
        visitor_hash: visitor_hash(
            &ctx.visitor_salt,
            &ip.map(|i| i.to_string()).unwrap_or_default(),
            user_agent,
        ),
    }))
}

/// One visit inside the batch's transaction; `None` if no link has the token.
pub(super) fn record(
    tx: &Connection,
    v: &OwnedVisit,
    now: i64,
) -> Result<Option<ShareVisit>, StoreError> {
    record_share_visit(tx, &v.token, &v.visitor_hash, now)
}

/// The answer to one committed visit.
pub fn answer(ctx: &Context, visited: Option<ShareVisit>) -> Result<Reply, HttpError> {
    let visit = visited.ok_or(HttpError::NotFound("unknown share link"))?;
    ctx.metrics.share_visited(visit.unique);
    redirect(visit.share, &visit.target_url)
}

fn redirect(share: ShareId, target: &str) -> Result<Reply, HttpError> {
    if !safe_target(target) {
        log::error!("share {share} has an unusable target URL; not redirecting");
        return Err(HttpError::NotFound("share link has no valid target"));
    }
    Ok(Reply::redirect(target.to_string()))
}

/// Whether a user agent is a link-preview fetcher or crawler rather than a person.
fn is_preview_bot(user_agent: &str) -> bool {
    const BOTS: [&str; 14] = [
        "telegrambot",
        "twitterbot",
        "facebookexternalhit",
        "whatsapp",
        "slackbot",
        "discordbot",
        "linkedinbot",
        "vkshare",
        "skypeuripreview",
        "googlebot",
        "bingbot",
        "yandexbot",
        "applebot",
        "bot/",
    ];
    let ua = user_agent.to_ascii_lowercase();
    ua.is_empty() || BOTS.iter().any(|b| ua.contains(b))
}

/// The visitor's identity for unique counts: SHA-256 over the install salt,
/// the IP and the user agent (length-prefixed so fields cannot run together),
/// cut to 128 bits: collisions stay negligible for any realistic audience.
pub fn visitor_hash(salt: &[u8; 32], ip: &str, user_agent: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update((ip.len() as u32).to_be_bytes());
    h.update(ip.as_bytes());
    h.update(user_agent.as_bytes());
    let digest = h.finalize();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// A stored target we are willing to put in `Location`: an absolute http(s)
/// URL of visible ASCII (so no header injection), with a host.
pub fn safe_target(url: &str) -> bool {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host_ok = rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/'));
    host_ok && url.len() <= 2048 && url.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_depend_on_salt_ip_and_agent() {
        let a = visitor_hash(&[1; 32], "1.2.3.4", "ua");
        assert_eq!(a, visitor_hash(&[1; 32], "1.2.3.4", "ua"));
        assert_ne!(a, visitor_hash(&[2; 32], "1.2.3.4", "ua"));
        assert_ne!(a, visitor_hash(&[1; 32], "1.2.3.5", "ua"));
        assert_ne!(a, visitor_hash(&[1; 32], "1.2.3.4", "ub"));
        assert!(!a.contains("1.2.3.4"));
    }

    #[test]
    fn targets() {
        assert!(safe_target("https://t.me/news/12"));
        assert!(safe_target("http://example.com/?a=b"));
        for bad in [
            "javascript:alert(1)",
            "//evil.com",
            "https://",
            "https:///x",
            "https://a b",
            "https://a\r\nSet-Cookie: x",
            "ftp://x",
        ] {
            assert!(!safe_target(bad), "{bad:?}");
        }
    }
}
