//! Offer rows.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::{OfferId, Result, StoreError};
use crate::domain::offer::{
    parse_statuses, Caps, ConversionStatus, Offer, OfferStatus, PostbackSpec, PricePair, Target,
};
use crate::domain::schedule::Schedule;

/// The fields of a new offer; ids and timestamps are assigned here.
#[derive(Debug, Clone)]
pub struct NewOffer {
    pub name: String,
    pub advertiser_id: Option<i64>,
    pub action: crate::domain::offer::Action,
    pub target: Target,
    pub status: OfferStatus,
    pub price: PricePair,
    pub payout: String,
    pub currency: String,
    pub caps: Caps,
    pub schedule: Schedule,
    pub timezone: String,
    pub hold_seconds: i64,
    pub budget_total: Option<i64>,
    pub postback: PostbackSpec,
    pub relay_secret: Option<String>,
}

const COLUMNS: &str = "id, name, advertiser_id, action, target, status, price_regular, price_premium, payout, currency,
     cap_total, cap_hour, cap_day, cap_week, schedule, timezone, hold_seconds, budget_total, budget_spent,
     postback_url, postback_method, postback_preset, postback_statuses, send_user_id, relay_secret,
     created_at, updated_at, slug, revision, credit_applied";

fn corrupt(id: i64, what: &str, e: impl std::fmt::Display) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        0,
        rusqlite::types::Type::Text,
        Box::new(StoreError::Corrupt(format!("offer {id}: {what}: {e}"))),
    )
}

fn from_row(r: &Row<'_>) -> rusqlite::Result<Offer> {
    let id: i64 = r.get(0)?;
    let action: String = r.get(3)?;
    let target: String = r.get(4)?;
    let status: String = r.get(5)?;
    let schedule: String = r.get(14)?;
    let method: String = r.get(20)?;
    let statuses: String = r.get(22)?;
    Ok(Offer {
        id,
        name: r.get(1)?,
        advertiser_id: r.get(2)?,
        action: action.parse().map_err(|e| corrupt(id, "action", e))?,
        target: serde_json::from_str(&target).map_err(|e| corrupt(id, "target", e))?,
        status: status.parse().map_err(|e| corrupt(id, "status", e))?,
        price: PricePair {
            regular: r.get(6)?,
            premium: r.get(7)?,
        },
        payout: r.get(8)?,
        currency: r.get(9)?,
        caps: Caps {
            total: r.get(10)?,
            hour: r.get(11)?,
            day: r.get(12)?,
            week: r.get(13)?,
        },
        schedule: serde_json::from_str(&schedule).map_err(|e| corrupt(id, "schedule", e))?,
        timezone: r.get(15)?,
        hold_seconds: r.get(16)?,
        budget_total: r.get(17)?,
        budget_spent: r.get(18)?,
        postback: PostbackSpec {
            url: r.get(19)?,
            method: method
                .parse()
                .map_err(|e| corrupt(id, "postback_method", e))?,
            preset: r.get(21)?,
            statuses: parse_statuses(&statuses).map_err(|e| corrupt(id, "postback_statuses", e))?,
            send_user_id: r.get(23)?,
        },
        relay_secret: r.get(24)?,
        created_at: r.get(25)?,
        updated_at: r.get(26)?,
        slug: r.get(27)?,
        revision: r.get(28)?,
        credit_applied: r.get(29)?,
    })
}

fn statuses_text(s: &[ConversionStatus]) -> String {
    s.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

pub fn insert_offer(c: &Connection, o: &NewOffer, now: i64) -> Result<OfferId> {
    c.execute(
        "INSERT INTO offers (name, advertiser_id, action, target, status, price_regular, price_premium, payout, currency,
            cap_total, cap_hour, cap_day, cap_week, schedule, timezone, hold_seconds, budget_total,
            postback_url, postback_method, postback_preset, postback_statuses, send_user_id, relay_secret,
            created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?24)",
        params![
            o.name,
            o.advertiser_id,
            o.action.as_str(),
            serde_json::to_string(&o.target).expect("target serializes"),
            o.status.as_str(),
            o.price.regular,
            o.price.premium,
            o.payout,
            o.currency,
            o.caps.total,
            o.caps.hour,
            o.caps.day,
            o.caps.week,
            serde_json::to_string(&o.schedule).expect("schedule serializes"),
            o.timezone,
            o.hold_seconds,
            o.budget_total,
            o.postback.url,
            o.postback.method.as_str(),
            o.postback.preset,
            statuses_text(&o.postback.statuses),
            o.postback.send_user_id,
            o.relay_secret,
            now,
        ],
    )?;
    Ok(OfferId(c.last_insert_rowid()))
}

