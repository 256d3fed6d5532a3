-- Migration 2: campaigns made by advertisers in the bot.

-- A short unique name advertisers and admins use for a campaign (NULL for CLI offers).
ALTER TABLE offers ADD COLUMN slug TEXT;
CREATE UNIQUE INDEX offers_slug ON offers(slug) WHERE slug IS NOT NULL;
-- Bumped on every edit of a draft: an invoice names the revision it was sent
-- for, so a payment for an older version of the draft is refused.
ALTER TABLE offers ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
CREATE INDEX offers_advertiser ON offers(advertiser_id, status);
-- Stars of the advertiser's credit (unspent budget of finished campaigns) put
-- towards this campaign's budget when it was submitted; the invoice is for the rest.
ALTER TABLE offers ADD COLUMN credit_applied INTEGER NOT NULL DEFAULT 0;

-- The review card each admin was sent for a campaign, so the first decision
-- can update every other admin's card.
CREATE TABLE review_cards (
    offer_id   INTEGER NOT NULL REFERENCES offers(id),
    admin_id   INTEGER NOT NULL,
    msg_id     INTEGER NOT NULL,
    PRIMARY KEY (offer_id, admin_id)
) WITHOUT ROWID;

-- The ledger: campaign budgets, task invoices, refunds and credits by payer.
CREATE INDEX payments_user ON payments(tg_user_id, kind);
CREATE INDEX payments_offer ON payments(offer_id);

-- What an admin's next message answers (a reject reason, a postback URL, a
-- price), one row per admin, as versioned JSON like wizard_state.
CREATE TABLE admin_state (
    chat_id    INTEGER PRIMARY KEY,
    version    INTEGER NOT NULL,
    state      TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
);

-- Chats the bot was added to or promoted in, and by whom: a bot cannot open
-- an invite link (messages.checkChatInvite is for users only), so a private
-- chat named by `t.me/+HASH` in the /ads wizard is found as the chat its
-- advertiser most recently made the bot an admin of.
CREATE TABLE bot_chats (
    chat_id     INTEGER PRIMARY KEY,
    actor_id    INTEGER NOT NULL,
    is_admin    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX bot_chats_actor ON bot_chats(actor_id, updated_at);
