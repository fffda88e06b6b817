use std::process::ExitCode;

/// jemalloc, as ruff links it: a cold run spent about an eighth of its time in glibc's malloc/free.
/// Configured at build time in `.cargo/config.toml` (one arena, which keeps the peak under glibc's).
#[cfg(all(feature = "jemalloc", unix, not(target_env = "musl")))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    ExitCode::from(nmf::run(std::env::args_os()))
}
