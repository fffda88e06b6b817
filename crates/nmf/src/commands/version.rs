//! `nmf version`: the version, as text or JSON.

use std::io::Write;

use crate::args::{TextOrJson, VersionArgs};
use crate::{EXIT_CLEAN, Error};

pub fn run(args: &VersionArgs) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    let version = env!("CARGO_PKG_VERSION");
    match args.output_format {
        TextOrJson::Text => writeln!(out, "nmf {version}")?,
        TextOrJson::Json => {
            serde_json::to_writer_pretty(&mut out, &serde_json::json!({ "version": version }))?;
            writeln!(out)?;
        }
    }
    Ok(EXIT_CLEAN)
}
