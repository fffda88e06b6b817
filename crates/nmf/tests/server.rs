//! `nmf server` driven over stdio as an editor drives it: framed JSON-RPC in, framed out.

use serde_json::{Value, json};

mod common;

use common::Random;
use common::lsp::Client;

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

/// A message as a reviewer reads it: pretty JSON, the temporary folder as `[ROOT]`.
fn readable(messages: &[Value], root: &std::path::Path) -> String {
    let text = serde_json::to_string_pretty(messages).expect("JSON");
    text.replace(&root.display().to_string(), "[ROOT]")
}

fn publishes_of<'a>(messages: &'a [Value], uri: &str) -> Vec<&'a Value> {
    messages
        .iter()
        .filter(|message| {
            message["method"] == "textDocument/publishDiagnostics"
                && message["params"]["uri"] == uri
        })
        .collect()
}

fn codes(publish: &Value) -> Vec<String> {
    publish["params"]["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|diagnostic| diagnostic["code"].as_str().map(str::to_string))
        .collect()
}

fn shut_down(mut client: Client) {
    client.send(json!({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}));
    client.receive_until(|message| message["id"] == "bye");
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(0));
}

#[test]
fn open_buffers_win_over_the_disk_and_their_dependents_are_re_published() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    std::fs::write(root.join("pyproject.toml"), "").expect("write");
    let module_base = "import torch.nn as nn\n\n\nclass Base(nn.Module):\n    pass\n";
    std::fs::write(root.join("base.py"), module_base).expect("write");
    let user =
        "from base import Base\nfrom fresh import Fresh\n\nBase().forward(1)\nFresh().forward(2)\n";
    std::fs::write(root.join("user.py"), user).expect("write");
    let uri = |name: &str| format!("file://{}/{name}", root.display());
    let mut client = Client::start();
    client.send(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "capabilities": {}, "rootUri": uri(""), "initializationOptions": {"knownModulesOnly": true}}}));
    client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let opened = client.open(&uri("user.py"), user);
    // Only `Base` is known to be a module: `fresh` is nowhere yet.
    assert_eq!(codes(&opened), ["NMF001"]);
    assert_eq!(
        opened["params"]["diagnostics"][0]["range"]["start"]["line"],
        3
    );

    // `base.py` edited in the editor, unsaved: `Base` is no module in the buffer.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri("base.py"), "languageId": "python", "version": 1,
        "text": module_base}}}),
    );
    // Opened as the disk has it: `user.py` saw that text already and is not checked again
    // (its publication would come before the answer to a request sent after `base.py`'s).
    assert_eq!(client.receive()["params"]["uri"], uri("base.py"));
    client.send(json!({"jsonrpc": "2.0", "id": 50, "method": "nmf/unknown"}));
    let received = client.receive_until(|message| message["id"] == 50);
    assert!(
        publishes_of(&received, &uri("user.py")).is_empty(),
        "{received:?}"
    );
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri("base.py"), "version": 2},
        "contentChanges": [{"text": "class Base:\n    pass\n"}]}}),
    );
    let received =
        client.receive_until(|message| message["params"]["uri"] == uri("user.py").as_str());
    assert_eq!(
        codes(publishes_of(&received, &uri("user.py"))[0]),
        Vec::<String>::new()
    );

    // A module that exists only as an unsaved buffer is found by the import that names it.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri("fresh.py"), "languageId": "python", "version": 1,
        "text": "from torch import nn\n\n\nclass Fresh(nn.Module):\n    pass\n"}}}),
    );
    let received =
        client.receive_until(|message| message["params"]["uri"] == uri("user.py").as_str());
    let republished = publishes_of(&received, &uri("user.py"))[0];
    assert_eq!(codes(republished), ["NMF001"]);
    assert_eq!(
        republished["params"]["diagnostics"][0]["range"]["start"]["line"],
        4
    );

    // Closing the unsaved `base.py` puts the disk's text back: `Base` is a module again.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
        "textDocument": {"uri": uri("base.py")}}}),
    );
    let received =
        client.receive_until(|message| message["params"]["uri"] == uri("user.py").as_str());
    assert_eq!(
        codes(publishes_of(&received, &uri("user.py"))[0]),
        ["NMF001", "NMF001"]
    );
    insta::assert_snapshot!(
        "closing_a_buffer_re_publishes_its_dependents",
        readable(&received, root)
    );
    shut_down(client);
}

