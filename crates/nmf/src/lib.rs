//! The `nmf` command line. The binary and the Python package's `nmf` script both call [`run`].

mod args;
mod commands;
mod printer;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

pub use args::Cli;

/// Every rule's documentation as one Markdown page (`docs/rules.md`).
pub fn rules_markdown() -> String {
    commands::rule::render_all()
}

/// The table of rules in the README: code, name, whether it has a fix, what it does.
pub fn rules_table() -> String {
    commands::rule::render_table()
}

/// The list of rules in the flake8 plugin's docstring, as reStructuredText.
pub fn rules_list() -> String {
    commands::rule::render_list()
}

/// Exit status: no findings.
pub const EXIT_CLEAN: u8 = 0;
/// Exit status: findings (syntax and read errors included).
pub const EXIT_FINDINGS: u8 = 1;
/// Exit status: bad usage or configuration.
pub const EXIT_USAGE: u8 = 2;

/// Runs `nmf` with `args` (the first being the program name) and returns the exit status.
pub fn run<I, T>(args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(join_color_value(args)) {
        Ok(cli) => cli,
        Err(error) => {
            // `--help` and `--version` are not errors.
            let status = if error.use_stderr() {
                EXIT_USAGE
            } else {
                EXIT_CLEAN
            };
            let _ = error.print();
            return status;
        }
    };
    let outcome = match cli.command {
        args::Command::Check(check) => {
            remove_temporaries_when_interrupted();
            commands::check::run(*check)
        }
        args::Command::Rule(rule) => commands::rule::run(&rule),
        args::Command::Clean(clean) => commands::clean::run(&clean),
        args::Command::Server(server) => commands::server::run(&server),
        args::Command::Config(config) => commands::config::run(&config),
        args::Command::Version(version) => commands::version::run(&version),
        args::Command::GenerateShellCompletion(completion) => {
            // Into memory first: clap_complete panics when its writer fails (a closed pipe).
            let mut script = Vec::new();
            let mut command = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(completion.shell, &mut command, "nmf", &mut script);
            std::io::stdout()
                .write_all(&script)
                .map(|()| EXIT_CLEAN)
                .map_err(Error::from)
        }
    };
    match outcome {
        Ok(status) => status,
        Err(error) if is_broken_pipe(&error) => EXIT_CLEAN,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "nmf: error: {error}");
            EXIT_USAGE
        }
    }
}

/// `--color always` (with a space) as `--color=always`: `--color` alone means `always`, so
/// clap cannot take the next word as its value without mistaking a path for one.
fn join_color_value(args: Vec<OsString>) -> Vec<OsString> {
    let mut joined = Vec::with_capacity(args.len());
    let mut words = args.into_iter().peekable();
    while let Some(word) = words.next() {
        if word == "--color"
            && let Some(value) =
                words.next_if(|next| matches!(next.to_str(), Some("auto" | "always" | "never")))
        {
            let mut pair = OsString::from("--color=");
            pair.push(value);
            joined.push(pair);
        } else {
            joined.push(word);
        }
    }
    joined
}

/// Exit status after SIGINT, SIGTERM or SIGHUP (128 + SIGINT, as shells report an interrupt).
pub const EXIT_INTERRUPTED: i32 = 130;

/// On SIGINT, SIGTERM or SIGHUP, removes the temporary files of fixes being written (waiting for
/// an in-place write to finish), then exits. Installed once per process; a host that already
/// handles those signals (the Python interpreter has its own) keeps its handler.
fn remove_temporaries_when_interrupted() {
    let _ = ctrlc::set_handler(|| {
        nmf_driver::check::write::remove_temporaries();
        std::process::exit(EXIT_INTERRUPTED);
    });
}

/// What a command can fail with; configuration errors and I/O errors alike.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `nmf check ... | head` closes the pipe early; that is not an error worth a message.
fn is_broken_pipe(error: &Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
