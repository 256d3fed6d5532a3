//! Schema migrations, counted by `PRAGMA user_version`.
//!
//! `schema.sql` is migration 1. Released migrations are never edited; a change
//! is a new entry appended to [`MIGRATIONS`]. All pending migrations run in one
//! transaction before the reader pool is built, so no reader sees a half-migrated file.

use rusqlite::Connection;

/// Migration `i` brings the database from user_version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    include_str!("../../schema.sql"),
    include_str!("migration_2_campaigns.sql"),
    include_str!("migration_3_stats.sql"),
    include_str!("migration_4_click_path.sql"),
];

pub fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
}

/// Applies pending migrations; returns (version before, version after).
pub fn run(conn: &mut Connection) -> anyhow::Result<(i64, i64)> {
    let before = current_version(conn)?;
    let target = MIGRATIONS.len() as i64;
    if before > target {
        anyhow::bail!(
            "database schema version {before} is newer than this tgtrack understands ({target}); \
             upgrade tgtrack or restore a backup"
        );
    }
    if before == target {
        return Ok((before, target));
    }
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(before as usize) {
        tx.execute_batch(sql)
            .map_err(|e| anyhow::anyhow!("migration {} failed: {e}", i + 1))?;
        // user_version cannot take a bound parameter.
        tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
    }
    tx.commit()?;
    log::info!("database migrated from version {before} to {target}");
    Ok((before, target))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrates_once_and_is_idempotent() {
        let mut c = Connection::open_in_memory().unwrap();
        assert_eq!(run(&mut c).unwrap(), (0, MIGRATIONS.len() as i64));
        assert_eq!(
            run(&mut c).unwrap(),
            (MIGRATIONS.len() as i64, MIGRATIONS.len() as i64)
        );
        c.query_row("SELECT count(*) FROM offers", [], |r| r.get::<_, i64>(0))
            .unwrap();
    }

    #[test]
    fn refuses_newer_database() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        let err = run(&mut c).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
