//! Group commit of the writes the redirects make: clicks and share visits.
//!
//! Each commit appends every page it touched (the tables and their index
//! leaves) to the WAL, and that volume, not the SQL, was the cost of a click.
//! So the intake thread (`server.rs`) takes every request already queued (up
//! to 256), validates the write each one asks for ([`super::click::prepare`],
//! [`super::share::prepare`]) and commits them all in one transaction here;
//! it answers none of them before that transaction has committed, so every
//! redirect we send has a durable row behind it.

use super::click::{self, OwnedClick};
use super::share::{self, OwnedVisit};
use crate::store::shares::ShareVisit;
use crate::store::{Store, StoreError};

/// One validated write, waiting for the batch's commit.
pub enum Write {
    Click(OwnedClick),
    Visit(OwnedVisit),
}

/// What committing one [`Write`] led to.
pub enum Written {
    Click(click::Outcome),
    /// `None`: no share link has that token.
    Visit(Option<ShareVisit>),
}

/// Commits `writes` in one transaction, all stamped `now`; one result per
/// write, in order. A store error fails the whole batch: nothing of it is
/// kept, so no answer claims a row that is not there.
pub fn commit(store: &Store, writes: &[Write], now: i64) -> Result<Vec<Written>, StoreError> {
    store.write(|tx| {
        writes
            .iter()
            .map(|w| match w {
                Write::Click(c) => click::record(tx, c, now).map(Written::Click),
                Write::Visit(v) => share::record(tx, v, now).map(Written::Visit),
            })
            .collect()
    })
}
