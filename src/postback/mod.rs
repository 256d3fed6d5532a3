//! Postback delivery: telling a CPA network that a conversion changed status.
//!
//! - [`enqueue`] renders the request and writes it to the outbox in the
//!   caller's transaction, beside the status change it reports (design
//!   invariant 4). Idempotent per (conversion, status); the txid is made once
//!   and stored, so every resend of that row carries the same one.
//! - [`worker::run`] drains the outbox on its own thread: it sleeps until the
//!   next row is due or a [`worker::Waker`] pokes it, sends, logs every attempt,
//!   and marks rows delivered / failed / pending-with-backoff / dead.
//! - [`template`], [`preset`], [`policy`] and [`guard`] are pure: URL macros,
//!   network status words and body checks, the retry policy, the SSRF address rules.
//! - [`sender`] is the only module that imports ureq.
//! - [`cli`] backs `tgtrack postback list | retry | test`.
//!
//! Delivery is at-least-once: a row leaves `pending` only after the receiver
//! answered, so a crash mid-send resends it on restart under the same txid.

pub mod cli;
pub mod guard;
pub mod policy;
pub mod preset;
pub mod sender;
pub mod spec;
pub mod template;
pub mod worker;

use rusqlite::Connection;

use crate::domain::offer::{ConversionStatus, Offer};
use crate::store::postbacks::{self as outbox, NewPostback, PostbackState};
use crate::store::{ConversionId, LeadId, OfferId, PostbackId};
pub use preset::Preset;
pub use template::{TemplateError, MACROS};
pub use worker::{Stopper, Waker};

/// What a postback can say about a conversion. Filled by the conversion
/// engine from its rows; the offer supplies the rest (id, action, preset).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionFacts {
    pub conversion_id: ConversionId,
    pub lead_id: Option<LeadId>,
    /// The network's click id (the `uid` of the click link): `{click_id}`.
    pub click_uid: String,
    /// sub1..sub5 from the click link.
    pub subs: [Option<String>; 5],
    pub tg_user_id: i64,
    pub is_premium: bool,
    /// Decimal string, normally the offer's payout.
    pub payout: String,
    pub currency: String,
    /// When the status change happened (unix seconds).
    pub event_time: i64,
    /// End of the hold window, for `hold` postbacks.
    pub hold_until: Option<i64>,
}

/// The macro values of one postback.
struct MacroValues<'a> {
    offer: &'a Offer,
    facts: &'a ConversionFacts,
    status_word: &'a str,
    txid: &'a str,
    /// Empty for test postbacks, which report no stored conversion.
    conversion_id: String,
}

impl template::Values for MacroValues<'_> {
    fn get(&self, name: &str) -> Option<String> {
        let f = self.facts;
        let sub = |i: usize| f.subs[i].clone().unwrap_or_default();
        Some(match name {
            "click_id" => f.click_uid.clone(),
            "offer_id" => self.offer.id.to_string(),
            "action" | "goal" => self.offer.action.as_str().to_string(),
            "status" => self.status_word.to_string(),
            "payout" => f.payout.clone(),
            "currency" => f.currency.clone(),
            "txid" => self.txid.to_string(),
            "event_time" => f.event_time.to_string(),
            "is_premium" => u8::from(f.is_premium).to_string(),
            "sub1" => sub(0),
            "sub2" => sub(1),
            "sub3" => sub(2),
            "sub4" => sub(3),
            "sub5" => sub(4),
            "lead_id" => f.lead_id.map(|l| l.to_string()).unwrap_or_default(),
            "conversion_id" => self.conversion_id.clone(),
            "hold_until" => f.hold_until.map(|t| t.to_string()).unwrap_or_default(),
            // The raw Telegram id identifies a person: only when the operator opted in.
            "tg_user_id" if self.offer.postback.send_user_id => f.tg_user_id.to_string(),
            "tg_user_id" => String::new(),
            _ => return None,
        })
    }
}

/// Renders an offer's postback for a status. Errors are the template's
/// problem, as text for `last_error`.
fn render(
    offer: &Offer,
    facts: &ConversionFacts,
    status: ConversionStatus,
    txid: &str,
    conversion_id: String,
) -> Result<(template::Rendered, Preset), String> {
    let template = offer
        .postback
        .url
        .as_deref()
        .ok_or("the offer has no postback URL")?;
    let preset: Preset = offer.postback.preset.parse()?;
    let values = MacroValues {
        offer,
        facts,
        status_word: preset.status_word(status),
        txid,
        conversion_id,
    };
    let rendered =
        template::render(template, offer.postback.method, &values).map_err(|e| e.to_string())?;
    Ok((rendered, preset))
}

/// A fresh transaction id. Random rather than derived from the row ids alone:
/// a reinstalled daemon restarts its ids at 1, and a receiver that dedupes on
/// txid would silently drop the new install's conversions.
fn new_txid(prefix: &str) -> String {
    let r: u64 = rand::random();
    format!("{prefix}-{r:016x}")
}

/// Queues the postback reporting `status` of a conversion, in the caller's
/// transaction (the one that changes the status). Returns None when the offer
/// posts nothing for this status; the existing row's id when this (conversion,
/// status) was queued before. A template that fails to render (it was checked
/// when set, so this means the offer changed under us) is stored as `failed`
/// with the reason, visible in `postback list`, instead of undoing the status change.
pub fn enqueue(
    tx: &Connection,
    offer: &Offer,
    facts: &ConversionFacts,
    status: ConversionStatus,
    now: i64,
) -> crate::store::Result<Option<PostbackId>> {
    let Some(template) = offer.postback.url.as_deref() else {
        return Ok(None);
    };
    if !offer.postback.statuses.contains(&status) {
        return Ok(None);
    }
    if let Some(id) = outbox::find_by_conversion(tx, facts.conversion_id, status.as_str())? {
        return Ok(Some(id));
    }
    let txid = new_txid(&format!("{}-{}", facts.conversion_id, status.as_str()));
    let rendered = render(offer, facts, status, &txid, facts.conversion_id.to_string());
    let (url, body, state, error) = match &rendered {
        Ok((r, _)) => (
            r.url.as_str(),
            r.body.as_deref(),
            PostbackState::Pending,
            None,
        ),
        Err(e) => (template, None, PostbackState::Failed, Some(e.as_str())),
    };
    if let Some(e) = error {
        log::warn!(
            "offer {}: postback for conversion {} not rendered: {e}",
            offer.id,
            facts.conversion_id
        );
    }
    let (id, _) = outbox::enqueue(
        tx,
        &NewPostback {
            conversion_id: Some(facts.conversion_id),
            offer_id: OfferId(offer.id),
            status: status.as_str(),
            txid: &txid,
            method: offer.postback.method,
            url,
            body,
            preset: &offer.postback.preset,
            state,
            last_error: error,
            is_test: false,
            // Due at once by the wall clock the worker runs on: `now` is the
            // business time of the status change (the demo's clock runs ahead).
            // Business time, like every stamp of the decision it reports.
            due_at_ms: now * 1000,
        },
        now,
    )?;
    Ok(Some(id))
}

/// Checks what `offer create|set-postback` is given, before it is stored:
/// the template (an unknown macro is named, with the list of known ones) and
/// the preset name.
pub fn validate_template(url: &str, preset: &str) -> Result<(), String> {
    template::validate(url).map_err(|e| e.to_string())?;
    preset.parse::<Preset>()?;
    Ok(())
}

/// The preset called `name`, if there is one.
pub fn preset(name: &str) -> Option<Preset> {
    name.parse().ok()
}
