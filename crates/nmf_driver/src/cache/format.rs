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

/// The most entries a map is given room for before its first entry is read: a length read
/// from a file (whose hash matched, so written by nmf) is believed up to this many.
const MOST_ENTRIES_AT_ONCE: usize = 1 << 18;

/// Decodes a map with room for all its entries at once (`#[serde(deserialize_with)]`), as
/// serde's own decoding grows it by doubling: for a warm run's table of every file, the
/// old table and the new one together were the run's peak memory.
pub(crate) fn presized_map<'de, D, K, V>(
    deserializer: D,
) -> Result<rustc_hash::FxHashMap<K, V>, D::Error>
where
    D: serde::Deserializer<'de>,
    K: serde::Deserialize<'de> + Eq + std::hash::Hash,
    V: serde::Deserialize<'de>,
{
    struct Entries<K, V>(std::marker::PhantomData<(K, V)>);

    impl<'de, K, V> serde::de::Visitor<'de> for Entries<K, V>
    where
        K: serde::Deserialize<'de> + Eq + std::hash::Hash,
        V: serde::Deserialize<'de>,
    {
        type Value = rustc_hash::FxHashMap<K, V>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("a map")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut access: A,
        ) -> Result<Self::Value, A::Error> {
            let room = access.size_hint().unwrap_or(0).min(MOST_ENTRIES_AT_ONCE);
            let mut map = rustc_hash::FxHashMap::with_capacity_and_hasher(room, Default::default());
            while let Some((key, value)) = access.next_entry()? {
                map.insert(key, value);
            }
            Ok(map)
        }
    }

    deserializer.deserialize_map(Entries(std::marker::PhantomData))
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

    #[derive(Serialize, serde::Deserialize)]
    struct Presized {
        #[serde(deserialize_with = "presized_map")]
        map: rustc_hash::FxHashMap<String, u32>,
    }

    #[test]
    fn a_presized_map_reads_back_whole_with_room_for_every_entry() {
        let map: rustc_hash::FxHashMap<String, u32> = (0..1000)
            .map(|number| (number.to_string(), number))
            .collect();
        let bytes = postcard::to_stdvec(&Presized { map: map.clone() }).expect("encoded");
        let decoded: Presized = postcard::from_bytes(&bytes).expect("decoded");
        assert_eq!(decoded.map, map);
        // A length no file could hold is not believed whole, and the entries it lacks fail.
        let claimed = postcard::to_stdvec(&u64::MAX).expect("encoded");
        assert!(postcard::from_bytes::<Presized>(&claimed).is_err());
    }
}
