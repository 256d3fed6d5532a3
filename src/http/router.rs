//! Dispatch by path and method, and the one place that turns an [`HttpError`]
//! into a status code and a short public reason.
//!
//! Handlers return `Result<Reply, HttpError>`; they never build error
//! responses themselves, so every refusal looks the same and server-side
//! failures are logged in one place, without leaking details to the client.
//!
//! Adding a route: an arm in [`dispatch`] that checks the method ([`allow`] or
//! `get_or_head`) and calls a handler returning `Result<Reply, HttpError>`;
//! `POST /postbacks/relay` is the model for one with a body ([`read_body`]).
//! Bodies are already capped at [`super::limits::MAX_BODY`] (413) and fully
//! read by the connection thread, so handlers never wait on a socket.

use std::io::Read as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tiny_http::{Header, Method, Request, Response};

use super::metrics::Route;
use super::server::Context;
use super::{click, health, relay, share};
use crate::domain::offer::OfferStatus;
use crate::store::StoreError;

/// A refusal or failure, as a handler reports it.
#[derive(Debug)]
pub enum HttpError {
    /// 400 with the reason shown to the client (never echoes raw input).
    BadRequest(String),
    /// 404: what was not found.
    NotFound(&'static str),
    /// 405: the methods the path accepts.
    MethodNotAllowed(&'static str),
    /// 410: the offer exists but does not take traffic; a short human page.
    OfferUnavailable(OfferStatus),
    /// 401: a relay request whose timestamp or signature does not verify.
    Unauthorized(&'static str),
    /// 409: a relay event id seen before.
    Conflict(&'static str),
    /// 413: a body over the cap.
    PayloadTooLarge,
    /// 422: well-formed but refers to nothing we know (a relay for an unknown lead).
    Unprocessable(&'static str),
    /// 501: a route that exists but is not built yet.
    NotImplemented(&'static str),
    /// 503: clicks need the bot's username for the redirect.
    BotNotConfigured,
    /// 503 when the database is unavailable (busy, locked, I/O), else 500.
    /// Shared, because one failed group commit answers every click in it.
    Store(Arc<StoreError>),
}

impl From<StoreError> for HttpError {
    fn from(e: StoreError) -> Self {
        HttpError::Store(Arc::new(e))
    }
}

/// An answer, before it becomes a tiny_http response.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: Option<&'static str>,
    pub location: Option<String>,
    pub allow: Option<&'static str>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn redirect(location: String) -> Reply {
        Reply {
            status: 302,
            content_type: None,
            location: Some(location),
            allow: None,
            body: Vec::new(),
        }
    }

    pub fn text(status: u16, content_type: &'static str, body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status,
            content_type: Some(content_type),
            location: None,
            allow: None,
            body: body.into(),
        }
    }

    pub fn into_response(self) -> Response<std::io::Cursor<Vec<u8>>> {
        // Every answer is personal (a token) or live (health, metrics): never cached,
        // and the click link, which carries the network's ids, is not leaked onward.
        let mut headers = Vec::with_capacity(6);
        headers.push(header("Server", "tgtrack"));
        headers.push(header("Cache-Control", "no-store"));
        headers.push(header("Referrer-Policy", "no-referrer"));
        headers.push(header("X-Content-Type-Options", "nosniff"));
        if let Some(ct) = self.content_type {
            headers.push(header("Content-Type", ct));
        }
        if let Some(loc) = &self.location {
            headers.push(header("Location", loc));
        }
        if let Some(allow) = self.allow {
            headers.push(header("Allow", allow));
        }
        let len = self.body.len();
        Response::new(
            self.status.into(),
            headers,
            std::io::Cursor::new(self.body),
            Some(len),
            None,
        )
    }
}

fn header(name: &str, value: &str) -> Header {
    // Values are our constants, validated bot names, tokens and stored targets
    // checked by `share::safe_target`: always ASCII without CR/LF.
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header values are checked ASCII")
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The one mapping from errors to answers.
pub fn error_reply(e: HttpError) -> Reply {
    match e {
        HttpError::BadRequest(reason) => Reply::text(400, TEXT, format!("bad request: {reason}\n")),
        HttpError::NotFound(what) => Reply::text(404, TEXT, format!("not found: {what}\n")),
        HttpError::MethodNotAllowed(allow) => {
            let mut r = Reply::text(405, TEXT, format!("method not allowed; use {allow}\n"));
            r.allow = Some(allow);
            r
        }
        HttpError::OfferUnavailable(status) => {
            Reply::text(410, "text/html; charset=utf-8", gone_page(status))
        }
        HttpError::PayloadTooLarge => Reply::text(413, TEXT, "request body too large\n"),
        HttpError::Unauthorized(why) => Reply::text(401, TEXT, format!("{why}\n")),
        HttpError::Conflict(why) => Reply::text(409, TEXT, format!("{why}\n")),
        HttpError::Unprocessable(why) => Reply::text(422, TEXT, format!("{why}\n")),
        HttpError::NotImplemented(what) => {
            Reply::text(501, TEXT, format!("not implemented: {what}\n"))
        }
        HttpError::BotNotConfigured => Reply::text(503, TEXT, "bot not configured\n"),
        HttpError::Store(e) => {
            if store_unavailable(&e) {
                warn_throttled(format!("http: database unavailable: {e}"));
                Reply::text(503, TEXT, "database unavailable, try again\n")
            } else {
                log_throttled(log::Level::Error, format!("http: database error: {e}"));
                Reply::text(500, TEXT, "internal error\n")
            }
        }
    }
}

/// Logs `message` as a warning, unless the same message was logged less than
/// [`THROTTLE_EVERY`] ago: then it is only counted, and the next report says
/// how many were left out. A full disk fails every click the same way; one
/// line per click would fill the log (and the disk) faster than the clicks.
pub fn warn_throttled(message: String) {
    log_throttled(log::Level::Warn, message)
}

/// [`warn_throttled`] at another level.
pub fn log_throttled(level: log::Level, message: String) {
    if let Some(left_out) = THROTTLE.hit(&message, Instant::now()) {
        if left_out == 0 {
            log::log!(level, "{message}");
        } else {
            log::log!(
                level,
                "{message} ({left_out} more like it since the last report)"
            );
        }
    }
}

/// How often one repeated failure is logged.
pub const THROTTLE_EVERY: Duration = Duration::from_secs(10);

static THROTTLE: Throttle = Throttle::new(THROTTLE_EVERY);

/// Per-message rate limit for [`warn_throttled`].
pub struct Throttle {
    every: Duration,
    seen: Mutex<Vec<(String, Instant, u64)>>,
}

impl Throttle {
    pub const fn new(every: Duration) -> Throttle {
        Throttle {
            every,
            seen: Mutex::new(Vec::new()),
        }
    }

    /// `Some(n)` when `message` should be logged now, `n` being how many
    /// identical ones were left out since it was last logged.
    pub fn hit(&self, message: &str, now: Instant) -> Option<u64> {
        // A counter list; a panic cannot leave it inconsistent.
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = seen.iter_mut().find(|e| e.0 == message) {
            if now.duration_since(e.1) < self.every {
                e.2 += 1;
                return None;
            }
            e.1 = now;
            return Some(std::mem::take(&mut e.2));
        }
        // Few distinct failures at a time; forget the oldest beyond a handful.
        if seen.len() >= 32 {
            seen.remove(0);
        }
        seen.push((message.to_string(), now, 0));
        Some(0)
    }
}

/// Errors that pass when the database comes back, as opposed to bugs.
fn store_unavailable(e: &StoreError) -> bool {
    use rusqlite::ErrorCode::*;
    match e {
        StoreError::Pool(_) => true,
        StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => matches!(
            f.code,
            DatabaseBusy
                | DatabaseLocked
                | CannotOpen
                | SystemIoFailure
                | DiskFull
                | ReadOnly
                | FileLockingProtocolFailed
        ),
        _ => false,
    }
}

fn gone_page(status: OfferStatus) -> String {
    let why = match status {
        OfferStatus::Paused => "This offer is paused for now. Please try again later.",
        OfferStatus::Finished => "This offer has ended.",
        _ => "This offer is not available.",
    };
    format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>Offer unavailable</title></head>\n\
         <body><h1>Offer unavailable</h1><p>{why}</p></body></html>\n"
    )
}

/// Accepts GET and HEAD (tiny_http omits the body of HEAD answers).
fn get_or_head(rq: &Request) -> Result<(), HttpError> {
    match rq.method() {
        Method::Get | Method::Head => Ok(()),
        _ => Err(HttpError::MethodNotAllowed("GET, HEAD")),
    }
}

/// Accepts only `method`; for routes other than GET/HEAD.
pub fn allow(rq: &Request, method: Method, allow: &'static str) -> Result<(), HttpError> {
    if *rq.method() == method {
        Ok(())
    } else {
        Err(HttpError::MethodNotAllowed(allow))
    }
}

/// The request body; the patched tiny_http has already refused bodies over the
/// cap (413) and read the rest into memory, so this never blocks on the socket.
pub fn read_body(rq: &mut Request, cap: usize) -> Result<Vec<u8>, HttpError> {
    let mut body = Vec::with_capacity(rq.body_length().unwrap_or(0).min(cap));
    let n = rq
        .as_reader()
        .take(cap as u64 + 1)
        .read_to_end(&mut body)
        .map_err(|e| HttpError::BadRequest(format!("body could not be read: {e}")))?;
    if n > cap {
        return Err(HttpError::PayloadTooLarge);
    }
    Ok(body)
}

/// Routes one request; returns which handler answered (for metrics) and the answer.
pub fn dispatch(ctx: &Context, rq: &mut Request) -> (Route, Reply) {
    let url = rq.url();
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let (route, result) = if let Some(offer) = path.strip_prefix("/click/") {
        (
            Route::Click,
            get_or_head(rq).and_then(|_| click::click(ctx, rq, offer, query)),
        )
    } else if let Some(token) = path.strip_prefix("/s/") {
        (
            Route::Share,
            get_or_head(rq).and_then(|_| share::share(ctx, rq, token)),
        )
    } else if path == "/healthz" {
        (
            Route::Healthz,
            get_or_head(rq).and_then(|_| health::healthz(ctx)),
        )
    } else if path == "/metrics" {
        (
            Route::Metrics,
            get_or_head(rq).and_then(|_| health::metrics(ctx)),
        )
    } else if path == "/postbacks/relay" {
        let r = allow(rq, Method::Post, "POST")
            .and_then(|_| read_body(rq, super::limits::MAX_BODY))
            .and_then(|body| relay::relay(ctx, rq, &body));
        return (Route::Relay, r.unwrap_or_else(relay::error_reply));
    } else {
        (Route::Other, Err(HttpError::NotFound("no such page")))
    };
    (route, result.unwrap_or_else(error_reply))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_messages_are_counted_not_logged() {
        let t = Throttle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.hit("disk full", t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(t.hit("disk full", t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(t.hit("other", t0), Some(0), "another message is its own");
        assert_eq!(t.hit("disk full", t0 + Duration::from_secs(11)), Some(1000));
        assert_eq!(t.hit("disk full", t0 + Duration::from_secs(12)), None);
    }
}