#[test]
fn notebook_cells_are_checked_together_and_published_cell_by_cell() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    let notebook = format!("file://{}/train.ipynb", root.display());
    let cell = |n: usize| {
        format!(
            "vscode-notebook-cell:{}/train.ipynb#cell{n}",
            root.display()
        )
    };
    let mut client = Client::start();
    client.initialize(&["utf-16"], root);
    client.send(
        json!({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
        "notebookDocument": {"uri": notebook, "notebookType": "jupyter-notebook", "version": 1,
            "metadata": {"language_info": {"name": "python"}},
            "cells": [
                {"kind": 2, "document": cell(1)},
                {"kind": 1, "document": cell(2)},
                {"kind": 2, "document": cell(3)}]},
        "cellTextDocuments": [
            {"uri": cell(1), "languageId": "python", "version": 1,
             "text": "import torch.nn as nn\n\nnet = nn.Linear(2, 2)\n"},
            {"uri": cell(2), "languageId": "markdown", "version": 1,
             "text": "Calls `net.forward(x)` here are prose.\n"},
            {"uri": cell(3), "languageId": "python", "version": 1,
             "text": "%matplotlib inline\ny = net.forward(x)\n"}]}}),
    );
    let received = client.receive_until(|message| message["params"]["uri"] == cell(3).as_str());
    assert_eq!(received.len(), 3);
    assert_eq!(codes(&received[0]), Vec::<String>::new());
    assert_eq!(codes(&received[1]), Vec::<String>::new());
    insta::assert_snapshot!(
        "a_finding_in_the_third_cell",
        readable(&received[2..], root)
    );
    let diagnostics = received[2]["params"]["diagnostics"].clone();

    // The fix and fix-all act on the cell.
    client.send(
        json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": cell(3)}, "range": diagnostics[0]["range"],
        "context": {"diagnostics": diagnostics}}}),
    );
    let reply = client
        .receive_until(|message| message["id"] == 2)
        .pop()
        .expect("a reply");
    let actions = reply["result"].as_array().expect("actions");
    let fix_all = actions
        .iter()
        .find(|action| action["kind"] == "source.fixAll.nmf")
        .expect("fix all");
    assert_eq!(
        fix_all["edit"]["changes"][cell(3).as_str()][0]["newText"],
        "%matplotlib inline\ny = net(x)\n"
    );

    // An edit of the cell's text, as a range.
    client.send(
        json!({"jsonrpc": "2.0", "method": "notebookDocument/didChange", "params": {
        "notebookDocument": {"uri": notebook, "version": 2},
        "change": {"cells": {"textContent": [{"document": {"uri": cell(3), "version": 2},
            "changes": [{"range": {"start": {"line": 1, "character": 7},
                                   "end": {"line": 1, "character": 15}}, "text": ""}]}]}}}}),
    );
    let received = client.receive_until(|message| message["params"]["uri"] == cell(3).as_str());
    assert_eq!(
        codes(received.last().expect("a publish")),
        Vec::<String>::new()
    );

    // The call comes back in a new cell, which replaces the third.
    client.send(
        json!({"jsonrpc": "2.0", "method": "notebookDocument/didChange", "params": {
        "notebookDocument": {"uri": notebook, "version": 3},
        "change": {"cells": {"structure": {
            "array": {"start": 2, "deleteCount": 1, "cells": [{"kind": 2, "document": cell(4)}]},
            "didOpen": [{"uri": cell(4), "languageId": "python", "version": 1,
                         "text": "net.forward(1)\n"}],
            "didClose": [{"uri": cell(3)}]}}}}}),
    );
    let received = client.receive_until(|message| message["params"]["uri"] == cell(4).as_str());
    assert_eq!(
        codes(publishes_of(&received, &cell(3))[0]),
        Vec::<String>::new()
    );
    assert_eq!(codes(publishes_of(&received, &cell(4))[0]), ["NMF001"]);

    // Closing the notebook clears every cell.
    client.send(
        json!({"jsonrpc": "2.0", "method": "notebookDocument/didClose", "params": {
        "notebookDocument": {"uri": notebook},
        "cellTextDocuments": [{"uri": cell(1)}, {"uri": cell(2)}, {"uri": cell(4)}]}}),
    );
    let received = client.receive_until(|message| message["params"]["uri"] == cell(4).as_str());
    assert!(received.iter().all(|message| codes(message).is_empty()));
    shut_down(client);
}

