pub mod check;
pub mod clean;
pub mod rule;
pub mod server;
