//! The protocol in process: the server's loop on one thread, a client on pipes on another.

use std::io::{BufReader, Write};

use serde_json::{Value, json};

use super::serve;
use super::transport::{Frame, Transport, read_frame};

struct Session {
    to_server: std::io::PipeWriter,
    from_server: BufReader<std::io::PipeReader>,
    server: std::thread::JoinHandle<u8>,
}

impl Session {
    fn start() -> Self {
        let (server_input, to_server) = std::io::pipe().expect("a pipe");
        let (from_server, server_output) = std::io::pipe().expect("a pipe");
        let server = std::thread::spawn(move || {
            let transport = Transport::new(BufReader::new(server_input), server_output);
            let status = serve(&transport).unwrap_or(2);
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
