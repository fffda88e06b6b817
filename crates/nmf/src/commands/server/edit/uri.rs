//! The files documents are: a `file:` URI names one, read by the `url` crate as the platform
//! spells paths (a `localhost` host, Windows drive letters and UNC hosts, percent-escapes,
//! names that are not UTF-8); a document of another scheme (`untitled:Untitled-1`) has a name.

use std::path::{Path, PathBuf};

use percent_encoding::percent_decode_str;
use url::Url;

/// The file a `file:` URI names.
pub fn file_path(uri: &str) -> Option<PathBuf> {
    let url = Url::parse(uri).ok()?;
    if url.scheme() != "file" {
        return None;
    }
    url.to_file_path().ok()
}

/// The `file:` URI of a file (absolute path).
pub fn file_uri(path: &Path) -> Option<String> {
    Url::from_file_path(path).ok().map(String::from)
}

/// The name of a document that is not a file: its URI's last path segment, decoded.
pub fn document_name(uri: &str) -> Option<String> {
    let url = Url::parse(uri).ok()?;
    let segment = url.path().rsplit('/').next()?;
    let name = percent_decode_str(segment).decode_utf8().ok()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_uris_are_read_as_the_platform_spells_paths() {
        #[cfg(unix)]
        {
            assert_eq!(
                file_path("file:///tmp/a%20b.py"),
                Some(PathBuf::from("/tmp/a b.py"))
            );
            assert_eq!(
                file_path("file://localhost/tmp/x.py"),
                Some(PathBuf::from("/tmp/x.py"))
            );
            // Another machine's file is no file here.
            assert_eq!(file_path("file://server/share/x.py"), None);
            use std::os::unix::ffi::OsStrExt;
            let latin1 = file_path("file:///tmp/caf%E9.py").expect("a path");
            assert_eq!(latin1.as_os_str().as_bytes(), b"/tmp/caf\xe9.py");
        }
        #[cfg(windows)]
        {
            assert_eq!(
                file_path("file:///C:/x/a%20b.py"),
                Some(PathBuf::from(r"C:\x\a b.py"))
            );
            assert_eq!(
                file_path("file://server/share/x.py"),
                Some(PathBuf::from(r"\\server\share\x.py"))
            );
        }
        assert_eq!(file_path("untitled:Untitled-1"), None);
        #[cfg(unix)]
        {
            let uri = file_uri(Path::new("/tmp/a b/\u{e9}.py")).expect("a URI");
            assert_eq!(uri, "file:///tmp/a%20b/%C3%A9.py");
            assert_eq!(file_path(&uri), Some(PathBuf::from("/tmp/a b/\u{e9}.py")));
        }
        assert_eq!(file_path("vscode-notebook-cell:/tmp/nb.ipynb#W1"), None);
    }

    #[test]
    fn other_documents_are_named_by_their_last_segment() {
        assert_eq!(
            document_name("untitled:Untitled-1").as_deref(),
            Some("Untitled-1")
        );
        assert_eq!(
            document_name("untitled:Untitled-2.ipynb").as_deref(),
            Some("Untitled-2.ipynb")
        );
        assert_eq!(
            document_name("vscode-vfs://github/o/r/a%20b.py").as_deref(),
            Some("a b.py")
        );
        assert_eq!(document_name("untitled:.."), None);
        assert_eq!(document_name("untitled:"), None);
    }
}
