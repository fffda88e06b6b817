//! The protocol in process: the server's loop on one thread, a client on pipes on another.
//! Here a test can hold the worker, so that what the server does while a check waits or runs
//! is tested whatever the threads' timing.

use std::io::{BufReader, Write};
use std::sync::mpsc::{Receiver, Sender, channel};

use serde_json::{Value, json};

use super::schedule::Hold;
use super::serve;
use super::transport::{Frame, Transport, read_frame};

struct Session {
    to_server: std::io::PipeWriter,
    from_server: BufReader<std::io::PipeReader>,
    server: std::thread::JoinHandle<u8>,
}

impl Session {
    fn start() -> Self {
        Self::start_with(None)
    }

    /// A session whose worker says when it has a job, and waits to be told to run it (or for
    /// the sender to be dropped).
    fn start_held() -> (Self, Receiver<()>, Sender<()>) {
        let (arrived, has_job) = channel();
        let (proceed, waiting) = channel();
        let hold = Hold {
            arrived,
            proceed: waiting,
        };
        (Self::start_with(Some(hold)), has_job, proceed)
    }

    /// A held session of a client that pulls, with `workspaceDiagnostics` on for the folder
    /// `root`, that has asked for the workspace's findings (request id 5).
    fn pull_workspace_held(root: &str) -> (Self, Receiver<()>, Sender<()>) {
        let (mut session, has_job, proceed) = Self::start_held();
        session.send(
            &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "capabilities": {"textDocument": {"diagnostic": {}}},
            "rootUri": format!("file://{root}"),
            "initializationOptions": {"workspaceDiagnostics": true}}}),
        );
        session.receive();
        session.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
        session.send(
            &json!({"jsonrpc": "2.0", "id": 5, "method": "workspace/diagnostic",
            "params": {"previousResultIds": []}}),
        );
        (session, has_job, proceed)
    }

    fn start_with(hold: Option<Hold>) -> Self {
        let (server_input, to_server) = std::io::pipe().expect("a pipe");
        let (from_server, server_output) = std::io::pipe().expect("a pipe");
        let server = std::thread::spawn(move || {
            let transport = Transport::new(BufReader::new(server_input), server_output);
            let status = serve(&transport, hold, None).unwrap_or(2);
            transport.finish().expect("everything written");
            status
        });
        Self {
            to_server,
            from_server: BufReader::new(from_server),
            server,
        }
    }

    fn send(&mut self, message: &Value) {
        let body = message.to_string();
        write!(
            self.to_server,
            "Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .expect("write");
    }

    /// The next message, read as the server reads its own input.
    fn receive(&mut self) -> Value {
        match read_frame(&mut self.from_server) {
            Ok(Some(Frame::Body(body))) => serde_json::from_slice(&body).expect("JSON"),
            _ => panic!("the server sent no message"),
        }
    }

    fn finish(self) -> u8 {
        drop(self.to_server);
        self.server.join().expect("the server thread ends")
    }
}

#[test]
fn initialize_open_code_action_shutdown_exit() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path().display().to_string();
    let uri = format!("file://{root}/model.py");
    let mut session = Session::start();
    session.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "capabilities": {"general": {"positionEncodings": ["utf-8"]}}, "rootUri": format!("file://{root}")}}));
    let initialized = session.receive();
    insta::assert_snapshot!(
        "initialize_result",
        serde_json::to_string_pretty(&initialized)
            .expect("JSON")
            .replace(env!("CARGO_PKG_VERSION"), "[VERSION]")
    );
    session.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let text = "import torch\n\nlayer = torch.nn.Linear(1, 1)\nlayer.forward(torch.ones(1))\n";
    session.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}}),
    );
    let published = session.receive();
    let diagnostics = published["params"]["diagnostics"].clone();
    assert_eq!(
        diagnostics[0]["range"]["start"],
        json!({"line": 3, "character": 0})
    );
    session.send(
        &json!({"jsonrpc": "2.0", "id": 2, "method": "textDocument/codeAction", "params": {
        "textDocument": {"uri": uri}, "range": diagnostics[0]["range"],
        "context": {"diagnostics": diagnostics, "only": ["quickfix"]}}}),
    );
    let actions = session.receive();
    insta::assert_snapshot!(
        "quick_fixes",
        serde_json::to_string_pretty(&actions["result"])
            .expect("JSON")
            .replace(&root, "[ROOT]")
    );
    session.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}));
    assert_eq!(
        session.receive(),
        json!({"jsonrpc": "2.0", "id": 3, "result": null})
    );
    // After `shutdown`, requests are refused.
    session.send(
        &json!({"jsonrpc": "2.0", "id": 4, "method": "textDocument/codeAction", "params": {}}),
    );
    assert_eq!(session.receive()["error"]["code"], -32600);
    session.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(session.finish(), 0);
}

