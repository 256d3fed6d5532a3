//! `POST /postbacks/relay`: signed reports from advertisers' own bots and mini
//! apps (docs/RELAY.md). The body names the offer, whose secret verifies the
//! HMAC; only then is anything stored. The engine records the event id and the
//! decision in one transaction, so a replay inside the time window is a 409.

use tiny_http::Request;

use super::router::{HttpError, Reply};
use super::server::Context;
use crate::domain::offer::ConversionStatus;
use crate::domain::relay::{self, RelayError};
use crate::engine::RelayOutcome;
use crate::store::{self, OfferId};

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
        .read(|c| store::offers::get_offer(c, OfferId(ev.offer_id)))?
        .ok_or(HttpError::NotFound("offer"))?;
    // An offer without a secret cannot be relayed to: same answer as a bad signature.
    let secret = offer
        .relay_secret
        .as_deref()
        .ok_or(HttpError::Unauthorized("bad signature"))?;
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
        RelayError::Header(_) | RelayError::Malformed(_) => HttpError::BadRequest(e.to_string()),
    })?;
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
