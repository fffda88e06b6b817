//! The driver's folders import each other in one direction only: a folder that imports from
//! another is never imported back by it, however indirectly. (An import circle is how a flat
//! crate hides which job depends on which; see the crate's folders in `src/lib.rs`.)

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The top-level part of the crate (`source`, `check`, `run`, …) each file belongs to, and
/// the top-level parts each file names through `crate::…`.
fn imports_by_part(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    collect(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let relative = file.strip_prefix(src).expect("under src");
        let part = match relative.components().next() {
            Some(first) if relative.components().count() > 1 => {
                first.as_os_str().to_string_lossy().into_owned()
            }
            _ => relative
                .file_stem()
                .expect("a file name")
                .to_string_lossy()
                .into_owned(),
        };
        if part == "lib" {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("a readable source file");
        let named = graph.entry(part.clone()).or_default();
        for (at, _) in text.match_indices("crate::") {
            let rest = &text[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            // `nmf_driver::crate::…` cannot occur; `$crate::` is a macro's own crate.
            if !name.is_empty() && name != part && !text[..at].ends_with('$') {
                named.insert(name);
            }
        }
    }
    graph
}

fn collect(folder: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(folder).expect("a readable folder") {
        let path = entry.expect("a readable entry").path();
        if path.is_dir() {
            collect(&path, files);
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
}

/// A circle of parts, each importing the next and the last the first, if there is one.
fn find_circle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        part: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|seen| seen == part) {
            let mut circle = path[start..].to_vec();
            circle.push(part.to_string());
            return Some(circle);
        }
        if done.contains(part) {
            return None;
        }
        path.push(part.to_string());
        for next in graph.get(part).into_iter().flatten() {
            if let Some(circle) = visit(next, graph, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        done.insert(part.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|part| visit(part, graph, &mut Vec::new(), &mut done))
}

#[test]
fn no_folder_of_the_driver_imports_from_one_that_imports_back() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = imports_by_part(&src);
    assert!(
        graph.contains_key("source") && graph.contains_key("check"),
        "the folders were found: {graph:?}"
    );
    if let Some(circle) = find_circle(&graph) {
        panic!(
            "an import circle between the driver's folders: {}",
            circle.join(" → ")
        );
    }
}

#[test]
fn a_circle_is_found() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(part, names)| {
        (
            part.to_string(),
            names.into_iter().map(str::to_string).collect(),
        )
    })
    .collect();
    assert_eq!(
        find_circle(&graph),
        Some(
            vec!["a", "b", "c", "a"]
                .into_iter()
                .map(String::from)
                .collect()
        )
    );
    let mut acyclic = graph.clone();
    acyclic.insert("c".to_string(), BTreeSet::new());
    assert_eq!(find_circle(&acyclic), None);
}
