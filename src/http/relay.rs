//! `POST /postbacks/relay`: signed reports from advertisers' own bots and mini
//! apps (docs/RELAY.md). The body names the offer, whose secret verifies the
//! HMAC; only then is anything stored. The engine records the event id and the
//! decision in one transaction, so a replay inside the time window is a 409.
//!
//! An unknown offer gets the same 401 as a bad signature (its secret cannot
//! verify anything), so offer ids cannot be probed without a secret; missing
//! or malformed signature headers are 401 too. Every answer is JSON
//! ([`error_reply`]), refusals included.

use tiny_http::Request;

use super::router::{HttpError, Reply};
use super::server::Context;
use crate::domain::offer::ConversionStatus;
use crate::domain::relay::{self, RelayError};
use crate::engine::RelayOutcome;
use crate::store::{self, OfferId};

/// The stand-in secret for offers that have none (see [`relay`]); knowing it
/// gains nothing, as such a request is refused after the checks.
const NO_SECRET: &str = "no relay secret: every request is refused";

fn header<'r>(rq: &'r Request, name: &'static str) -> Option<&'r str> {
    rq.headers()
        .iter()
        .find(|h| h.field.equiv(name))
        .map(|h| h.value.as_str())
}

pub fn relay(ctx: &Context, rq: &Request, body: &[u8]) -> Result<Reply, HttpError> {
    let Some((engine, clock)) = &ctx.relay else {
        return Err(HttpError::NotImplemented(
            "the relay needs the bot's engine",
        ));
    };
    if body.len() > relay::MAX_BODY {
        return Err(HttpError::PayloadTooLarge);
    }
    let ev = relay::parse(body).map_err(|e| HttpError::BadRequest(e.to_string()))?;
    let offer = ctx
        .store
        .read(|c| store::offers::get_offer(c, OfferId(ev.offer_id)))?;
    // An unknown offer, or one without a secret, goes through the very same
    // checks with a stand-in secret, so its answers (missing or stale
    // timestamp, bad signature) are those of an existing offer: offer ids
    // cannot be probed. It is refused below even if the stand-in verified.
    let secret = offer
        .as_ref()
        .and_then(|o| o.relay_secret.as_deref())
        .unwrap_or(NO_SECRET);
    let now = clock.now();
    relay::verify(
        secret,
        header(rq, "X-Tgtrack-Timestamp"),
        header(rq, "X-Tgtrack-Signature"),
        body,
        now,
    )
    .map_err(|e| match e {
        RelayError::Stale => HttpError::Unauthorized("stale timestamp"),
        RelayError::BadSignature => HttpError::Unauthorized("bad signature"),
        RelayError::Header("X-Tgtrack-Timestamp") => HttpError::Unauthorized("stale timestamp"),
        RelayError::Header(_) => HttpError::Unauthorized("bad signature"),
        RelayError::Malformed(_) => HttpError::BadRequest(e.to_string()),
    })?;
    let Some(offer) = offer.filter(|o| o.relay_secret.is_some()) else {
        return Err(HttpError::Unauthorized("bad signature"));
    };
    match engine.relay(&offer, &ev, now)? {
        RelayOutcome::Duplicate => Err(HttpError::Conflict("duplicate event")),
        RelayOutcome::UnknownLead => Err(HttpError::Unprocessable("unknown lead")),
        RelayOutcome::NotARelayOffer => Err(HttpError::Unprocessable(
            "this offer is verified through Telegram and takes no relay events",
        )),
        RelayOutcome::OfferClosed => Err(HttpError::OfferUnavailable(offer.status)),
        RelayOutcome::Done(out) => {
            let c = out.conversion();
            let reason = match c.status {
                ConversionStatus::Rejected => serde_json::Value::String(
                    c.reason.map(|r| r.as_str()).unwrap_or_default().to_string(),
                ),
                _ => serde_json::Value::Null,
            };
            let body = serde_json::json!({
                "status": "accepted",
                "conversion_id": c.id.0,
                "conversion_status": c.status.as_str(),
                "reason": reason,
            });
            Ok(Reply::text(200, "application/json", format!("{body}\n")))
        }
    }
}

/// The relay's answer to a refusal: the status [`super::router::error_reply`]
/// gives it, with a JSON body `{"status":"refused","reason":...}` like the
/// relay's other answers (a paused offer is not an HTML page here).
pub fn error_reply(e: HttpError) -> Reply {
    let reason = match &e {
        HttpError::OfferUnavailable(crate::domain::offer::OfferStatus::Paused) => {
            "offer paused".to_string()
        }
        HttpError::OfferUnavailable(crate::domain::offer::OfferStatus::Finished) => {
            "offer finished".to_string()
        }
        HttpError::OfferUnavailable(_) => "offer not active".to_string(),
        _ => String::new(),
    };
    let plain = super::router::error_reply(e);
    let reason = if reason.is_empty() {
        String::from_utf8_lossy(&plain.body).trim().to_string()
    } else {
        reason
    };
    let body = serde_json::json!({ "status": "refused", "reason": reason });
    let mut reply = Reply::text(plain.status, "application/json", format!("{body}\n"));
    reply.allow = plain.allow;
    reply
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::offer::OfferStatus;

    #[test]
    fn refusals_are_json_with_their_status() {
        let r = error_reply(HttpError::OfferUnavailable(OfferStatus::Paused));
        assert_eq!((r.status, r.content_type), (410, Some("application/json")));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(v["reason"], "offer paused");
        assert_eq!(v["status"], "refused");
        let r = error_reply(HttpError::MethodNotAllowed("POST"));
        assert_eq!((r.status, r.allow), (405, Some("POST")));
        let r = error_reply(HttpError::Unauthorized("bad signature"));
        let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(
            (r.status, v["reason"].as_str()),
            (401, Some("bad signature"))
        );
    }
}
