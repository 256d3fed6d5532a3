-- Migration: statistics rollup and advertiser notifications (issue 8).

-- Per-offer figures in 15-minute UTC buckets (bucket = unix seconds / 900),
-- kept exact by the triggers below in the same transaction as the row they
-- count. /statistic and `tgtrack stats` fold buckets into days and windows in
-- the offer's time zone (every real zone offset is a multiple of 15 minutes),
-- so a campaign with a million clicks is read as a few thousand rows.
-- Each source counts in its own bucket, as `tgtrack stats` always did: clicks
-- by created_at, leads by started_at, conversions by coalesce(accepted_at,
-- updated_at) with their current status, postbacks by created_at (tests excluded).
CREATE TABLE stats_buckets (
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
    PRIMARY KEY (offer_id, bucket)
) WITHOUT ROWID;

CREATE TRIGGER stats_click_in AFTER INSERT ON clicks BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, clicks, hits) VALUES (new.offer_id, new.created_at / 900, 1, new.hits)
    ON CONFLICT (offer_id, bucket) DO UPDATE SET clicks = clicks + 1, hits = hits + excluded.hits;
END;
CREATE TRIGGER stats_click_hit AFTER UPDATE OF hits ON clicks WHEN new.hits != old.hits BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, hits) VALUES (new.offer_id, new.created_at / 900, new.hits - old.hits)
    ON CONFLICT (offer_id, bucket) DO UPDATE SET hits = hits + excluded.hits;
END;

CREATE TRIGGER stats_lead_in AFTER INSERT ON leads BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, leads) VALUES (new.offer_id, new.started_at / 900, 1)
    ON CONFLICT (offer_id, bucket) DO UPDATE SET leads = leads + 1;
END;

CREATE TRIGGER stats_conv_in AFTER INSERT ON conversions WHEN new.status != 'lead' BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, holds, approved, rejected, premium, spent)
    VALUES (new.offer_id, coalesce(new.accepted_at, new.updated_at) / 900,
            new.status = 'hold', new.status = 'approved', new.status = 'rejected',
            new.is_premium AND new.status IN ('hold', 'approved'),
            CASE WHEN new.status IN ('hold', 'approved') THEN new.price ELSE 0 END)
    ON CONFLICT (offer_id, bucket) DO UPDATE SET holds = holds + excluded.holds, approved = approved + excluded.approved,
        rejected = rejected + excluded.rejected, premium = premium + excluded.premium, spent = spent + excluded.spent;
END;
CREATE TRIGGER stats_conv_out AFTER UPDATE ON conversions WHEN old.status != 'lead'
    AND (new.status != old.status OR new.price != old.price OR new.is_premium != old.is_premium
         OR coalesce(new.accepted_at, new.updated_at) / 900 != coalesce(old.accepted_at, old.updated_at) / 900) BEGIN
    UPDATE stats_buckets SET holds = holds - (old.status = 'hold'), approved = approved - (old.status = 'approved'),
        rejected = rejected - (old.status = 'rejected'),
        premium = premium - (old.is_premium AND old.status IN ('hold', 'approved')),
        spent = spent - (CASE WHEN old.status IN ('hold', 'approved') THEN old.price ELSE 0 END)
     WHERE offer_id = old.offer_id AND bucket = coalesce(old.accepted_at, old.updated_at) / 900;
END;
CREATE TRIGGER stats_conv_up AFTER UPDATE ON conversions WHEN new.status != 'lead'
    AND (old.status = 'lead' OR new.status != old.status OR new.price != old.price OR new.is_premium != old.is_premium
         OR coalesce(new.accepted_at, new.updated_at) / 900 != coalesce(old.accepted_at, old.updated_at) / 900) BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, holds, approved, rejected, premium, spent)
    VALUES (new.offer_id, coalesce(new.accepted_at, new.updated_at) / 900,
            new.status = 'hold', new.status = 'approved', new.status = 'rejected',
            new.is_premium AND new.status IN ('hold', 'approved'),
            CASE WHEN new.status IN ('hold', 'approved') THEN new.price ELSE 0 END)
    ON CONFLICT (offer_id, bucket) DO UPDATE SET holds = holds + excluded.holds, approved = approved + excluded.approved,
        rejected = rejected + excluded.rejected, premium = premium + excluded.premium, spent = spent + excluded.spent;
