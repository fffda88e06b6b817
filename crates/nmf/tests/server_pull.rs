//! `nmf server` and LSP 3.17 pull diagnostics (`textDocument/diagnostic`,
//! `workspace/diagnostic`, `workspace/diagnostic/refresh`), and the whole workspace reported to
//! clients that pull and to those that do not (`initializationOptions.workspaceDiagnostics`).

use std::path::Path;

use serde_json::{Value, json};

mod common;

use common::lsp::Client;

/// A module class on disk, and a file of the workspace that calls its `forward`.
const BASE: &str = "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n";
const USER: &str = "from base import Base\n\nBase().forward(1)\n";
const CALL: &str = "import torch\n\nlayer = torch.nn.Linear(1, 1)\nlayer.forward(torch.ones(1))\n";

fn write(root: &Path, name: &str, text: &str) {
    let path = root.join(name);
    std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

fn uri(root: &Path, name: &str) -> String {
    format!("file://{}/{name}", root.display())
}

/// A workspace of several files: `user.py` calls the `forward` of `base.py`'s module class,
/// `call.py` calls a layer's, `clean.py` calls nothing, `excluded/call.py` is excluded.
fn workspace() -> tempfile::TempDir {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    write(
        root,
        "pyproject.toml",
        "[tool.nmf]\nextend-exclude = [\"excluded\"]\n",
    );
    write(root, "base.py", BASE);
    write(root, "user.py", USER);
    write(root, "call.py", CALL);
    write(root, "clean.py", "x = 1\n");
    write(root, "excluded/call.py", CALL);
    folder
}

/// Starts a server for `root` with `capabilities` and `options`; answers its request to
/// watch files. The `initialize` result is returned.
fn start(root: &Path, capabilities: Value, options: Value) -> (Client, Value) {
    start_with_cache(root, capabilities, options, None)
}

fn start_with_cache(
    root: &Path,
    capabilities: Value,
    options: Value,
    cache_dir: Option<&Path>,
) -> (Client, Value) {
    let mut client = Client::start_with_cache(cache_dir);
    client.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "capabilities": capabilities,
            "rootUri": format!("file://{}", root.display()),
            "initializationOptions": options,
        }}),
    );
    let initialized = client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let registration = client.receive();
    assert_eq!(registration["method"], "client/registerCapability");
    client.send(json!({"jsonrpc": "2.0", "id": registration["id"], "result": null}));
    (client, initialized)
}

/// What VS Code's client says of diagnostics: it pulls them, re-pulls when asked, and
/// watches files.
fn pulling() -> Value {
    json!({
        "textDocument": {"diagnostic": {"dynamicRegistration": true, "relatedDocumentSupport": false}},
        "workspace": {
            "diagnostics": {"refreshSupport": true},
            "didChangeWatchedFiles": {"dynamicRegistration": true},
        },
    })
}

/// The answer to request `id`; fails on any other message first (nothing is published to a
/// client that pulls).
fn answer(client: &mut Client, id: &Value) -> Value {
    let message = client.receive();
    assert_eq!(
        message["id"], *id,
        "expected the answer to {id}, got {message}"
    );
    message["result"].clone()
}

fn pull(client: &mut Client, id: i64, uri: &str, previous: Option<&Value>) -> Value {
    client.send(
        json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/diagnostic", "params": {
        "textDocument": {"uri": uri}, "previousResultId": previous}}),
    );
    answer(client, &json!(id))
}

fn pull_workspace(client: &mut Client, id: i64, previous: &[(String, Value)]) -> Value {
    let previous: Vec<Value> = previous
        .iter()
        .map(|(uri, value)| json!({"uri": uri, "value": value}))
        .collect();
    client.send(
        json!({"jsonrpc": "2.0", "id": id, "method": "workspace/diagnostic", "params": {
        "previousResultIds": previous}}),
    );
    answer(client, &json!(id))
}

/// A workspace report as a reviewer reads it: per file (relative), its kind, version and
/// codes.
fn summary(report: &Value, root: &Path) -> Vec<String> {
    let prefix = format!("file://{}/", root.display());
    let mut lines: Vec<String> = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let codes: Vec<&str> = item["items"]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|diagnostic| diagnostic["code"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            format!(
                "{} {} v{} {codes:?}",
                item["uri"]
                    .as_str()
                    .unwrap_or_default()
                    .replace(&prefix, ""),
                item["kind"].as_str().unwrap_or_default(),
                item["version"],
            )
        })
        .collect();
    lines.sort();
    lines
}

