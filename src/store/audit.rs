//! The audit trail: every decision and check, with its reason.

use rusqlite::{params, Connection};

use super::{ClickId, ConversionId, LeadId, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    pub at: i64,
    pub kind: String,
    pub detail: String,
}

/// Where an audit entry belongs; any of the ids may be absent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Subject {
    pub conversion: Option<ConversionId>,
    pub lead: Option<LeadId>,
    pub click: Option<ClickId>,
}

pub fn record(c: &Connection, s: Subject, at: i64, kind: &str, detail: &str) -> Result<()> {
    c.prepare_cached("INSERT INTO audit (conversion_id, lead_id, click_id, at, kind, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?
        .execute(params![s.conversion, s.lead, s.click, at, kind, detail])?;
    Ok(())
}

/// Whether a conversion's trail has an entry of this kind (e.g. an "undone").
pub fn has_entry(c: &Connection, id: ConversionId, kind: &str) -> Result<bool> {
    Ok(c.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM audit WHERE conversion_id = ?1 AND kind = ?2)",
    )?
    .query_row(params![id, kind], |r| r.get(0))?)
}

/// The whole story of a conversion, oldest first: the click, the start, the
/// action, each check and decision, and each postback attempt.
pub fn trail_for_conversion(c: &Connection, id: ConversionId) -> Result<Vec<AuditEntry>> {
    let sql = "
      WITH cv AS (SELECT id, lead_id FROM conversions WHERE id = ?1),
           ld AS (SELECT l.id, l.click_id FROM leads l JOIN cv ON cv.lead_id = l.id)
      SELECT at, kind, detail FROM (
        SELECT k.created_at AS at, 'click' AS kind,
               'offer ' || k.offer_id || ', uid ' || k.uid || ', ip ' || coalesce(k.ip, '?') || ', hits ' || k.hits AS detail, 0 AS ord
          FROM clicks k JOIN ld ON ld.click_id = k.id
        UNION ALL
        SELECT a.at, a.kind, a.detail, a.id FROM audit a
         WHERE a.conversion_id = ?1 OR a.lead_id IN (SELECT id FROM ld) OR a.click_id IN (SELECT click_id FROM ld)
        UNION ALL
        -- An attempt is never earlier than the status change that queued it
        -- (which may be on the daemon's advanced clock, as in the demo).
        SELECT max(t.at, p.created_at), 'postback ' || p.status,
               coalesce('HTTP ' || t.http_status, 'no answer') || ' in ' || t.latency_ms || ' ms' ||
               coalesce(', ' || t.error, '') || ', txid ' || p.txid, 1000000000 + t.id
          FROM postback_attempts t JOIN postbacks p ON p.id = t.postback_id WHERE p.conversion_id = ?1
      ) ORDER BY at, ord";
    let mut st = c.prepare_cached(sql)?;
    let rows = st.query_map(params![id], |r| {
        Ok(AuditEntry {
            at: r.get(0)?,
            kind: r.get(1)?,
            detail: r.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
}