#[test]
fn malformed_messages_are_answered_and_the_session_goes_on() {
    let (folder, uri) = project();
    let mut client = Client::start();
    // Before `initialize`: a request is answered "not initialized".
    client.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "textDocument/codeAction", "params": {}}),
    );
    assert_eq!(client.receive()["error"]["code"], -32002);
    client.initialize(&[], folder.path());
    client.send_raw(b"Content-Length: 5\r\n\r\n{nope");
    let reply = client.receive();
    assert_eq!(
        (reply["id"].clone(), reply["error"]["code"].clone()),
        (Value::Null, json!(-32700))
    );
    client.send_raw(b"X-Not-A-Length: 3\r\n\r\n");
    assert_eq!(client.receive()["error"]["code"], -32700);
    client.send(json!({"jsonrpc": "2.0", "id": 4, "method": 12}));
    assert_eq!(client.receive()["error"]["code"], -32600);
    client
        .send(json!({"jsonrpc": "2.0", "id": 5, "method": "textDocument/codeAction", "params": 3}));
    assert_eq!(client.receive()["error"]["code"], -32602);
    // Notifications with wrong parameters are dropped, as JSON-RPC says.
    client.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"x": 1}}));
    client.send(json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": [1]}));
    // The pathological inputs the CLI survives (see `check.rs`), and a document of 4 MB:
    // nesting past what CPython accepts is its E999, the rest is checked.
    let classes: String = (1..10_000)
        .map(|i| format!("class C{i}(C{}): pass\n", i - 1))
        .collect();
    let pathological = [
        (
            format!(
                "x = {}model.forward(1){}\n",
                "f(".repeat(5_000),
                ")".repeat(5_000)
            ),
            "E999",
        ),
        (
            format!("y = model.forward(1){}\n", " + 1".repeat(200_000)),
            "NMF001",
        ),
        (
            format!("y = {}model.forward(1)\n", "-".repeat(200_000)),
            "E999",
        ),
        (
            format!(
                "import torch.nn as nn\nclass C0(nn.Module): pass\n{classes}C9999().forward(1)\n"
            ),
            "NMF001",
        ),
    ];
    for (version, (text, code)) in pathological.iter().enumerate() {
        client.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}}));
        let published = client.receive();
        assert_eq!(
            published["params"]["diagnostics"][0]["code"], *code,
            "{published}"
        );
    }
    let huge = "model.forward(x)\n".repeat(250_000);
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": huge}]}}),
    );
    // A file keeps its first 100,000 findings (`MAX_FINDINGS_PER_FILE`).
    let published = client.receive();
    assert_eq!(
        published["params"]["diagnostics"].as_array().map(Vec::len),
        Some(100_000)
    );
    shut_down(client);
}

