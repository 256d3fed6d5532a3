//! The per-day figures as `tgtrack stats` prints them: a text table, or CSV.
//! Pure formatting; the demo prints the same table.

use std::io::Write;

use crate::store::report::DayRow;

/// Writes the rows and their total.
pub fn write_daily(out: &mut dyn Write, rows: &[DayRow], csv: bool) -> anyhow::Result<()> {
    let total = crate::service::stats::total(rows);
    if csv {
        writeln!(out, "day,offer_id,clicks,hits,leads,holds,approved,rejected,premium,spent_stars,cr_percent,postbacks_sent,postbacks_failed")?;
        for r in rows.iter().chain(std::iter::once(&total)) {
            let offer = if r.day == "total" {
                String::new()
            } else {
                r.offer_id.to_string()
            };
            let n = &r.n;
            writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{:.2},{},{}",
                r.day,
                offer,
                n.clicks,
                n.hits,
                n.leads,
                n.holds,
                n.approved,
                n.rejected,
                n.premium,
                n.spent,
                r.cr(),
                n.postbacks_sent,
                n.postbacks_failed
            )?;
        }
        return Ok(());
    }
    if rows.is_empty() {
        writeln!(out, "no activity in this period")?;
        return Ok(());
    }
    writeln!(
        out,
        "{:<10} {:>5} {:>7} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7} {:>6} {:>6} {:>5}/{:<5}",
        "day",
        "offer",
        "clicks",
        "leads",
        "holds",
        "appr",
        "rejected",
        "premium",
        "spent",
        "CR%",
        "",
        "pb ok",
        "fail"
    )?;
    for r in rows.iter().chain(std::iter::once(&total)) {
        let offer = if r.day == "total" {
            String::new()
        } else {
            r.offer_id.to_string()
        };
        let n = &r.n;
        writeln!(
            out,
            "{:<10} {:>5} {:>7} {:>6} {:>6} {:>6} {:>8} {:>8} {:>7} {:>6.2} {:>6} {:>5}/{:<5}",
            r.day,
            offer,
            n.clicks,
            n.leads,
            n.holds,
            n.approved,
            n.rejected,
            n.premium,
            n.spent,
            r.cr(),
            "",
            n.postbacks_sent,
            n.postbacks_failed
        )?;
    }
    Ok(())
}
