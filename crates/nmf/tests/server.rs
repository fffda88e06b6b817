//! `nmf server` driven over stdio as an editor drives it: framed JSON-RPC in, framed out.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

struct Client {
    child: Child,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
}

impl Client {
    fn start() -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_nmf"))
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nmf server starts");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        Self {
            child,
            input,
            output,
        }
    }

    fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.input.flush().expect("flush");
    }

    fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            self.output.read_line(&mut line).expect("a header");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some(value) = line.strip_prefix("Content-Length: ") {
                length = value.parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        self.output.read_exact(&mut body).expect("a body");
        serde_json::from_slice(&body).expect("JSON")
    }

    fn initialize(&mut self, encodings: &[&str], root: &std::path::Path) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "capabilities": {"general": {"positionEncodings": encodings}},
                "rootUri": format!("file://{}", root.display()),
            }}),
        );
        let reply = self.receive();
        self.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        reply
    }

    fn open(&mut self, uri: &str, text: &str) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}}),
        );
        self.receive()
    }

    fn exit_status(mut self) -> Option<i32> {
        self.child.wait().expect("exits").code()
    }
}

const SOURCE: &str = "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def forward(self, x):\n        return x\n\n\nnet = Net()\ns = \"\u{1F600}\u{e9}\"; net.forward(s)\n";

fn project() -> (tempfile::TempDir, String) {
    let folder = tempfile::tempdir().expect("a folder");
    std::fs::write(folder.path().join("a.py"), SOURCE).expect("write");
    let uri = format!("file://{}/a.py", folder.path().display());
    (folder, uri)
}

#[test]
fn positions_are_in_the_negotiated_encoding_and_diagnostics_say_code_fix_and_docs() {
    for (offered, expected, column) in [
        (vec!["utf-8", "utf-16"], "utf-8", 17),
        (vec!["utf-16"], "utf-16", 14),
        (vec![], "utf-16", 14),
    ] {
        let (folder, uri) = project();
        let mut client = Client::start();
        let reply = client.initialize(&offered, folder.path());
        assert_eq!(
            reply["result"]["capabilities"]["positionEncoding"],
            expected
        );
        let published = client.open(&uri, SOURCE);
        assert_eq!(published["method"], "textDocument/publishDiagnostics");
        let diagnostics = published["params"]["diagnostics"]
            .as_array()
            .expect("a list");
        assert_eq!(diagnostics.len(), 1);
        let diagnostic = &diagnostics[0];
        assert_eq!(diagnostic["code"], "NMF001");
        assert_eq!(diagnostic["source"], "nmf");
        // `net` starts after an emoji (two UTF-16 units, four UTF-8 bytes) and an `é`.
        assert_eq!(
            diagnostic["range"]["start"],
            json!({"line": 9, "character": column - 3})
        );
        assert_eq!(
            diagnostic["data"]["edits"][0]["range"]["start"]["character"],
            column
        );
        assert!(
            diagnostic["codeDescription"]["href"]
                .as_str()
                .is_some_and(|href| href.ends_with("#module-forward-call-nmf001"))
        );
        client.send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
        assert_eq!(client.receive()["id"], 2);
        client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
        assert_eq!(client.exit_status(), Some(0));
    }
}

#[test]
fn code_actions_fix_disable_for_the_line_and_fix_all() {
    let (folder, uri) = project();
    let mut client = Client::start();
    client.initialize(&["utf-16"], folder.path());
    let published = client.open(&uri, SOURCE);
    let diagnostics = published["params"]["diagnostics"].clone();
    client.send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": uri}, "range": diagnostics[0]["range"],
        "context": {"diagnostics": diagnostics}}}),
    );
    let reply = client.receive();
    let actions = reply["result"].as_array().expect("actions");
    let titles: Vec<&str> = actions.iter().filter_map(|a| a["title"].as_str()).collect();
    assert_eq!(
        titles,
        [
            "Call `net(...)` instead, so that its hooks run",
            "Disable NMF001 for this line",
            "nmf: fix all"
        ]
    );
    assert_eq!(actions[0]["isPreferred"], true);
    assert_eq!(actions[0]["kind"], "quickfix");
    assert_eq!(
        actions[1]["edit"]["changes"][&uri][0]["newText"],
        "  # noqa: NMF001"
    );
    assert_eq!(actions[2]["kind"], "source.fixAll.nmf");
    let fixed = actions[2]["edit"]["changes"][&uri][0]["newText"]
        .as_str()
        .expect("text");
    assert!(fixed.ends_with("s = \"\u{1F600}\u{e9}\"; net(s)\n"));
    // The line disabled: no finding left.
    let disabled = SOURCE.replace("net.forward(s)", "net.forward(s)  # noqa: NMF001");
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": disabled}]}}),
    );
    assert_eq!(client.receive()["params"]["diagnostics"], json!([]));
    // Closing clears the document's diagnostics.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
        "textDocument": {"uri": uri}}}),
    );
    assert_eq!(client.receive()["params"]["diagnostics"], json!([]));
    client.send(json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}));
    client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(0));
}