/// What a burst guarantees whatever the threads' timing (the in-process tests hold the worker
/// to test what happens while a check waits): the cancelled request gets one answer, the
/// publications come in the order of the versions, and the last text is published last.
#[test]
fn a_burst_of_edits_ends_with_the_last_text_published_and_one_answer_per_request() {
    let (folder, uri) = project();
    let mut client = Client::start();
    client.initialize(&[], folder.path());
    // One write holds the opening, 30 edits, a request and its cancellation.
    let mut burst = Vec::new();
    let mut frame = |message: Value| {
        let body = message.to_string();
        burst.extend(format!("Content-Length: {}\r\n\r\n{body}", body.len()).into_bytes());
    };
    let big = "model.forward(x)\n".repeat(40_000);
    frame(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": big}}}),
    );
    frame(
        json!({"jsonrpc": "2.0", "id": 9, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
        "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}}),
    );
    frame(json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 9}}));
    for version in 2..=31 {
        frame(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": format!("model.forward({version})\n")}]}}),
        );
    }
    client.send_raw(&burst);
    let mut received = client.receive_until(|message| message["params"]["version"] == 31);
    client.send(json!({"jsonrpc": "2.0", "id": "bye", "method": "shutdown"}));
    received.extend(client.receive_until(|message| message["id"] == "bye"));
    let answers: Vec<&Value> = received
        .iter()
        .filter(|message| message["id"] == 9)
        .collect();
    assert_eq!(answers.len(), 1, "{answers:?}");
    assert!(
        answers[0]["error"]["code"] == -32800 || answers[0]["result"].is_array(),
        "{}",
        answers[0]
    );
    let versions: Vec<i64> = publishes_of(&received, &uri)
        .iter()
        .filter_map(|publish| publish["params"]["version"].as_i64())
        .collect();
    assert!(
        versions.windows(2).all(|pair| pair[0] < pair[1]),
        "{versions:?}"
    );
    assert_eq!(versions.last(), Some(&31));
    let last = publishes_of(&received, &uri).pop().expect("a publication");
    assert_eq!(
        last["params"]["diagnostics"].as_array().map(Vec::len),
        Some(1)
    );
    client.send(json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(client.exit_status(), Some(0));
}

#[test]
fn a_broken_configuration_is_shown_once_and_read_again_when_mended() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    std::fs::write(root.join("pyproject.toml"), "[tool.nmf]\nselect = 3\n").expect("write");
    let uri = |name: &str| format!("file://{}/{name}", root.display());
    let mut client = Client::start();
    client.send(
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "capabilities": {"workspace": {"didChangeWatchedFiles": {"dynamicRegistration": true}}},
        "rootUri": uri("")}}),
    );
    client.receive();
    client.send(json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    client.receive_until(|message| message["method"] == "client/registerCapability");
    client.open(&uri("a.py"), "m.forward(1)\n");
    let shown = client.receive();
    assert_eq!(shown["method"], "window/showMessage");
    assert_eq!(shown["params"]["type"], 1);
    let text = shown["params"]["message"].as_str().expect("a message");
    assert!(
        text.starts_with(&format!("nmf: {}/pyproject.toml", root.display())),
        "{text}"
    );
    // A second document: the same error is not shown again.
    client.open(&uri("b.py"), "m.forward(2)\n");
    std::fs::write(root.join("pyproject.toml"), "[tool.nmf]\n").expect("write");
    client.send(
        json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
        "changes": [{"uri": uri("pyproject.toml"), "type": 2}]}}),
    );
    let received = client.receive_until(|message| message["params"]["uri"] == uri("b.py").as_str());
    assert!(
        received
            .iter()
            .all(|message| message["method"] != "window/showMessage")
    );
    assert_eq!(codes(publishes_of(&received, &uri("a.py"))[0]), ["NMF001"]);
    shut_down(client);
}

#[test]
fn a_subclass_typed_in_another_buffer_re_checks_the_mixin_that_calls_forward() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    std::fs::write(root.join("pyproject.toml"), "").expect("write");
    let uri = |name: &str| format!("file://{}/{name}", root.display());
    let mixin = "class Mixin:\n    def forward(self, x):\n        return x\n\n    def run(self, x):\n        return self.forward(x)\n";
    std::fs::write(root.join("mixin.py"), mixin).expect("write");
    let mut client = Client::start();
    client.initialize(&[], root);
    // No class of the project makes a `Mixin` a module: nothing to report.
    assert_eq!(
        codes(&client.open(&uri("mixin.py"), mixin)),
        Vec::<String>::new()
    );
    let net = |bases: &str| {
        format!(
            "import torch.nn as nn\nfrom mixin import Mixin\n\n\nclass Net({bases}):\n    pass\n"
        )
    };
    // An unsaved file derives a module from it: the mixin's `self` may be a module.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri("net.py"), "languageId": "python", "version": 1,
        "text": net("Mixin, nn.Module")}}}),
    );
    let received =
        client.receive_until(|message| message["params"]["uri"] == uri("mixin.py").as_str());
    assert_eq!(codes(received.last().expect("mixin.py")), ["NMF001"]);
    // An edit in the body of `net.py` leaves its words alone: `mixin.py` is not checked again.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri("net.py"), "version": 2},
        "contentChanges": [{"text": net("Mixin, nn.Module").replace("pass", "print(1)  # edited")}]}}),
    );
    client.receive_until(|message| message["params"]["version"] == 2);
    // The class header loses `Mixin`: the mixin is no module's base any more.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri("net.py"), "version": 3},
        "contentChanges": [{"text": net("nn.Module")}]}}),
    );
    // Had the body edit re-checked `mixin.py`, its publication (still NMF001) would come first.
    let received =
        client.receive_until(|message| message["params"]["uri"] == uri("mixin.py").as_str());
    assert_eq!(
        codes(received.last().expect("mixin.py")),
        Vec::<String>::new()
    );
    shut_down(client);
}

