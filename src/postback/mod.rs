//! Postback delivery (being built).
