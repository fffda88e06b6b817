//! `NMF_ENGINE_HASH`: a hash of the sources of the engine (the linter and this driver) and of
//! the lock file, so that a cache written by one build is never read by another, even between
//! two builds of the same version.

use std::hash::Hasher;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let sources = [
        manifest.join("src"),
        manifest.join("../nmf_linter/src"),
        manifest.join("../../Cargo.lock"),
    ];
    let mut files = Vec::new();
    for source in &sources {
        println!("cargo:rerun-if-changed={}", source.display());
        collect(source, &mut files);
    }
    files.sort();
    // FNV-1a: the build script has no dependencies.
    let mut hasher = Fnv(0xcbf2_9ce4_8422_2325);
    for file in files {
        hasher.write(file.to_string_lossy().as_bytes());
        hasher.write(&std::fs::read(&file).unwrap_or_default());
    }
    println!("cargo:rustc-env=NMF_ENGINE_HASH={:016x}", hasher.finish());
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            collect(&entry.path(), files);
        }
    } else if path.is_file() {
        files.push(path.to_path_buf());
    }
}

struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}