/// A helper's finding comes from what a caller in another file passes it. The caller's
/// analysis is kept between checks: an edit of the caller, and an edit of a file that analysis
/// used (`unwrapping.py`, which says what `unwrap` returns; the caller's own text unchanged),
/// each check the helper again with a fresh analysis.
#[test]
fn edits_of_a_caller_in_another_file_and_of_what_it_used_re_check_the_helper() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    let write = |name: &str, text: &str| {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let helper = "from torch.nn.parallel import DistributedDataParallel as DDP\n\n\n\
                  def encode(encoder, batch):\n    return encoder(batch)\n";
    let caller = |argument: &str| {
        format!(
            "from lab.encode import encode\nfrom lab.unwrapping import unwrap\n\n\n\
             def train(accelerator, encoder, batch):\n    \
             encoder = accelerator.prepare(encoder)\n    \
             loss = encode({argument}, batch).sum()\n    accelerator.backward(loss)\n"
        )
    };
    let unwrapping = |returned: &str| format!("def unwrap(model):\n    return {returned}\n");
    write("pyproject.toml", "");
    write("lab/__init__.py", "");
    write("lab/encode.py", helper);
    write("lab/unwrapping.py", &unwrapping("model.module"));
    write("lab/train.py", &caller("unwrap(encoder)"));
    let uri = |name: &str| format!("file://{}/lab/{name}", root.display());
    let mut client = Client::start();
    client.initialize(&[], root);
    assert_eq!(codes(&client.open(&uri("encode.py"), helper)), ["NMF005"]);
    let open = |client: &mut Client, name: &str, text: &str| {
        client.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri(name), "languageId": "python", "version": 1,
            "text": text}}}),
        );
    };
    let change = |client: &mut Client, name: &str, version: i32, text: &str| {
        client.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri(name), "version": version},
            "contentChanges": [{"text": text}]}}),
        );
    };
    let helper_codes = |client: &mut Client| {
        let received =
            client.receive_until(|message| message["params"]["uri"] == uri("encode.py").as_str());
        codes(received.last().expect("encode.py"))
    };
    // The caller, edited unsaved, passes the wrapper itself.
    open(&mut client, "train.py", &caller("encoder"));
    assert_eq!(helper_codes(&mut client), Vec::<String>::new());
    // And the inner module again.
    change(&mut client, "train.py", 2, &caller("unwrap(encoder)"));
    assert_eq!(helper_codes(&mut client), ["NMF005"]);
    // `unwrap` hands the wrapper back: the caller's text is the same, its analysis is not.
    open(&mut client, "unwrapping.py", &unwrapping("model"));
    assert_eq!(helper_codes(&mut client), Vec::<String>::new());
    change(&mut client, "unwrapping.py", 2, &unwrapping("model.module"));
    assert_eq!(helper_codes(&mut client), ["NMF005"]);
    shut_down(client);
}