#[test]
fn the_client_leaving_without_exit_ends_the_server_with_status_1() {
    let mut session = Session::start();
    session.send(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}}),
    );
    session.receive();
    assert_eq!(session.finish(), 1);
}

/// What the server sends until a message `last` accepts, that one included.
fn receive_until(session: &mut Session, last: impl Fn(&Value) -> bool) -> Vec<Value> {
    let mut received = Vec::new();
    loop {
        let message = session.receive();
        let done = last(&message);
        received.push(message);
        if done {
            return received;
        }
    }
}

fn initialize(session: &mut Session, root: &str) {
    session.send(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "capabilities": {}, "rootUri": format!("file://{root}")}}),
    );
    session.receive();
    session.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
}

/// While the check of an opened text waits on the worker, 30 edits, a request and its
/// cancellation arrive: the request is answered "cancelled" at once (its turn comes after the
/// check), the edits cancel the check, and only the last text is published.
#[test]
fn a_burst_of_edits_cancels_the_waiting_check_and_a_cancel_wins_over_its_request() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path().display().to_string();
    let uri = format!("file://{root}/a.py");
    let (mut session, has_job, proceed) = Session::start_held();
    initialize(&mut session, &root);
    session.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": uri, "languageId": "python", "version": 1,
        "text": "model.forward(x)\n".repeat(1_000)}}}),
    );
    // The check of version 1 is on the worker.
    has_job.recv().expect("a job");
    for version in 2..=31 {
        session.send(
            &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [{"text": format!("model.forward({version})\n")}]}}),
        );
    }
    session.send(
        &json!({"jsonrpc": "2.0", "id": 9, "method": "textDocument/codeAction",
        "params": {"textDocument": {"uri": uri}, "range": {"start": {"line": 0, "character": 0},
        "end": {"line": 0, "character": 0}}, "context": {"diagnostics": []}}}),
    );
    session.send(&json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 9}}));
    // Nothing was checked yet: the answer to the cancelled request is the first message, and
    // every message before it was handled.
    assert_eq!(
        session.receive(),
        json!({"jsonrpc": "2.0", "id": 9, "error": {"code": -32800, "message": "cancelled"}})
    );
    drop((proceed, has_job));
    let received = receive_until(&mut session, |message| message["params"]["version"] == 31);
    let versions: Vec<&Value> = received
        .iter()
        .map(|message| &message["params"]["version"])
        .collect();
    assert_eq!(versions, [&json!(31)]);
    assert_eq!(
        received[0]["params"]["diagnostics"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    session.send(&json!({"jsonrpc": "2.0", "id": 3, "method": "shutdown"}));
    // Request 9 gets no second answer.
    assert_eq!(
        session.receive(),
        json!({"jsonrpc": "2.0", "id": 3, "result": null})
    );
    session.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(session.finish(), 0);
}

/// A request is answered after the checks that were due when it arrived, never before: its
/// answer follows the publications of the documents edited before it.
#[test]
fn a_request_is_answered_after_the_checks_due_before_it() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path().display().to_string();
    let mut session = Session::start();
    initialize(&mut session, &root);
    for name in ["a", "b"] {
        session.send(
            &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": format!("file://{root}/{name}.py"), "languageId": "python",
            "version": 1, "text": "model.forward(x)\n"}}}),
        );
    }
    session.send(&json!({"jsonrpc": "2.0", "id": 5, "method": "nmf/unknown"}));
    let received = receive_until(&mut session, |message| message["id"] == 5);
    let order: Vec<String> = received
        .iter()
        .map(|message| {
            message["params"]["uri"]
                .as_str()
                .map_or_else(|| message["id"].to_string(), |uri| uri.replace(&root, ""))
        })
        .collect();
    assert_eq!(order, ["file:///a.py", "file:///b.py", "5"]);
    session.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(session.finish(), 1);
}

