//! Analyses shared by several rules.

pub mod forward_call;
pub mod forward_tokens;