#[test]
fn unsaved_new_buffers_are_checked_and_other_languages_left_alone() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path();
    std::fs::write(
        root.join("pyproject.toml"),
        "[tool.nmf]\nper-file-ignores = { \"notes.py\" = [\"NMF001\"] }\n",
    )
    .expect("write");
    let mut client = Client::start();
    client.initialize(&[], root);
    // A Markdown file quoting a call: not Python, nothing is published for it.
    client.send(
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": format!("file://{}/README.md", root.display()),
        "languageId": "markdown", "version": 1, "text": "Never `model.forward(x)`.\n"}}}),
    );
    // A buffer never saved is checked with the workspace's configuration, under its name.
    let published = client.open("untitled:Untitled-1", "model.forward(x)\n");
    assert_eq!(published["params"]["uri"], "untitled:Untitled-1");
    assert_eq!(codes(&published), ["NMF001"]);
    let ignored = client.open("untitled:notes", "model.forward(x)\n");
    assert_eq!(codes(&ignored), Vec::<String>::new());
    // An untitled notebook too.
    client.send(
        json!({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
        "notebookDocument": {"uri": "untitled:Untitled-2.ipynb", "notebookType": "jupyter-notebook",
            "version": 1, "cells": [{"kind": 2, "document": "untitled:Untitled-2.ipynb#c1"}]},
        "cellTextDocuments": [{"uri": "untitled:Untitled-2.ipynb#c1", "languageId": "python",
            "version": 1, "text": "y = model.forward(x)\n"}]}}),
    );
    let cell = client.receive();
    assert_eq!(cell["params"]["uri"], "untitled:Untitled-2.ipynb#c1");
    assert_eq!(codes(&cell), ["NMF001"]);
    shut_down(client);
}

/// A number that is sometimes sensible and sometimes far out of range.
fn number(random: &mut Random) -> Value {
    match random.below(6) {
        0 => json!(-1),
        1 => json!(u32::MAX),
        2 => json!(1.5),
        _ => json!(random.below(8)),
    }
}

fn position(random: &mut Random) -> Value {
    json!({"line": number(random), "character": number(random)})
}

#[test]
fn random_messages_with_out_of_range_and_ill_typed_fields_never_crash_the_server() {
    let seed: u64 = std::env::var("NMF_SERVER_FUZZ_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(0x5eed_1234_abcd);
    let mut random = Random(seed);
    let (folder, _) = project();
    let root = folder.path();
    let mut client = Client::start();
    client.initialize(&["utf-16", "utf-8"], root);
    let files = ["a.py", "b.py", "pkg/__init__.py", "nb.ipynb"];
    let texts = [
        "import torch.nn as nn\nnet = nn.Linear(1, 1)\nnet.forward(1)\n",
        "s = \"\u{1F600}\u{e9}\"; m.forward(s)\r\nx = (\n",
        "",
        "\u{0}\u{1}garbage\n\n\n",
        "class A(Base):\n    def f(self):\n        return self.forward(1)\n",
    ];
    let cells = |random: &mut Random| {
        (0..random.below(4))
            .map(|n| json!({"kind": 1 + random.below(2), "document": format!("cell:{n}")}))
            .collect::<Vec<_>>()
    };
    for step in 0..400 {
        let file = random.pick(&files);
        let uri = format!("file://{}/{file}", root.display());
        let text = *random.pick(&texts);
        let message = match random.below(9) {
            0 => json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
                "textDocument": {"uri": uri, "languageId": "python", "version": step, "text": text}}}),
            1 | 2 => json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": step},
                "contentChanges": [{"range": {"start": position(&mut random), "end": position(&mut random)},
                                    "text": text}]}}),
            3 => json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
                "textDocument": {"uri": uri}}}),
            4 => {
                json!({"jsonrpc": "2.0", "id": step, "method": "textDocument/codeAction", "params": {
                "textDocument": {"uri": uri}, "range": {"start": position(&mut random), "end": position(&mut random)},
                "context": {"diagnostics": [{"range": {"start": position(&mut random), "end": position(&mut random)},
                    "message": "m", "source": "nmf", "code": *random.pick(&["NMF001", "E999", ""]),
                    "data": *random.pick(&[json!(null), json!({"title": "t", "safe": true, "edits": []}), json!([1])])}]}}})
            }
            5 => json!({"jsonrpc": "2.0", "method": "notebookDocument/didOpen", "params": {
                "notebookDocument": {"uri": uri, "notebookType": "jupyter-notebook", "version": 1,
                    "cells": cells(&mut random)},
                "cellTextDocuments": [{"uri": "cell:0", "languageId": "python", "version": 1, "text": text}]}}),
            6 => json!({"jsonrpc": "2.0", "method": "notebookDocument/didChange", "params": {
                "notebookDocument": {"uri": uri, "version": step},
                "change": {"cells": {
                    "structure": {"array": {"start": random.below(6), "deleteCount": random.below(6),
                        "cells": cells(&mut random)},
                        "didOpen": [{"uri": "cell:1", "languageId": "python", "version": 1, "text": text}],
                        "didClose": [{"uri": "cell:0"}]},
                    "textContent": [{"document": {"uri": "cell:1", "version": step},
                        "changes": [{"range": {"start": position(&mut random), "end": position(&mut random)},
                                     "text": text}]}]}}}}),
            7 => json!({"jsonrpc": "2.0", "method": "workspace/didChangeWatchedFiles", "params": {
                "changes": [{"uri": uri, "type": 1 + random.below(3)}]}}),
            _ => {
                json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": number(&mut random)}})
            }
        };
        client.send(message);
    }
    // Still serving: everything sent was taken in, and a request is answered.
    client.send(json!({"jsonrpc": "2.0", "id": "last", "method": "nmf/unknown"}));
    let received = client.receive_until(|message| message["id"] == "last");
    assert_eq!(
        received.last().expect("an answer")["error"]["code"],
        -32601,
        "seed {seed}"
    );
    shut_down(client);
}

