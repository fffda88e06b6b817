//! The one file format of the cache folder, for the findings and for remembered walks: eight
//! bytes naming the kind of file (and its version), a hash of the payload, then the payload in
//! postcard. A truncated or damaged file is noticed before anything in it is believed, and a
//! file is only ever replaced whole.
//!
//! Files are decoded as they are read and encoded as they are written, through a buffer of
//! [`CHUNK`] bytes: a whole file's bytes held next to what they decode to, or were encoded
//! from, were the peak memory of warm runs and of runs filling the cache on large trees (the
//! cache of 16 copies of transformers is 19 MB). The hash is checked once the payload is read:
//! what it decoded to is dropped unused when it does not match.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use postcard::de_flavors::Flavor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use xxhash_rust::xxh3::Xxh3;

/// The bytes read or written at a time.
const CHUNK: usize = 64 << 10;

/// The length of the header: the kind of file, then the hash of the payload.
const HEADER: usize = 8 + 16;

/// What the file at `path` of the kind `magic` holds; `Ok(None)` when it is of another kind,
/// damaged or truncated; an error when it cannot be opened or read.
pub(crate) fn read<T: DeserializeOwned>(
    path: &Path,
    magic: &[u8; 8],
) -> std::io::Result<Option<T>> {
    let mut file = File::open(path)?;
    let length = file.metadata()?.len();
    let mut header = [0_u8; HEADER];
    match file.read_exact(&mut header) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let (kind, hash) = header.split_at(8);
    if kind != magic {
        return Ok(None);
    }
    let mut expected = [0_u8; 16];
    expected.copy_from_slice(hash);
    let mut payload = Payload {
        file,
        remaining: length.saturating_sub(HEADER as u64),
        buffer: Vec::with_capacity(CHUNK),
        position: 0,
        scratch: Vec::new(),
        hasher: Xxh3::new(),
        error: None,
    };
    let mut deserializer = postcard::Deserializer::from_flavor(&mut payload);
    let decoded = T::deserialize(&mut deserializer);
    // The hash covers every byte after the header, whether or not the value used it.
    payload.hash_the_rest();
    if let Some(error) = payload.error.take() {
        return Err(error);
    }
    let holds = payload.hasher.digest128().to_le_bytes() == expected;
    Ok(decoded.ok().filter(|_| holds))
}

/// The payload of a file being decoded: read a chunk at a time, each chunk hashed as it is read.
struct Payload {
    file: File,
    /// Bytes of the file not read yet.
    remaining: u64,
    buffer: Vec<u8>,
    /// The next byte of `buffer` to decode.
    position: usize,
    /// A string that spans chunks, put together.
    scratch: Vec<u8>,
    hasher: Xxh3,
    error: Option<std::io::Error>,
}

impl Payload {
    /// Reads the next chunk into the buffer; false at the end of the file (or on an error).
    fn refill(&mut self) -> bool {
        self.buffer.clear();
        self.position = 0;
        let want = usize::try_from(self.remaining).map_or(CHUNK, |left| left.min(CHUNK));
        if want == 0 || self.error.is_some() {
            return false;
        }
        self.buffer.resize(want, 0);
        if let Err(error) = self.file.read_exact(&mut self.buffer) {
            self.buffer.clear();
            self.error = Some(error);
            return false;
        }
        self.remaining -= want as u64;
        self.hasher.update(&self.buffer);
        true
    }

    /// Bytes left to decode: in the buffer and in the file.
    fn left(&self) -> u64 {
        self.remaining + (self.buffer.len() - self.position) as u64
    }

    fn hash_the_rest(&mut self) {
        while self.refill() {}
    }
}

impl<'de> Flavor<'de> for &'de mut Payload {
    type Remainder = ();
    type Source = ();

    fn pop(&mut self) -> postcard::Result<u8> {
        if self.position == self.buffer.len() && !self.refill() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let byte = self.buffer[self.position];
        self.position += 1;
        Ok(byte)
    }

    fn size_hint(&self) -> Option<usize> {
        usize::try_from(self.left()).ok()
    }

    /// Borrowing from the input is not possible: the stored types own their strings.
    fn try_take_n(&mut self, _count: usize) -> postcard::Result<&'de [u8]> {
        Err(postcard::Error::DeserializeBadEncoding)
    }

    fn try_take_n_temp<'a>(&'a mut self, count: usize) -> postcard::Result<&'a [u8]>
    where
        'de: 'a,
    {
        // A length a damaged file claims is not allocated for.
        if count as u64 > self.left() {
            return Err(postcard::Error::DeserializeUnexpectedEnd);
        }
        let start = self.position;
        if self.buffer.len() - start >= count {
            self.position += count;
            return Ok(&self.buffer[start..start + count]);
        }
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.buffer[start..]);
        self.position = self.buffer.len();
        while self.scratch.len() < count {
            if !self.refill() {
                return Err(postcard::Error::DeserializeUnexpectedEnd);
            }
            let take = (count - self.scratch.len()).min(self.buffer.len());
            self.scratch.extend_from_slice(&self.buffer[..take]);
            self.position = take;
        }
        Ok(&self.scratch)
    }

    fn finalize(self) -> postcard::Result<()> {
        Ok(())
    }
}