pub fn get_offer(c: &Connection, id: OfferId) -> Result<Option<Offer>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLUMNS} FROM offers WHERE id = ?1"))?
            .query_row([id], from_row)
            .optional()?,
    )
}

pub fn list_offers(c: &Connection) -> Result<Vec<Offer>> {
    let mut st = c.prepare_cached(&format!("SELECT {COLUMNS} FROM offers ORDER BY id"))?;
    let rows = st.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

pub fn offers_of_advertiser(c: &Connection, advertiser: i64) -> Result<Vec<Offer>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM offers WHERE advertiser_id = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([advertiser], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// Offers in a given status, e.g. `pending_review` for the moderation queue.
pub fn offers_with_status(c: &Connection, status: OfferStatus) -> Result<Vec<Offer>> {
    let mut st = c.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM offers WHERE status = ?1 ORDER BY id"
    ))?;
    let rows = st.query_map([status.as_str()], from_row)?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

/// The click path's lookup: only what the redirect needs.
pub fn offer_click_info(c: &Connection, id: OfferId) -> Result<Option<OfferStatus>> {
    let s: Option<String> = c
        .prepare_cached("SELECT status FROM offers WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    s.map(|s| {
        s.parse()
            .map_err(|e: String| StoreError::Corrupt(format!("offer {id}: status: {e}")))
    })
    .transpose()
}

pub fn set_status(c: &Connection, id: OfferId, status: OfferStatus, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET status = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, status.as_str(), now],
    )? == 1)
}

pub fn set_postback(c: &Connection, id: OfferId, p: &PostbackSpec, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET postback_url = ?2, postback_method = ?3, postback_preset = ?4, postback_statuses = ?5,
            send_user_id = ?6, updated_at = ?7 WHERE id = ?1",
        params![id, p.url, p.method.as_str(), p.preset, statuses_text(&p.statuses), p.send_user_id, now],
    )? == 1)
}

/// Records the chat id a target's @username resolved to.
pub fn set_target_chat_id(c: &Connection, id: OfferId, chat_id: i64, now: i64) -> Result<bool> {
    let Some(mut offer) = get_offer(c, id)? else {
        return Ok(false);
    };
    offer.target.chat_id = Some(chat_id);
    let target = serde_json::to_string(&offer.target).expect("target serializes");
    Ok(c.execute(
        "UPDATE offers SET target = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, target, now],
    )? == 1)
}

pub fn set_relay_secret(c: &Connection, id: OfferId, secret: &str, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET relay_secret = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, secret, now],
    )? == 1)
}

/// Adds Stars to a prepaid budget (an advertiser's payment).
pub fn add_budget(c: &Connection, id: OfferId, stars: i64, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET budget_total = COALESCE(budget_total, 0) + ?2, updated_at = ?3 WHERE id = ?1",
        params![id, stars, now],
    )? == 1)
}

/// Moves `delta` Stars into (positive) or out of (negative) the spent counter.
/// Refuses to overspend: returns false when the budget cannot pay.
pub fn spend_budget(c: &Connection, id: OfferId, delta: i64, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET budget_spent = budget_spent + ?2, updated_at = ?3
          WHERE id = ?1 AND (budget_total IS NULL OR budget_spent + ?2 <= budget_total) AND budget_spent + ?2 >= 0",
        params![id, delta, now],
    )? == 1)
}

/// Gives a campaign its slug; false if another offer already has it.
pub fn set_slug(c: &Connection, id: OfferId, slug: &str, now: i64) -> Result<bool> {
    match c.execute(
        "UPDATE offers SET slug = ?2, updated_at = ?3 WHERE id = ?1",
        params![id, slug, now],
    ) {
        Ok(n) => Ok(n == 1),
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

/// How much of the advertiser's credit a draft's budget uses.
pub fn set_credit_applied(c: &Connection, id: OfferId, stars: i64) -> Result<()> {
    c.execute(
        "UPDATE offers SET credit_applied = ?2 WHERE id = ?1",
        params![id, stars],
    )?;
    Ok(())
}

/// Whether a slug is used by an offer other than `except`.
pub fn slug_taken(c: &Connection, slug: &str, except: Option<OfferId>) -> Result<bool> {
    Ok(
        c.prepare_cached("SELECT count(*) FROM offers WHERE slug = ?1 AND id IS NOT ?2")?
            .query_row(params![slug, except], |r| r.get::<_, i64>(0))?
            > 0,
    )
}

pub fn offer_by_slug(c: &Connection, slug: &str) -> Result<Option<Offer>> {
    Ok(
        c.prepare_cached(&format!("SELECT {COLUMNS} FROM offers WHERE slug = ?1"))?
            .query_row([slug], from_row)
            .optional()?,
    )
}

/// Replaces a draft's terms (an advertiser edited it after asking to pay) and
/// bumps its revision, so an invoice sent for the older terms is refused.
/// Only drafts still waiting for payment can change.
pub fn replace_draft(c: &Connection, id: OfferId, o: &NewOffer, now: i64) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET name = ?2, action = ?3, target = ?4, price_regular = ?5, price_premium = ?6,
            cap_total = ?7, cap_hour = ?8, cap_day = ?9, cap_week = ?10, schedule = ?11, timezone = ?12,
            hold_seconds = ?13, budget_total = ?14, revision = revision + 1, updated_at = ?15
          WHERE id = ?1 AND status IN ('draft', 'awaiting_payment')",
        params![
            id,
            o.name,
            o.action.as_str(),
            serde_json::to_string(&o.target).expect("target serializes"),
            o.price.regular,
            o.price.premium,
            o.caps.total,
            o.caps.hour,
            o.caps.day,
            o.caps.week,
            serde_json::to_string(&o.schedule).expect("schedule serializes"),
            o.timezone,
            o.hold_seconds,
            o.budget_total,
            now,
        ],
    )? == 1)
}

