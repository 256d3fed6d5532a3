-- tgtrack schema, migration 1.
--
-- This file is never edited once released: later changes are appended as new
-- migrations in src/store/migrations.rs and counted by PRAGMA user_version.
-- Times are unix seconds (INTEGER, UTC). Money is integer Stars (XTR) unless a
-- column says otherwise. Telegram ids are 64-bit integers.

-- Offers (campaigns). One row per thing a network can send traffic to.
CREATE TABLE offers (
    id                INTEGER PRIMARY KEY,
    name              TEXT    NOT NULL,
    -- Telegram user id of the advertiser who created it in the bot; NULL when made from the CLI.
    advertiser_id     INTEGER,
    -- Action kind, see domain::offer::Action (join_channel, join_request, comment, ...).
    action            TEXT    NOT NULL,
    -- Where the action happens: JSON of domain::offer::Target.
    target            TEXT    NOT NULL DEFAULT '{}',
    status            TEXT    NOT NULL DEFAULT 'active'
                      CHECK (status IN ('draft','awaiting_payment','pending_review','active','paused','finished','rejected')),
    -- What the advertiser pays per conversion, by tier.
    price_regular     INTEGER NOT NULL CHECK (price_regular >= 0),
    price_premium     INTEGER NOT NULL CHECK (price_premium >= 0),
    -- What the postback reports as {payout}/{currency}: a decimal string, so no float rounding.
    payout            TEXT    NOT NULL DEFAULT '0',
    currency          TEXT    NOT NULL DEFAULT 'XTR',
    cap_total         INTEGER,
    cap_hour          INTEGER,
    cap_day           INTEGER,
    cap_week          INTEGER,
    -- JSON of domain::schedule::Schedule; interpreted in `timezone`.
    schedule          TEXT    NOT NULL DEFAULT '"always"',
    timezone          TEXT    NOT NULL DEFAULT 'UTC',
    hold_seconds      INTEGER NOT NULL DEFAULT 0 CHECK (hold_seconds >= 0),
    -- Prepaid budget in Stars; NULL means unlimited (operator-owned offers).
    budget_total      INTEGER,
    budget_spent      INTEGER NOT NULL DEFAULT 0,
    postback_url      TEXT,
    postback_method   TEXT    NOT NULL DEFAULT 'get' CHECK (postback_method IN ('get','post_form','post_json')),
    postback_preset   TEXT    NOT NULL DEFAULT 'generic',
    -- Comma-separated statuses that are posted back (lead,hold,approved,rejected).
    postback_statuses TEXT    NOT NULL DEFAULT 'approved,rejected',
    -- Whether {tg_user_id} may be expanded in postbacks (off by default: privacy).
    send_user_id      INTEGER NOT NULL DEFAULT 0,
    -- Per-offer HMAC secret for POST /postbacks/relay.
    relay_secret      TEXT,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL
);

-- One row per click token. A repeat click on the same (offer, uid) reuses the
-- unconsumed token and bumps `hits`.
CREATE TABLE clicks (
    id          INTEGER PRIMARY KEY,
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    uid         TEXT    NOT NULL,
    sub1        TEXT, sub2 TEXT, sub3 TEXT, sub4 TEXT, sub5 TEXT,
    token       TEXT    NOT NULL UNIQUE,
    ip          TEXT,
    user_agent  TEXT,
    hits        INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    -- Set when a Telegram user binds to this click (/start TOKEN).
    consumed_at INTEGER
);
CREATE INDEX clicks_offer_uid ON clicks(offer_id, uid);
CREATE INDEX clicks_offer_time ON clicks(offer_id, created_at);

