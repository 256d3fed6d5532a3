//! The `/ads` wizard at the edge: loads a chat's wizard state, feeds the pure
//! step function (`ads/`) its input, saves the new state, and runs its effects
//! against Telegram and the store.

use super::Shared;
use crate::service::dialogues::{self, Dialogue};

/// The wizard is over (paid, or cancelled): its row goes.
pub fn finished(sh: &Shared, user: i64) -> anyhow::Result<()> {
    dialogues::clear(&sh.ctx.store, Dialogue::Ads, user)?;
    Ok(())
}
