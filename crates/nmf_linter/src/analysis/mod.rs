//! Analyses shared by several rules.

pub mod forward_call;
