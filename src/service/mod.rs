//! Use cases shared by the CLI, the demo and the bot: the one implementation
//! of creating, submitting, moderating and running campaigns. Each is a
//! transaction on the store with its audit entry; callers only present results.

pub mod dialogues;
pub mod ledger;
pub mod notify;
pub mod offers;
pub mod settings;
pub mod stats;