#[test]
fn unknown_methods_garbage_and_exit_without_shutdown() {
    let (folder, uri) = project();
    let mut client = Client::start();
    client.initialize(&[], folder.path());
    client.send(json!({"jsonrpc": "2.0", "id": 7, "method": "nmf/unknown", "params": {}}));
    let reply = client.receive();
    assert_eq!(reply["id"], 7);
    assert_eq!(reply["error"]["code"], -32601);
    // A document that does not parse, and one of binary garbage: answered, no crash.
    let published = client.open(&uri, "def (:\n\u{0}\u{1}");
    assert_eq!(published["method"], "textDocument/publishDiagnostics");
    client.send(
        json!({"jsonrpc": "2.0", "id": 8, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
        "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}}),
    );
    assert_eq!(client.receive()["id"], 8);
    // `exit` without `shutdown`: status 1, as the specification says.
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(1));
}

#[test]
fn a_file_changed_on_disk_or_a_new_configuration_re_publishes_open_documents() {
    let folder = tempfile::tempdir().expect("a folder");
    std::fs::write(folder.path().join("pyproject.toml"), "").expect("write");
    std::fs::write(
        folder.path().join("base.py"),
        "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
    )
    .expect("write");
    let user = "from base import Base\n\nBase().forward(1)\n";
    std::fs::write(folder.path().join("user.py"), user).expect("write");
    let uri = format!("file://{}/user.py", folder.path().display());
    let mut client = Client::start();
    client.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}},
            "rootUri": format!("file://{}", folder.path().display()),
            "initializationOptions": {"knownModulesOnly": true},
        }}),
    );
    client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    // The server asks to watch Python and configuration files.
    let registration = client.receive();
    assert_eq!(registration["method"], "client/registerCapability");
    let globs: Vec<&str> =
        registration["params"]["registrations"][0]["registerOptions"]["watchers"]
            .as_array()
            .expect("watchers")
            .iter()
            .filter_map(|watcher| watcher["globPattern"].as_str())
            .collect();
    assert_eq!(
        globs,
        [
            "**/*.py",
            "**/pyproject.toml",
            "**/nmf.toml",
            "**/.nmf.toml"
        ]
    );
    client.send(json!({"jsonrpc": "2.0", "id": registration["id"], "result": null}));
    let published = client.open(&uri, user);
    assert_eq!(published["params"]["diagnostics"][0]["code"], "NMF001");
    // The base class stops being a module on disk: the open file's finding goes away.
    std::fs::write(folder.path().join("base.py"), "class Base:\n    pass\n").expect("write");
    client.send(
        json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
        "changes": [{"uri": format!("file://{}/base.py", folder.path().display()), "type": 2}]}}),
    );
    assert_eq!(client.receive()["params"]["diagnostics"], json!([]));
    // A configuration that selects nothing but NMF002 is read again when it changes.
    std::fs::write(
        folder.path().join("base.py"),
        "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n",
    )
    .expect("write");
    std::fs::write(
        folder.path().join("pyproject.toml"),
        "[tool.nmf]\nselect = [\"NMF002\"]\n",
    )
    .expect("write");
    client.send(json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
        "changes": [{"uri": format!("file://{}/pyproject.toml", folder.path().display()), "type": 2}]}}));
    assert_eq!(client.receive()["params"]["diagnostics"], json!([]));
    std::fs::write(folder.path().join("pyproject.toml"), "").expect("write");
    client.send(json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
        "changes": [{"uri": format!("file://{}/pyproject.toml", folder.path().display()), "type": 2}]}}));
    assert_eq!(
        client.receive()["params"]["diagnostics"][0]["code"],
        "NMF001"
    );
    client.send(json!({"jsonrpc": "2.0", "id": 2, "method": "shutdown"}));
    client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(0));
}
