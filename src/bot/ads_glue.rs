//! The `/ads` wizard at the edge: loads a chat's wizard state, feeds the pure
//! step function (`ads/`) its input, saves the new state, and runs its effects
//! against Telegram and the store.

use super::Shared;
use crate::store::{self, dialogues::Dialogue};

/// The wizard is over (paid, or cancelled): its row goes.
pub fn finished(sh: &Shared, user: i64) -> anyhow::Result<()> {
    sh.ctx
        .store
        .write(|tx| store::dialogues::clear(tx, Dialogue::Ads, user))?;
    Ok(())
}