END;

CREATE TRIGGER stats_pb_in AFTER INSERT ON postbacks WHEN new.is_test = 0 BEGIN
    INSERT INTO stats_buckets (offer_id, bucket, pb_delivered, pb_pending, pb_failed)
    VALUES (new.offer_id, new.created_at / 900, new.state = 'delivered', new.state = 'pending', new.state IN ('failed', 'dead'))
    ON CONFLICT (offer_id, bucket) DO UPDATE SET pb_delivered = pb_delivered + excluded.pb_delivered,
        pb_pending = pb_pending + excluded.pb_pending, pb_failed = pb_failed + excluded.pb_failed;
END;
CREATE TRIGGER stats_pb_state AFTER UPDATE OF state ON postbacks WHEN new.is_test = 0 AND new.state != old.state BEGIN
    UPDATE stats_buckets
       SET pb_delivered = pb_delivered + (new.state = 'delivered') - (old.state = 'delivered'),
           pb_pending = pb_pending + (new.state = 'pending') - (old.state = 'pending'),
           pb_failed = pb_failed + (new.state IN ('failed', 'dead')) - (old.state IN ('failed', 'dead'))
     WHERE offer_id = new.offer_id AND bucket = new.created_at / 900;
END;

-- What is already there, once.
INSERT INTO stats_buckets (offer_id, bucket, clicks, hits)
SELECT offer_id, created_at / 900, count(*), sum(hits) FROM clicks GROUP BY 1, 2;
INSERT INTO stats_buckets (offer_id, bucket, leads)
SELECT offer_id, started_at / 900, count(*) FROM leads WHERE true GROUP BY 1, 2
ON CONFLICT (offer_id, bucket) DO UPDATE SET leads = leads + excluded.leads;
INSERT INTO stats_buckets (offer_id, bucket, holds, approved, rejected, premium, spent)
SELECT offer_id, coalesce(accepted_at, updated_at) / 900, sum(status = 'hold'), sum(status = 'approved'), sum(status = 'rejected'),
       sum(is_premium AND status IN ('hold', 'approved')), sum(CASE WHEN status IN ('hold', 'approved') THEN price ELSE 0 END)
  FROM conversions WHERE status != 'lead' GROUP BY 1, 2
ON CONFLICT (offer_id, bucket) DO UPDATE SET holds = holds + excluded.holds, approved = approved + excluded.approved,
    rejected = rejected + excluded.rejected, premium = premium + excluded.premium, spent = spent + excluded.spent;
INSERT INTO stats_buckets (offer_id, bucket, pb_delivered, pb_pending, pb_failed)
SELECT offer_id, created_at / 900, sum(state = 'delivered'), sum(state = 'pending'), sum(state IN ('failed', 'dead'))
  FROM postbacks WHERE is_test = 0 GROUP BY 1, 2
ON CONFLICT (offer_id, bucket) DO UPDATE SET pb_delivered = pb_delivered + excluded.pb_delivered,
    pb_pending = pb_pending + excluded.pb_pending, pb_failed = pb_failed + excluded.pb_failed;

-- Top rejection reasons of an offer in a window, and its conversions export.
CREATE INDEX conversions_offer_rejected ON conversions(offer_id, reason, coalesce(accepted_at, updated_at)) WHERE status = 'rejected';

-- Notifications to a campaign's advertiser and the admins: at most one per
-- (offer, kind, event key), inserted in the transaction of the decision that
-- causes it and sent by the bot's scheduler (sent_at set once handled).
CREATE TABLE notifications (
    id         INTEGER PRIMARY KEY,
    offer_id   INTEGER NOT NULL REFERENCES offers(id),
    kind       TEXT    NOT NULL,
    event_key  TEXT    NOT NULL,
    detail     TEXT    NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL,
    sent_at    INTEGER,
    UNIQUE (offer_id, kind, event_key)
);
CREATE INDEX notifications_unsent ON notifications(id) WHERE sent_at IS NULL;
