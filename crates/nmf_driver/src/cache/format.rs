//! The one file format of the cache folder, for the findings and for remembered walks: eight
//! bytes naming the kind of file (and its version), a hash of the payload, then the payload in
//! postcard. A truncated or damaged file is noticed before anything in it is believed, and a
//! file is only ever replaced whole.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::source::fingerprint::hash_bytes;

/// What a file of the kind `magic` holds; `None` when it is of another kind, damaged or
/// truncated.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8], magic: &[u8; 8]) -> Option<T> {
    let rest = bytes.strip_prefix(magic)?;
    let (hash, payload) = rest.split_at_checked(16)?;
    if hash_bytes(payload).to_le_bytes() != hash {
        return None;
    }
    postcard::from_bytes(payload).ok()
}

/// Writes `value` as a file of the kind `magic` at `target`, whose folder must exist: to a
/// temporary file next to it (named `temporary_prefix…`), renamed over it.
pub(crate) fn write_atomically<T: Serialize>(
    target: &Path,
    magic: &[u8; 8],
    temporary_prefix: &str,
    value: &T,
) -> std::io::Result<()> {
    let payload = postcard::to_stdvec(value).map_err(std::io::Error::other)?;
    let folder = target
        .parent()
        .ok_or_else(|| std::io::Error::other("no folder"))?;
    let mut temporary = tempfile::Builder::new()
        .prefix(temporary_prefix)
        .tempfile_in(folder)?;
    temporary.write_all(magic)?;
    temporary.write_all(&hash_bytes(&payload).to_le_bytes())?;
    temporary.write_all(&payload)?;
    temporary.persist(target).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_reads_back_and_a_damaged_or_foreign_one_does_not() {
        let folder = tempfile::tempdir().expect("a temporary folder");
        let target = folder.path().join("file");
        let value = (7_u32, "seven".to_string());
        write_atomically(&target, b"nmftest1", ".nmf-test-", &value).expect("written");
        let bytes = std::fs::read(&target).expect("read");
        assert_eq!(decode::<(u32, String)>(&bytes, b"nmftest1"), Some(value));
        assert_eq!(decode::<(u32, String)>(&bytes, b"nmftest2"), None);
        assert_eq!(
            decode::<(u32, String)>(&bytes[..bytes.len() - 1], b"nmftest1"),
            None
        );
        let mut damaged = bytes.clone();
        if let Some(last) = damaged.last_mut() {
            *last ^= 1;
        }
        assert_eq!(decode::<(u32, String)>(&damaged, b"nmftest1"), None);
        // Nothing but the file is left in the folder.
        assert_eq!(std::fs::read_dir(folder.path()).expect("listed").count(), 1);
    }
}
