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
    include_str!("migration_5_stats_by_time.sql"),
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

    /// Migration 5 rebuilds stats_buckets under the triggers of migration 3:
    /// a file at version 4 keeps its figures, and the triggers go on counting
    /// into the rebuilt table.
    #[test]
    fn stats_rollup_survives_the_rekey() {
        let mut c = Connection::open_in_memory().unwrap();
        let tx = c.transaction().unwrap();
        for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
            tx.execute_batch(sql).unwrap();
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .unwrap();
        }
        tx.commit().unwrap();
        let click = |c: &Connection, n: i64, at: i64| {
            c.execute(
                "INSERT INTO clicks (offer_id, uid, token, created_at, last_seen_at) VALUES (1, ?1, ?1, ?2, ?2)",
                rusqlite::params![format!("u{n}"), at],
            )
            .unwrap();
        };
        c.execute_batch(
            "INSERT INTO offers (id, name, action, target, price_regular, price_premium, created_at, updated_at)
             VALUES (1, 'o', 'join_channel', '{}', 10, 20, 0, 0)",
        )
        .unwrap();
        click(&c, 1, 900);
        click(&c, 2, 950);
        assert_eq!(run(&mut c).unwrap(), (4, MIGRATIONS.len() as i64));
        click(&c, 3, 1000);
        click(&c, 4, 1800);
        let rows: Vec<(i64, i64)> = c
            .prepare("SELECT bucket, clicks FROM stats_buckets WHERE offer_id = 1 ORDER BY bucket")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(rows, [(1, 3), (2, 1)]);
        let check: String = c
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn refuses_newer_database() {
        let mut c = Connection::open_in_memory().unwrap();
        c.execute_batch("PRAGMA user_version = 999").unwrap();
        let err = run(&mut c).unwrap_err().to_string();
        assert!(err.contains("newer"), "{err}");
    }
}
