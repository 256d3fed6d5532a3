//! `GET /click/{offer}?uid=...`: record the click, then send the visitor to the bot.
//!
//! The hot path: validate the query, then commit the click, then a 302 to
//! `https://t.me/{bot}?start={token}`. The answer is built only after the
//! commit returns, so every redirect we send has a durable row behind it.
//!
//! Clicks that arrive together share one write transaction (`batch.rs`):
//! [`prepare`] validates a click without touching the store, [`record`] stores
//! it inside the batch's transaction, and [`answer`] builds the redirect once
//! that transaction has committed.

use tiny_http::Request;

use super::client_ip::client_ip;
use super::limits::MAX_USER_AGENT;
use super::query::ClickParams;
use super::router::{HttpError, Reply};
use super::server::Context;
use crate::domain::offer::OfferStatus;
use crate::domain::token::click_token_at;
use crate::store::clicks::{record_click, NewClick, RecordedClick};
use crate::store::offers::offer_click_info;
use crate::store::{Connection, OfferId, StoreError};

pub fn click(ctx: &Context, rq: &Request, offer: &str, query: &str) -> Result<Reply, HttpError> {
    let Some(click) = prepare(ctx, rq, offer, query)? else {
        return head(ctx, offer);
    };
    // The intake batches clicks; one reaches the router only if no helper
    // is left to take it (see `server.rs`): its own transaction.
    let now = ctx.clock.now();
    let outcome = ctx.store.write(|tx| record(tx, &click, now))?;
    answer(ctx, outcome)
}

/// Validates a click request into what the group commit stores: `Ok(None)`
/// for a HEAD, which [`head`] answers read-only.
pub fn prepare(
    ctx: &Context,
    rq: &Request,
    offer: &str,
    query: &str,
) -> Result<Option<OwnedClick>, HttpError> {
    let offer = parse_offer_id(offer).ok_or(HttpError::NotFound("unknown offer"))?;
    let params = ClickParams::parse(query)?;
    if ctx.bot_username.is_none() {
        return Err(HttpError::BotNotConfigured);
    }
    // A HEAD (link checkers, previews) must not create a click.
    if *rq.method() == tiny_http::Method::Head {
        return Ok(None);
    }

    let ip = client_ip(
        rq.remote_addr().map(|a| a.ip()),
        &ctx.trusted_proxies,
        rq.headers()
            .iter()
            .filter(|h| h.field.equiv("X-Forwarded-For"))
            .map(|h| h.value.as_str()),
    )
    .map(|ip| ip.to_string());
    let user_agent = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("User-Agent"))
        .map(|h| truncate(h.value.as_str(), MAX_USER_AGENT).to_string());
    let ClickParams { uid, subs } = params;
    Ok(Some(OwnedClick {
        offer,
        uid: uid.into_owned(),
        subs: subs.map(|s| s.map(|v| v.into_owned())),
        ip,
        user_agent,
    }))
}

/// A HEAD gets what a GET would, read-only, and the redirect goes to the bot
/// without a token.
fn head(ctx: &Context, offer: &str) -> Result<Reply, HttpError> {
    let offer = parse_offer_id(offer).ok_or(HttpError::NotFound("unknown offer"))?;
    let bot = ctx
        .bot_username
        .as_deref()
        .ok_or(HttpError::BotNotConfigured)?;
    match ctx.store.read(|c| offer_click_info(c, offer))? {
        None => Err(HttpError::NotFound("unknown offer")),
        Some(OfferStatus::Active) => Ok(Reply::redirect(format!("https://t.me/{bot}"))),
        Some(other) => Err(HttpError::OfferUnavailable(other)),
    }
}

/// The answer to one committed click.
pub fn answer(ctx: &Context, outcome: Outcome) -> Result<Reply, HttpError> {
    let bot = ctx
        .bot_username
        .as_deref()
        .ok_or(HttpError::BotNotConfigured)?;
    let recorded = match outcome {
        Outcome::Recorded(r) => r,
        Outcome::UnknownOffer => return Err(HttpError::NotFound("unknown offer")),
        Outcome::Unavailable(status) => return Err(HttpError::OfferUnavailable(status)),
    };
    ctx.metrics.click_recorded(recorded.created);
    let mut location = String::with_capacity(32 + bot.len() + recorded.token.len());
    location.push_str("https://t.me/");
    location.push_str(bot);
    location.push_str("?start=");
    location.push_str(&recorded.token);
    Ok(Reply::redirect(location))
}

/// A validated click, owned so it can wait for the batch's commit.
pub struct OwnedClick {
    offer: OfferId,
    uid: String,
    subs: [Option<String>; 5],
    ip: Option<String>,
    user_agent: Option<String>,
}

/// What committing one click led to.
#[derive(Debug)]
pub enum Outcome {
    Recorded(RecordedClick),
    UnknownOffer,
    Unavailable(OfferStatus),
}

/// One click inside the batch's transaction.
pub(super) fn record(tx: &Connection, c: &OwnedClick, now: i64) -> Result<Outcome, StoreError> {
    Ok(match offer_click_info(tx, c.offer)? {
        None => Outcome::UnknownOffer,
        Some(OfferStatus::Active) => {
            let [s1, s2, s3, s4, s5] = &c.subs;
            let new = NewClick {
                offer: c.offer,
                uid: &c.uid,
                subs: [
                    s1.as_deref(),
                    s2.as_deref(),
                    s3.as_deref(),
                    s4.as_deref(),
                    s5.as_deref(),
                ],
                ip: c.ip.as_deref(),
                user_agent: c.user_agent.as_deref(),
            };
            Outcome::Recorded(record_click(tx, &new, now, || click_token_at(now))?)
        }
        Some(other) => Outcome::Unavailable(other),
    })
}

/// Offer ids are positive integers in one canonical form: decimal digits, no
/// sign, no leading zero (`01` is not offer 1); anything else is not an offer
/// of ours, so one offer has exactly one click link.
fn parse_offer_id(s: &str) -> Option<OfferId> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) || s.starts_with('0')
    {
        return None;
    }
    s.parse::<i64>().ok().filter(|id| *id > 0).map(OfferId)
}

/// Cuts `s` to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_ids() {
        assert_eq!(parse_offer_id("42"), Some(OfferId(42)));
        for bad in [
            "",
            "0",
            "-1",
            "+1",
            "1.0",
            "abc",
            "99999999999999999999",
            "1/",
            "01",
            "007",
        ] {
            assert_eq!(parse_offer_id(bad), None, "{bad}");
        }
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("аб", 3), "а");
    }
}