-- Telegram users we have seen.
CREATE TABLE tg_users (
    id          INTEGER PRIMARY KEY,
    access_hash INTEGER,
    username    TEXT,
    first_name  TEXT,
    last_name   TEXT,
    lang        TEXT,
    is_premium  INTEGER NOT NULL DEFAULT 0,
    blocked_bot INTEGER NOT NULL DEFAULT 0,
    first_seen  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- A click bound to a Telegram user. One click goes to one user, and a user has
-- at most one lead per offer.
CREATE TABLE leads (
    id               INTEGER PRIMARY KEY,
    click_id         INTEGER NOT NULL UNIQUE REFERENCES clicks(id),
    offer_id         INTEGER NOT NULL REFERENCES offers(id),
    tg_user_id       INTEGER NOT NULL REFERENCES tg_users(id),
    started_at       INTEGER NOT NULL,
    premium_at_start INTEGER NOT NULL DEFAULT 0,
    UNIQUE (offer_id, tg_user_id)
);
CREATE INDEX leads_user ON leads(tg_user_id);

-- Journal of everything observed, attributed or organic. `natural_key` makes
-- recording idempotent when Telegram repeats an update.
CREATE TABLE events (
    id          INTEGER PRIMARY KEY,
    natural_key TEXT    NOT NULL UNIQUE,
    kind        TEXT    NOT NULL,
    tg_user_id  INTEGER,
    offer_id    INTEGER REFERENCES offers(id),
    lead_id     INTEGER REFERENCES leads(id),
    detail      TEXT    NOT NULL DEFAULT '{}',
    occurred_at INTEGER NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE INDEX events_offer_time ON events(offer_id, occurred_at);

-- A conversion is unique per (offer, user, action).
CREATE TABLE conversions (
    id          INTEGER PRIMARY KEY,
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    lead_id     INTEGER REFERENCES leads(id),
    tg_user_id  INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('lead','hold','approved','rejected')),
    is_premium  INTEGER NOT NULL DEFAULT 0,
    -- Stars debited from the offer's budget (0 until the action is observed).
    price       INTEGER NOT NULL DEFAULT 0,
    hold_until  INTEGER,
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    -- When the action was observed and accepted into hold: caps count from here.
    accepted_at INTEGER,
    -- When the scheduler may ask Telegram about this conversion again (NULL = now):
    -- a check that failed or succeeded moves it to the back of the queue.
    next_check_at INTEGER,
    updated_at  INTEGER NOT NULL,
    UNIQUE (offer_id, tg_user_id, action)
);
CREATE INDEX conversions_status_hold ON conversions(status, hold_until);
CREATE INDEX conversions_offer_time ON conversions(offer_id, created_at);
-- Cap counting: accepted conversions of an offer by status since a window start.
CREATE INDEX conversions_offer_accepted ON conversions(offer_id, status, accepted_at);
CREATE INDEX conversions_user ON conversions(tg_user_id);

-- Audit trail: every decision and check, with its reason.
CREATE TABLE audit (
    id            INTEGER PRIMARY KEY,
    conversion_id INTEGER REFERENCES conversions(id),
    lead_id       INTEGER REFERENCES leads(id),
    click_id      INTEGER REFERENCES clicks(id),
    at            INTEGER NOT NULL,
    kind          TEXT    NOT NULL,
    detail        TEXT    NOT NULL
);
CREATE INDEX audit_conversion ON audit(conversion_id);
CREATE INDEX audit_lead ON audit(lead_id);

-- Durable postback outbox. The request is rendered when enqueued, so a later
-- template edit never changes what a queued postback says.
CREATE TABLE postbacks (
    id            INTEGER PRIMARY KEY,
    conversion_id INTEGER REFERENCES conversions(id),
    offer_id      INTEGER NOT NULL REFERENCES offers(id),
    status        TEXT    NOT NULL,
    -- Stable per (conversion, status): receivers dedupe on it.
    txid          TEXT    NOT NULL UNIQUE,
    method        TEXT    NOT NULL,
    url           TEXT    NOT NULL,
    body          TEXT,
    preset        TEXT    NOT NULL DEFAULT 'generic',
    state         TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed','dead')),
    attempts      INTEGER NOT NULL DEFAULT 0,
    -- When the next attempt is due, in unix MILLISECONDS: backoff steps are
    -- often shorter than a second in tests, and a drain of thousands per second
    -- needs finer ordering than whole seconds.
    due_at_ms     INTEGER NOT NULL,
    last_error    TEXT,
    is_test       INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE UNIQUE INDEX postbacks_conversion_status ON postbacks(conversion_id, status) WHERE conversion_id IS NOT NULL;
CREATE INDEX postbacks_due ON postbacks(state, due_at_ms);

CREATE TABLE postback_attempts (
    id          INTEGER PRIMARY KEY,
    postback_id INTEGER NOT NULL REFERENCES postbacks(id),
    at          INTEGER NOT NULL,
    http_status INTEGER,
    latency_ms  INTEGER NOT NULL,
    error       TEXT,
    body_head   TEXT
);
CREATE INDEX postback_attempts_pb ON postback_attempts(postback_id);

-- Personal share links (/s/TOKEN); visitors are counted by a salted hash.
CREATE TABLE share_links (
    id          INTEGER PRIMARY KEY,
    token       TEXT    NOT NULL UNIQUE,
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    lead_id     INTEGER REFERENCES leads(id),
    tg_user_id  INTEGER,
    target_url  TEXT    NOT NULL,
    visits      INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE TABLE share_visits (
    share_id     INTEGER NOT NULL REFERENCES share_links(id),
    visitor_hash TEXT    NOT NULL,
    first_at     INTEGER NOT NULL,
    PRIMARY KEY (share_id, visitor_hash)
) WITHOUT ROWID;

-- Stars in and out: campaign budgets, task invoices, refunds.
CREATE TABLE payments (
    id          INTEGER PRIMARY KEY,
    tg_user_id  INTEGER NOT NULL,
    offer_id    INTEGER REFERENCES offers(id),
    kind        TEXT    NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT    NOT NULL DEFAULT 'XTR',
    payload     TEXT,
    charge_id   TEXT    UNIQUE,
    status      TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);

-- Per-lead task artefacts (invite links, polls, invoices, paid media) so an
-- incoming update can be matched back to the lead it was made for.
CREATE TABLE lead_tasks (
    id          INTEGER PRIMARY KEY,
    lead_id     INTEGER NOT NULL REFERENCES leads(id),
    kind        TEXT    NOT NULL,
    ref_key     TEXT    NOT NULL UNIQUE,
    chat_id     INTEGER,
    msg_id      INTEGER,
    created_at  INTEGER NOT NULL,
    closed_at   INTEGER
);
CREATE INDEX lead_tasks_lead ON lead_tasks(lead_id);
CREATE INDEX lead_tasks_place ON lead_tasks(kind, chat_id, msg_id);

-- Relay events already accepted, for replay protection.
CREATE TABLE relay_events (
    offer_id    INTEGER NOT NULL REFERENCES offers(id),
    event_id    TEXT    NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (offer_id, event_id)
) WITHOUT ROWID;

-- Admin-editable settings (minimum prices, defaults), as key -> JSON value.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

-- Multi-step bot dialogues, one per chat, stored as versioned JSON.
CREATE TABLE wizard_state (
    chat_id    INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- MTProto session state (grammers_session::Session), one `session` name per
-- account: 'bot' and, optionally, 'owner'.
CREATE TABLE tg_session_meta (
    session    TEXT PRIMARY KEY,
    home_dc    INTEGER NOT NULL,
    pts        INTEGER,
    qts        INTEGER,
    date       INTEGER,
    seq        INTEGER
) WITHOUT ROWID;
CREATE TABLE tg_session_dcs (
    session  TEXT    NOT NULL,
    dc_id    INTEGER NOT NULL,
    ipv4     TEXT    NOT NULL,
    ipv6     TEXT    NOT NULL,
    auth_key BLOB,
    PRIMARY KEY (session, dc_id)
) WITHOUT ROWID;
CREATE TABLE tg_session_peers (
    session  TEXT    NOT NULL,
    peer_id  INTEGER NOT NULL,
    hash     INTEGER,
    subtype  INTEGER,
    PRIMARY KEY (session, peer_id)
) WITHOUT ROWID;
CREATE TABLE tg_session_channels (
    session    TEXT    NOT NULL,
    channel_id INTEGER NOT NULL,
    pts        INTEGER NOT NULL,
    PRIMARY KEY (session, channel_id)
) WITHOUT ROWID;