/// Changes a status only from `from`: two admins deciding at once, or an
/// advertiser pausing while an admin finishes, cannot both win.
pub fn move_status(
    c: &Connection,
    id: OfferId,
    from: OfferStatus,
    to: OfferStatus,
    now: i64,
) -> Result<bool> {
    Ok(c.execute(
        "UPDATE offers SET status = ?3, revision = revision + 1, updated_at = ?4 WHERE id = ?1 AND status = ?2",
        params![id, from.as_str(), to.as_str(), now],
    )? == 1)
}

/// Remembers the review card sent to an admin for a campaign.
pub fn add_review_card(c: &Connection, offer: OfferId, admin: i64, msg_id: i32) -> Result<()> {
    c.execute(
        "INSERT INTO review_cards (offer_id, admin_id, msg_id) VALUES (?1, ?2, ?3)
         ON CONFLICT(offer_id, admin_id) DO UPDATE SET msg_id = excluded.msg_id",
        params![offer, admin, msg_id],
    )?;
    Ok(())
}

/// The review cards sent for a campaign: (admin, message id).
pub fn review_cards(c: &Connection, offer: OfferId) -> Result<Vec<(i64, i32)>> {
    let mut st = c.prepare_cached(
        "SELECT admin_id, msg_id FROM review_cards WHERE offer_id = ?1 ORDER BY admin_id",
    )?;
    let rows = st.query_map([offer], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::offer::{Action, PostbackMethod};

    pub(crate) fn sample() -> NewOffer {
        NewOffer {
            name: "Join @news".into(),
            advertiser_id: None,
            action: Action::JoinChannel,
            target: Target {
                chat_id: Some(100),
                username: Some("news".into()),
                ..Default::default()
            },
            status: OfferStatus::Active,
            price: PricePair {
                regular: 5,
                premium: 10,
            },
            payout: "0.5".into(),
            currency: "USD".into(),
            caps: Caps {
                total: Some(100),
                ..Default::default()
            },
            schedule: Schedule::Weekdays,
            timezone: "Europe/Moscow".into(),
            hold_seconds: 3600,
            budget_total: Some(50),
            postback: PostbackSpec {
                url: Some("https://t.example/pb?cid={click_id}".into()),
                method: PostbackMethod::Get,
                preset: "keitaro".into(),
                statuses: vec![ConversionStatus::Hold, ConversionStatus::Approved],
                send_user_id: false,
            },
            relay_secret: None,
        }
    }

    #[test]
    fn round_trip_and_budget() {
        let mut c = Connection::open_in_memory().unwrap();
        super::super::migrations::run(&mut c).unwrap();
        let id = insert_offer(&c, &sample(), 1000).unwrap();
        let o = get_offer(&c, id).unwrap().unwrap();
        assert_eq!(o.target.username.as_deref(), Some("news"));
        assert_eq!(o.schedule, Schedule::Weekdays);
        assert_eq!(
            o.postback.statuses,
            vec![ConversionStatus::Hold, ConversionStatus::Approved]
        );
        assert!(spend_budget(&c, id, 40, 1001).unwrap());
        assert!(
            !spend_budget(&c, id, 11, 1002).unwrap(),
            "must not overspend"
        );
        assert!(spend_budget(&c, id, -40, 1003).unwrap());
        assert!(
            !spend_budget(&c, id, -1, 1004).unwrap(),
            "must not go negative"
        );
        assert_eq!(offer_click_info(&c, id).unwrap(), Some(OfferStatus::Active));
        assert_eq!(offer_click_info(&c, OfferId(999)).unwrap(), None);
    }
}