/// The result ids of a workspace report, to pull again with.
fn result_ids(report: &Value) -> Vec<(String, Value)> {
    report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            (
                item["uri"].as_str().unwrap_or_default().to_string(),
                item["resultId"].clone(),
            )
        })
        .collect()
}

fn watched_change(client: &mut Client, root: &Path, name: &str) {
    client.send(
        json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
        "changes": [{"uri": uri(root, name), "type": 2}]}}),
    );
}

fn shut_down(mut client: Client) {
    client.send(json!({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}));
    client.receive_until(|message| message["id"] == "bye");
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(0));
}

#[test]
fn a_client_that_pulls_gets_no_pushes_and_unchanged_for_what_it_holds() {
    let folder = workspace();
    let root = folder.path();
    let (mut client, initialized) = start(
        root,
        pulling(),
        json!({"workspaceDiagnostics": true, "knownModulesOnly": true}),
    );
    assert_eq!(
        initialized["result"]["capabilities"]["diagnosticProvider"],
        json!({"identifier": "nmf", "interFileDependencies": true, "workspaceDiagnostics": true})
    );
    // Open `clean.py` with an unsaved call: the buffer wins over the disk.
    let clean = uri(root, "clean.py");
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": clean, "languageId": "python", "version": 4, "text": CALL}}}),
    );
    // The first message after the open is the pull's answer: nothing was published.
    let first = pull(&mut client, 2, &clean, None);
    assert_eq!(first["kind"], "full");
    assert_eq!(first["items"][0]["code"], "NMF001");
    assert_eq!(
        first["items"][0]["range"]["start"],
        json!({"line": 3, "character": 0})
    );
    let again = pull(&mut client, 3, &clean, Some(&first["resultId"]));
    assert_eq!(
        again,
        json!({"kind": "unchanged", "resultId": first["resultId"]})
    );

    // The workspace: the open buffer's report (with its version), the files on disk with
    // findings; not the clean ones, not the excluded one.
    let workspace = pull_workspace(&mut client, 4, &[]);
    assert_eq!(
        summary(&workspace, root),
        [
            "call.py full vnull [\"NMF001\"]",
            "clean.py full v4 [\"NMF001\"]",
            "user.py full vnull [\"NMF001\"]",
        ]
    );
    // The same ids are the same findings: everything is unchanged.
    let held = result_ids(&workspace);
    let unchanged = pull_workspace(&mut client, 5, &held);
    assert_eq!(
        summary(&unchanged, root),
        [
            "call.py unchanged vnull []",
            "clean.py unchanged v4 []",
            "user.py unchanged vnull []",
        ]
    );
    assert_eq!(result_ids(&unchanged), held);

    // `call.py` loses its call on disk: the client is asked to pull again, and its report
    // is empty.
    write(root, "call.py", "x = 2\n");
    watched_change(&mut client, root, "call.py");
    let refresh = client.receive();
    assert_eq!(refresh["method"], "workspace/diagnostic/refresh");
    client.send(json!({"jsonrpc": "2.0", "id": refresh["id"], "result": null}));
    let changed = pull_workspace(&mut client, 6, &held);
    assert_eq!(
        summary(&changed, root),
        [
            "call.py full vnull []",
            "clean.py unchanged v4 []",
            "user.py unchanged vnull []",
        ]
    );
    shut_down(client);
}