/// Passes what is written on to `inner`, hashing it.
struct Hashing<W> {
    inner: W,
    hasher: Xxh3,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(bytes)?;
        self.hasher.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Writes `value` as a file of the kind `magic` at `target`, whose folder must exist: to a
/// temporary file next to it (named `temporary_prefix…`), renamed over it. The payload is
/// encoded as it is written; its hash is written in the header last.
pub(crate) fn write_atomically<T: Serialize>(
    target: &Path,
    magic: &[u8; 8],
    temporary_prefix: &str,
    value: &T,
) -> std::io::Result<()> {
    let folder = target
        .parent()
        .ok_or_else(|| std::io::Error::other("no folder"))?;
    let mut temporary = tempfile::Builder::new()
        .prefix(temporary_prefix)
        .tempfile_in(folder)?;
    let file = temporary.as_file_mut();
    file.write_all(magic)?;
    file.write_all(&[0; 16])?;
    let hashing = Hashing {
        inner: &mut *file,
        hasher: Xxh3::new(),
    };
    let writer = postcard::to_io(value, BufWriter::with_capacity(CHUNK, hashing))
        .map_err(std::io::Error::other)?;
    let hashing = writer.into_inner().map_err(|error| error.into_error())?;
    let hash = hashing.hasher.digest128();
    file.seek(SeekFrom::Start(8))?;
    file.write_all(&hash.to_le_bytes())?;
    temporary.persist(target).map_err(|error| error.error)?;
    Ok(())
}

/// The most entries a map is given room for before its first entry is read: a length read
/// from a file is believed up to this many (the file's hash is checked once it is read).
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
        // A string longer than a chunk is put together across chunks.
        let value = (7_u32, "seven".to_string(), "x".repeat(3 * CHUNK + 5));
        write_atomically(&target, b"nmftest1", ".nmf-test-", &value).expect("written");
        type Value = (u32, String, String);
        assert_eq!(
            read::<Value>(&target, b"nmftest1").expect("read"),
            Some(value.clone())
        );
        assert_eq!(read::<Value>(&target, b"nmftest2").expect("read"), None);
        // The header holds the hash of the whole payload, as a one-shot hash computes it.
        let bytes = std::fs::read(&target).expect("read");
        let payload = postcard::to_stdvec(&value).expect("encoded");
        assert_eq!(bytes[HEADER..], payload[..]);
        assert_eq!(
            bytes[8..HEADER],
            crate::source::fingerprint::hash_bytes(&payload).to_le_bytes()
        );
        let rewritten = |bytes: &[u8]| {
            std::fs::write(&target, bytes).expect("written");
            read::<Value>(&target, b"nmftest1").expect("read")
        };
        assert_eq!(rewritten(&bytes[..bytes.len() - 1]), None);
        assert_eq!(rewritten(&bytes[..10]), None);
        let mut damaged = bytes.clone();
        if let Some(last) = damaged.last_mut() {
            *last ^= 1;
        }
        assert_eq!(rewritten(&damaged), None);
        // A byte after the payload is covered by the hash too.
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(rewritten(&longer), None);
        // A length past the end of the file is not believed.
        let mut claimed = bytes[..HEADER].to_vec();
        claimed.extend(postcard::to_stdvec(&(7_u32, u64::MAX)).expect("encoded"));
        assert_eq!(rewritten(&claimed), None);
        assert_eq!(rewritten(&bytes), Some(value));
        // Nothing but the file is left in the folder.
        assert_eq!(std::fs::read_dir(folder.path()).expect("listed").count(), 1);
        assert!(read::<Value>(&folder.path().join("missing"), b"nmftest1").is_err());
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