/// A check of the workspace gives way to what the user waits for: a document opened and
/// pulled while it waits on the worker cancels it; the document is checked and its pull
/// answered, then the workspace is checked again and its answer follows, with the open
/// buffer's report in it.
#[test]
fn a_workspace_check_gives_way_to_an_edit_and_the_pull_of_a_document() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path().display().to_string();
    let call = "import torch\n\nlayer = torch.nn.Linear(1, 1)\nlayer.forward(torch.ones(1))\n";
    std::fs::write(folder.path().join("pyproject.toml"), "").expect("write");
    std::fs::write(folder.path().join("a.py"), call).expect("write");
    let (mut session, has_job, proceed) = Session::pull_workspace_held(&root);
    // The workspace's check is on the worker.
    has_job.recv().expect("a job");
    let b = format!("file://{root}/b.py");
    session.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": b, "languageId": "python", "version": 7, "text": call}}}),
    );
    session.send(
        &json!({"jsonrpc": "2.0", "id": 6, "method": "textDocument/diagnostic",
        "params": {"textDocument": {"uri": b}}}),
    );
    // A request cancelled at once: its answer says every message before it was handled.
    session.send(&json!({"jsonrpc": "2.0", "id": 9, "method": "nmf/unknown"}));
    session.send(&json!({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": 9}}));
    assert_eq!(session.receive()["id"], 9);
    // The workspace's check ends cancelled; the next job is the document's check.
    proceed.send(()).expect("proceeds");
    has_job.recv().expect("the document's check");
    proceed.send(()).expect("proceeds");
    let pulled = session.receive();
    assert_eq!(pulled["id"], 6);
    assert_eq!(pulled["result"]["items"][0]["code"], "NMF001");
    // Then the workspace is checked again.
    has_job
        .recv_timeout(std::time::Duration::from_secs(60))
        .expect("the workspace's check, again");
    drop((proceed, has_job));
    let workspace = session.receive();
    assert_eq!(workspace["id"], 5);
    let mut reported: Vec<(String, Value)> = workspace["result"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|item| {
            let uri = item["uri"].as_str().unwrap_or_default().replace(&root, "");
            (uri, item["version"].clone())
        })
        .collect();
    reported.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        reported,
        [
            ("file:///a.py".to_string(), Value::Null),
            ("file:///b.py".to_string(), json!(7))
        ]
    );
    session.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(session.finish(), 1);
}

/// `shutdown` cancels the workspace's check; the workspace pull that waited on it is still
/// answered, from what is known (nothing yet), as every request before `shutdown` is.
#[test]
fn a_workspace_pull_waiting_at_shutdown_is_answered() {
    let folder = tempfile::tempdir().expect("a folder");
    let root = folder.path().display().to_string();
    std::fs::write(folder.path().join("pyproject.toml"), "").expect("write");
    std::fs::write(folder.path().join("a.py"), "layer.forward(1)\n").expect("write");
    let (mut session, has_job, proceed) = Session::pull_workspace_held(&root);
    // The workspace's check is on the worker when `shutdown` arrives.
    has_job.recv().expect("a job");
    session.send(&json!({"jsonrpc": "2.0", "id": 6, "method": "shutdown"}));
    proceed.send(()).expect("proceeds");
    // Once the check ended, `shutdown` is answered, then the pull; the server then exits
    // (an unanswered pull fails the test instead of hanging it).
    assert_eq!(
        session.receive(),
        json!({"jsonrpc": "2.0", "id": 6, "result": null})
    );
    session.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
    assert_eq!(
        session.receive(),
        json!({"jsonrpc": "2.0", "id": 5, "result": {"items": []}})
    );
    assert_eq!(session.finish(), 0);
}