#[test]
fn files_that_are_not_open_see_the_open_buffers_and_the_configuration() {
    let folder = workspace();
    let root = folder.path();
    let (mut client, _) = start(
        root,
        pulling(),
        json!({"workspaceDiagnostics": true, "knownModulesOnly": true}),
    );
    let first = pull_workspace(&mut client, 2, &[]);
    assert_eq!(
        summary(&first, root),
        [
            "call.py full vnull [\"NMF001\"]",
            "user.py full vnull [\"NMF001\"]"
        ]
    );
    let held = result_ids(&first);
    // An unsaved buffer of `base.py` whose class is no module: `user.py`, not open, is
    // checked with it.
    let base = uri(root, "base.py");
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": base, "languageId": "python", "version": 1,
        "text": "class Base:\n    pass\n"}}}),
    );
    let with_buffer = pull_workspace(&mut client, 3, &held);
    assert_eq!(
        summary(&with_buffer, root),
        ["call.py unchanged vnull []", "user.py full vnull []"]
    );
    // A pull of the file alone says the same.
    assert_eq!(
        pull(&mut client, 4, &uri(root, "user.py"), None)["items"],
        json!([])
    );
    // Closed unsaved: the disk's class again.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
        "textDocument": {"uri": base}}}),
    );
    let closed = pull_workspace(&mut client, 5, &result_ids(&with_buffer));
    assert_eq!(
        summary(&closed, root),
        [
            "call.py unchanged vnull []",
            "user.py full vnull [\"NMF001\"]"
        ]
    );
    // The configuration excludes `call.py`: the client is asked to pull again, and is told
    // the file has nothing any more.
    write(
        root,
        "pyproject.toml",
        "[tool.nmf]\nextend-exclude = [\"excluded\", \"call.py\"]\n",
    );
    watched_change(&mut client, root, "pyproject.toml");
    let refresh = client.receive();
    assert_eq!(refresh["method"], "workspace/diagnostic/refresh");
    let excluded = pull_workspace(&mut client, 6, &result_ids(&closed));
    assert_eq!(
        summary(&excluded, root),
        ["call.py full vnull []", "user.py unchanged vnull []"]
    );
    // A file deleted is cleared too, for a client that sends no ids.
    std::fs::remove_file(root.join("user.py")).expect("remove");
    watched_change(&mut client, root, "user.py");
    client.receive();
    let deleted = pull_workspace(&mut client, 7, &[]);
    assert_eq!(summary(&deleted, root), ["user.py full vnull []"]);
    shut_down(client);
}