/// Findings on a line of `\r`-only or `\r\n` endings are where they are on `\n` lines, as the
/// driver places them: the same ranges, fixes, `noqa` place and fix-all range.
#[test]
fn line_endings_of_every_kind_give_the_same_positions() {
    let mut seen: Vec<Value> = Vec::new();
    for ending in ["\n", "\r\n", "\r"] {
        let (folder, uri) = project();
        let text = SOURCE.replace('\n', ending);
        let mut client = Client::start();
        client.initialize(&["utf-16"], folder.path());
        let published = client.open(&uri, &text);
        let diagnostics = published["params"]["diagnostics"].clone();
        client.send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
            "textDocument": {"uri": uri}, "range": diagnostics[0]["range"],
            "context": {"diagnostics": diagnostics}}}),
        );
        let mut actions = client.receive()["result"].clone();
        let fixed = actions[2]["edit"]["changes"][&uri][0]["newText"]
            .as_str()
            .expect("fixed text")
            .to_string();
        assert_eq!(
            fixed,
            text.replace("net.forward(s)", "net(s)"),
            "{ending:?}"
        );
        actions[2]["edit"]["changes"][&uri][0]["newText"] = json!("[fixed]");
        let titles: Vec<&str> = actions
            .as_array()
            .expect("actions")
            .iter()
            .filter_map(|action| action["title"].as_str())
            .collect();
        assert_eq!(titles.len(), 3, "{ending:?}: {titles:?}");
        seen.push(json!({"diagnostics": diagnostics, "actions": actions}));
        shut_down(client);
    }
    assert_eq!(seen[0]["diagnostics"], seen[1]["diagnostics"]);
    assert_eq!(seen[0]["diagnostics"], seen[2]["diagnostics"]);
    assert_eq!(
        seen[0]["diagnostics"][0]["range"],
        json!({"start": {"line": 9, "character": 11}, "end": {"line": 9, "character": 22}})
    );
    for other in &seen[1..] {
        for index in 0..3 {
            let edits = |actions: &Value| {
                actions[index]["edit"]["changes"]
                    .as_object()
                    .and_then(|changes| changes.values().next().cloned())
            };
            assert_eq!(edits(&seen[0]["actions"]), edits(&other["actions"]));
        }
    }
}

