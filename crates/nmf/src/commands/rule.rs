//! `nmf rule CODE` and `nmf rule --all`: the rules' documentation, as Markdown.

use std::io::Write;

use nmf_linter::registry::{ALL_RULES, FixAvailability, RuleInfo, find_rule};

use crate::args::RuleArgs;
use crate::{EXIT_CLEAN, EXIT_USAGE, Error};

pub fn run(args: &RuleArgs) -> Result<u8, Error> {
    let mut out = std::io::stdout().lock();
    if args.all {
        let pages: Vec<String> = ALL_RULES.iter().map(|rule| render(rule)).collect();
        write!(out, "{}", pages.join("\n"))?;
        return Ok(EXIT_CLEAN);
    }
    let wanted = args.rule.as_deref().unwrap_or_default();
    match find_rule(wanted) {
        Some(rule) => {
            write!(out, "{}", render(rule))?;
            Ok(EXIT_CLEAN)
        }
        None => {
            let known: Vec<&str> = ALL_RULES.iter().map(|rule| rule.code).collect();
            eprintln!(
                "nmf: error: unknown rule `{wanted}`; known rules: {}",
                known.join(", ")
            );
            Ok(EXIT_USAGE)
        }
    }
}

fn fix_sentence(rule: &RuleInfo) -> &'static str {
    match rule.fix {
        FixAvailability::None => "Fix is not available.",
        FixAvailability::Sometimes => "Fix is sometimes available.",
        FixAvailability::Always => "Fix is always available.",
    }
}

/// A rule's documentation as Markdown: its doc comment without the space each line of a
/// `///` comment starts with.
pub fn docs_markdown(rule: &RuleInfo) -> String {
    let docs: Vec<&str> = rule
        .docs
        .lines()
        .map(|line| line.strip_prefix(' ').unwrap_or(line))
        .collect();
    docs.join("\n").trim_end().to_string()
}

/// A rule's page: title, fix availability, then its documentation.
pub fn render(rule: &RuleInfo) -> String {
    let fix = fix_sentence(rule);
    format!(
        "# {} ({})\n\n{fix}\n\n{}\n",
        rule.name,
        rule.code,
        docs_markdown(rule)
    )
}

/// Every rule's page, as `docs/rules.md` holds them.
pub fn render_all() -> String {
    let mut pages = String::from(
        "<!-- Generated from the rules' doc comments by `NMF_UPDATE_DOCS=1 cargo test -p nmf --test docs`. -->\n\n",
    );
    for (index, rule) in ALL_RULES.iter().enumerate() {
        if index > 0 {
            pages.push('\n');
        }
        pages.push_str(&render(rule));
    }
    pages
}

/// The README's table of rules, one row per rule, linking to its documentation.
pub fn render_table() -> String {
    let mut table = String::from(
        "| Code | Name | Fix | What it does |\n|------|------|-----|--------------|\n",
    );
    for rule in ALL_RULES {
        let fix = match rule.fix {
            FixAvailability::None => "no",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "yes",
        };
        table.push_str(&format!(
            "| [{code}](docs/rules.md#{name}-{anchor}) | `{name}` | {fix} | {summary} |\n",
            code = rule.code,
            name = rule.name,
            anchor = rule.code.to_ascii_lowercase(),
            summary = rule.summary().replace('|', "\\|"),
        ));
    }
    table
}

/// The rules as a reStructuredText list, for the flake8 plugin's docstring.
pub fn render_list() -> String {
    ALL_RULES
        .iter()
        .map(|rule| format!("- ``{}`` ({}): {}\n", rule.code, rule.name, rule.summary()))
        .collect()
}
