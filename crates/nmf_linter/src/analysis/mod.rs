//! Analyses shared by several rules.

pub mod forward_call;
pub mod forward_tokens;
#[cfg(test)]
mod forward_tokens_reference;
