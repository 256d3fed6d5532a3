//! Files made from a campaign's figures: the PNG chart of its daily series and
//! the CSV exports. Pure: rows in, bytes out; the bot sends them, tests decode them.

pub mod chart;
pub mod csv;
pub mod table;
