-- Migration: the statistics rollup keyed by time first (issue 9).

-- stats_buckets was keyed (offer_id, bucket), so the current bucket of each
-- offer sat next to that offer's history: with clicks spread over many offers
-- and weeks of buckets on file, every click's upsert dirtied a page of its
-- own, one 4 KiB WAL frame per click. Keyed (bucket, offer_id), the rows that
-- clicks, leads and postbacks update are the last pages of the table. The
-- index by (offer_id, bucket), which /statistic and `tgtrack stats` read,
-- changes only when an offer gets a new bucket (at most once per 15 minutes
-- each): an upsert updates counts, never the key.
--
-- SQLite cannot change a table's primary key in place, so the table is
-- rebuilt with migration 3's columns restated (a released migration is never
-- edited, so this one cannot share its text).
--
-- The triggers of migration 3 name the table and their ON CONFLICT targets
-- match the new key too (a conflict target is a set of columns), so they stay.
-- legacy_alter_table: a rename otherwise checks every trigger, and those fail
-- while no table of that name exists.
PRAGMA legacy_alter_table = ON;
CREATE TABLE stats_buckets_by_time (
    offer_id     INTEGER NOT NULL,
    bucket       INTEGER NOT NULL,
    clicks       INTEGER NOT NULL DEFAULT 0,
    hits         INTEGER NOT NULL DEFAULT 0,
    leads        INTEGER NOT NULL DEFAULT 0,
    holds        INTEGER NOT NULL DEFAULT 0,
    approved     INTEGER NOT NULL DEFAULT 0,
    rejected     INTEGER NOT NULL DEFAULT 0,
    premium      INTEGER NOT NULL DEFAULT 0,
    spent        INTEGER NOT NULL DEFAULT 0,
    pb_delivered INTEGER NOT NULL DEFAULT 0,
    pb_pending   INTEGER NOT NULL DEFAULT 0,
    pb_failed    INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, offer_id)
) WITHOUT ROWID;
INSERT INTO stats_buckets_by_time SELECT * FROM stats_buckets;
DROP TABLE stats_buckets;
ALTER TABLE stats_buckets_by_time RENAME TO stats_buckets;
PRAGMA legacy_alter_table = OFF;
CREATE INDEX stats_buckets_offer ON stats_buckets(offer_id, bucket);
