pub mod check;
pub mod clean;
pub mod config;
pub mod rule;
pub mod server;
pub mod version;
