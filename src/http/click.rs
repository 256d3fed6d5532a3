//! `GET /click/{offer}?uid=...`: record the click, then send the visitor to the bot.
//!
//! The hot path: validate the query, then one short write transaction (offer
//! status, then reuse-or-insert the click, all prepared and cached), then a
//! 302 to `https://t.me/{bot}?start={token}`. The answer is built only after
//! the commit returns, so every redirect we send has a durable row behind it.

use tiny_http::Request;

use super::client_ip::client_ip;
use super::limits::MAX_USER_AGENT;
use super::query::ClickParams;
use super::router::{HttpError, Reply};
use super::server::Context;
use super::token::new_token;
use crate::domain::offer::OfferStatus;
use crate::store::clicks::{record_click, NewClick, RecordedClick};
use crate::store::offers::offer_click_info;
use crate::store::{unix_now, OfferId, StoreError};

pub fn click(ctx: &Context, rq: &Request, offer: &str, query: &str) -> Result<Reply, HttpError> {
    let offer = parse_offer_id(offer).ok_or(HttpError::NotFound("unknown offer"))?;
    let params = ClickParams::parse(query)?;
    let bot = ctx.bot_username.as_deref().ok_or(HttpError::BotNotConfigured)?;

    let ip = client_ip(
        rq.remote_addr().map(|a| a.ip()),
        &ctx.trusted_proxies,
        rq.headers().iter().filter(|h| h.field.equiv("X-Forwarded-For")).map(|h| h.value.as_str()),
    )
    .map(|ip| ip.to_string());
    let user_agent = rq
        .headers()
        .iter()
        .find(|h| h.field.equiv("User-Agent"))
        .map(|h| truncate(h.value.as_str(), MAX_USER_AGENT));
    let [s1, s2, s3, s4, s5] = &params.subs;
    let new = NewClick {
        offer,
        uid: &params.uid,
        subs: [s1.as_deref(), s2.as_deref(), s3.as_deref(), s4.as_deref(), s5.as_deref()],
        ip: ip.as_deref(),
        user_agent,
    };

    let now = unix_now();
    let outcome: Result<RecordedClick, HttpError> = ctx.store.write(|tx| {
        Ok::<_, StoreError>(match offer_click_info(tx, offer)? {
            None => Err(HttpError::NotFound("unknown offer")),
            Some(OfferStatus::Active) => Ok(record_click(tx, &new, now, new_token)?),
            Some(other) => Err(HttpError::OfferUnavailable(other)),
        })
    })?;
    let recorded = outcome?;
    ctx.metrics.click_recorded(recorded.created);
    Ok(Reply::redirect(format!("https://t.me/{bot}?start={}", recorded.token)))
}

/// Offer ids are positive integers written plainly (no sign, no leading zeros
/// games beyond what `parse` accepts); anything else is not an offer of ours.
fn parse_offer_id(s: &str) -> Option<OfferId> {
    if s.is_empty() || s.len() > 19 || !s.bytes().all(|b| b.is_ascii_digit()) {
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
        for bad in ["", "0", "-1", "+1", "1.0", "abc", "99999999999999999999", "1/"] {
            assert_eq!(parse_offer_id(bad), None, "{bad}");
        }
        assert_eq!(truncate("abcdef", 3), "abc");
        assert_eq!(truncate("аб", 3), "а");
    }
}
