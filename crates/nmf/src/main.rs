use std::process::ExitCode;

fn main() -> ExitCode {
    ExitCode::from(nmf::run(std::env::args_os()))
}
