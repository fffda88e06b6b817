//! `nmf config [KEY]`: the configuration keys, or one with its documentation, type, default
//! and an example, as `ruff config` shows its own.

use std::io::Write;

use nmf_driver::settings::options_doc::{OPTIONS, OptionDoc, find};
use serde_json::json;

use crate::args::{ConfigArgs, TextOrJson};
use crate::{EXIT_CLEAN, Error};

pub fn run(args: &ConfigArgs) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    // clap accepts only known keys.
    let option = args.key.as_deref().and_then(find);
    match (option, args.output_format) {
        (None, TextOrJson::Text) => {
            for option in OPTIONS {
                writeln!(out, "{}", option.name)?;
            }
        }
        (None, TextOrJson::Json) => {
            let all: serde_json::Map<String, serde_json::Value> = OPTIONS
                .iter()
                .map(|option| (option.name.to_string(), as_json(option)))
                .collect();
            serde_json::to_writer_pretty(&mut out, &all)?;
            writeln!(out)?;
        }
        (Some(option), TextOrJson::Text) => {
            writeln!(out, "{}\n", option.doc)?;
            writeln!(out, "Default value: {}", option.default)?;
            writeln!(out, "Type: {}", option.kind)?;
            writeln!(out, "Example usage:\n```toml\n{}\n```", option.example)?;
        }
        (Some(option), TextOrJson::Json) => {
            serde_json::to_writer_pretty(&mut out, &as_json(option))?;
            writeln!(out)?;
        }
    }
    Ok(EXIT_CLEAN)
}

fn as_json(option: &OptionDoc) -> serde_json::Value {
    json!({
        "doc": option.doc,
        "default": option.default,
        "value_type": option.kind,
        "example": option.example,
    })
}