/// Applies single-line edits (UTF-8 positions) to `text`, as an editor would.
fn apply_edits(text: &str, edits: &Value) -> String {
    let mut edits: Vec<&Value> = edits.as_array().expect("edits").iter().collect();
    edits.sort_by_key(|edit| {
        let start = &edit["range"]["start"];
        std::cmp::Reverse((start["line"].as_u64(), start["character"].as_u64()))
    });
    let mut lines: Vec<String> = text.split('\n').map(str::to_string).collect();
    for edit in edits {
        let start = &edit["range"]["start"];
        let end = &edit["range"]["end"];
        assert_eq!(start["line"], end["line"], "a single-line edit");
        let line = &mut lines[start["line"].as_u64().expect("a line") as usize];
        let from = start["character"].as_u64().expect("a column") as usize;
        let to = end["character"].as_u64().expect("a column") as usize;
        line.replace_range(from..to, edit["newText"].as_str().expect("text"));
    }
    lines.join("\n")
}

/// "Disable NMF001 for this line" extends the line's own directive, whatever its case, keeps
/// other comments after it, and puts a new one after a continued line: the finding is gone.
#[test]
fn disabling_a_line_extends_its_noqa_where_it_is_read() {
    let prefix = "import torch.nn as nn\nnet = nn.Linear(1, 1)\n";
    for (line, expected) in [
        (
            "net.forward(1)  # NOQA:E501\n",
            "net.forward(1)  # NOQA:E501, NMF001\n",
        ),
        (
            "net.forward(1)  # noqa: E501  # type: ignore\n",
            "net.forward(1)  # noqa: E501, NMF001  # type: ignore\n",
        ),
        (
            "y = net.forward(1) + \\\n    2\n",
            "y = net.forward(1) + \\\n    2  # noqa: NMF001\n",
        ),
    ] {
        let (folder, uri) = project();
        let text = format!("{prefix}{line}");
        let mut client = Client::start();
        client.initialize(&["utf-8"], folder.path());
        let published = client.open(&uri, &text);
        let diagnostics = published["params"]["diagnostics"].clone();
        assert_eq!(codes(&published), ["NMF001"], "{line:?}");
        client.send(
            json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
            "textDocument": {"uri": uri}, "range": diagnostics[0]["range"],
            "context": {"diagnostics": diagnostics, "only": ["quickfix"]}}}),
        );
        let reply = client.receive();
        let disable = reply["result"]
            .as_array()
            .expect("actions")
            .iter()
            .find(|action| action["title"] == "Disable NMF001 for this line")
            .cloned()
            .expect("the action is offered");
        let disabled = apply_edits(&text, &disable["edit"]["changes"][&uri]);
        assert_eq!(disabled, format!("{prefix}{expected}"));
        client.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": 2}, "contentChanges": [{"text": disabled}]}}),
        );
        assert_eq!(
            client.receive()["params"]["diagnostics"],
            json!([]),
            "{line:?}"
        );
        shut_down(client);
    }
}

/// 20,000 findings on one line of 260 KB, in UTF-16, take about as long as 20,000 findings on
/// as many lines: each position is converted from one index of the text, not by scanning its
/// line (which took seconds per change). Compared, so that a busy machine does not fail it.
#[test]
fn many_findings_on_one_line_take_as_long_as_on_many_lines() {
    let (folder, uri) = project();
    let mut client = Client::start();
    client.initialize(&["utf-16"], folder.path());
    let mut publish = |version: i32, text: String| {
        client.send(json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}}}));
        let started = std::time::Instant::now();
        let published = client.receive();
        (started.elapsed(), published)
    };
    let (many_lines, _) = publish(1, "s = \"\u{e9}\"\nm.forward(1)\n".repeat(20_000));
    let (one_line, published) = publish(
        2,
        format!("s = \"\u{e9}\"; {}\n", "m.forward(1);".repeat(20_000)),
    );
    let diagnostics = published["params"]["diagnostics"]
        .as_array()
        .expect("a list");
    assert_eq!(diagnostics.len(), 20_000);
    assert_eq!(
        diagnostics[19_999]["range"]["start"],
        json!({"line": 0, "character": 9 + 13 * 19_999})
    );
    eprintln!("20,000 findings: on one line {one_line:?}, on as many lines {many_lines:?}");
    assert!(
        one_line < many_lines * 4 + std::time::Duration::from_secs(1),
        "one line {one_line:?}, many lines {many_lines:?}"
    );
    shut_down(client);
}