#[test]
fn the_workspace_is_published_to_a_client_that_does_not_pull_when_asked_for() {
    let folder = workspace();
    let root = folder.path();
    let capabilities =
        json!({"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}});
    let (mut client, initialized) = start(
        root,
        capabilities,
        json!({"workspaceDiagnostics": true, "knownModulesOnly": true}),
    );
    assert_eq!(
        initialized["result"]["capabilities"]["diagnosticProvider"],
        Value::Null
    );
    let published = |messages: &[Value]| -> Vec<String> {
        let prefix = format!("file://{}/", root.display());
        let mut lines: Vec<String> = messages
            .iter()
            .filter(|message| message["method"] == "textDocument/publishDiagnostics")
            .map(|message| {
                let codes: Vec<&str> = message["params"]["diagnostics"]
                    .as_array()
                    .map(|items| {
                        items
                            .iter()
                            .filter_map(|item| item["code"].as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                format!(
                    "{} v{} {codes:?}",
                    message["params"]["uri"]
                        .as_str()
                        .unwrap_or_default()
                        .replace(&prefix, ""),
                    message["params"]["version"]
                )
            })
            .collect();
        lines.sort();
        lines
    };
    // After start, every file with findings is published, and nothing else: the answer to
    // a request sent meanwhile comes before or after them.
    client.send(json!({"jsonrpc": "2.0", "id": "mark", "method": "nmf/unknown"}));
    let mut received = Vec::new();
    let mut answered = false;
    while !answered || received.len() < 2 {
        let message = client.receive();
        if message["id"] == "mark" {
            answered = true;
        } else {
            received.push(message);
        }
    }
    assert_eq!(
        published(&received),
        ["call.py vnull [\"NMF001\"]", "user.py vnull [\"NMF001\"]"]
    );
    // An open document is published as before; the disk's `user.py` is not published again.
    let opened = client.open(&uri(root, "user.py"), "x = 3\n");
    assert_eq!(published(&[opened]), ["user.py v1 []"]);
    // Changed on disk: only what changed is published.
    write(root, "call.py", "x = 2\n");
    watched_change(&mut client, root, "call.py");
    let changed = client.receive();
    assert_eq!(published(&[changed]), ["call.py vnull []"]);
    // Closed: the disk's report of the file is published again.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
        "textDocument": {"uri": uri(root, "user.py")}}}),
    );
    let closed = client.receive();
    assert_eq!(published(&[closed]), ["user.py vnull [\"NMF001\"]"]);
    shut_down(client);
}

#[test]
fn without_the_option_only_open_documents_are_reported_to_a_client_that_pulls() {
    let folder = workspace();
    let root = folder.path();
    let (mut client, initialized) = start(root, pulling(), json!({}));
    assert_eq!(
        initialized["result"]["capabilities"]["diagnosticProvider"]["workspaceDiagnostics"],
        false
    );
    let workspace = pull_workspace(&mut client, 2, &[]);
    assert_eq!(workspace, json!({"items": []}));
    // A file that is not open is checked when pulled alone.
    let call = pull(&mut client, 3, &uri(root, "call.py"), None);
    assert_eq!(call["items"][0]["code"], "NMF001");
    shut_down(client);
}

/// A client that pulls is asked to pull again when an open document's findings change
/// under the same text (another buffer changed), not after its own edits, which it pulls
/// anyway; a file of another language it pulls has no findings.
#[test]
fn a_refresh_is_asked_for_findings_that_changed_without_an_edit_of_their_document() {
    let folder = workspace();
    let root = folder.path();
    let (mut client, _) = start(root, pulling(), json!({"knownModulesOnly": true}));
    let user = uri(root, "user.py");
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": user, "languageId": "python", "version": 1, "text": USER}}}),
    );
    let first = pull(&mut client, 2, &user, None);
    assert_eq!(first["items"][0]["code"], "NMF001");
    // An edit moves the call a line down. Its check ends before the answer to a request
    // sent after it: no refresh follows, the pull's answer comes first.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": user, "version": 2},
        "contentChanges": [{"text": "from base import Base\n\n\nBase().forward(1)\n"}]}}),
    );
    client.send(json!({"jsonrpc": "2.0", "id": "mark", "method": "nmf/unknown"}));
    assert_eq!(client.receive()["id"], "mark");
    let edited = pull(&mut client, 3, &user, Some(&first["resultId"]));
    assert_eq!(edited["kind"], "full");
    assert_eq!(edited["items"][0]["range"]["start"]["line"], 3);
    // An unsaved `base.py` whose class is no module: `user.py`'s findings go, its text
    // unchanged; the client is asked to pull again, and told so.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri(root, "base.py"), "languageId": "python", "version": 1,
        "text": "class Base:\n    pass\n"}}}),
    );
    let refresh = client.receive();
    assert_eq!(refresh["method"], "workspace/diagnostic/refresh");
    client.send(json!({"jsonrpc": "2.0", "id": refresh["id"], "result": null}));
    let after = pull(&mut client, 4, &user, Some(&edited["resultId"]));
    assert_eq!(after["kind"], "full");
    assert_eq!(after["items"], json!([]));
    // Markdown, open or not, is not Python: no syntax error is reported for it.
    write(root, "README.md", "Never `model.forward(x)`.\n");
    let readme = pull(&mut client, 5, &uri(root, "README.md"), None);
    assert_eq!(readme["items"], json!([]));
    shut_down(client);
}

/// The workspace's check keeps its cache where `nmf check` would: in `.nmf_cache` of the
/// project's root, or in `NMF_CACHE_DIR`. Result ids name findings, not a server: another
/// server answers `unchanged` to the ids the first gave.
#[test]
fn the_workspace_check_keeps_its_cache_where_nmf_check_does() {
    let folder = workspace();
    let root = folder.path();
    let options = json!({"workspaceDiagnostics": true, "knownModulesOnly": true});
    let (mut client, _) = start(root, pulling(), options.clone());
    let first = pull_workspace(&mut client, 2, &[]);
    shut_down(client);
    assert!(root.join(".nmf_cache").is_dir());
    let elsewhere = tempfile::tempdir().expect("a folder");
    let (mut client, _) = start_with_cache(root, pulling(), options, Some(elsewhere.path()));
    let again = pull_workspace(&mut client, 2, &result_ids(&first));
    shut_down(client);
    assert_eq!(
        summary(&again, root),
        ["call.py unchanged vnull []", "user.py unchanged vnull []"]
    );
    assert!(
        std::fs::read_dir(elsewhere.path())
            .expect("the cache folder")
            .next()
            .is_some()
    );
}
