//! A client that drives `nmf server` over stdio as an editor does: framed JSON-RPC in, framed
//! out, with a watchdog that kills a server that stops answering.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc::{RecvTimeoutError, Sender, channel};
use std::sync::{Arc, Mutex, PoisonError};

use serde_json::{Value, json};

use super::HANG_TIMEOUT;

pub struct Client {
    /// Shared with the watchdog, which kills it through this handle: never by a process id,
    /// which another process may have by then.
    child: Arc<Mutex<Child>>,
    input: ChildStdin,
    output: BufReader<ChildStdout>,
    /// Dropped when the client is: the watchdog then ends.
    _alive: Sender<()>,
}

impl Client {
    pub fn start() -> Self {
        Self::start_with_cache(None)
    }

    /// A server whose cache folder is `cache_dir` (`NMF_CACHE_DIR`), or the default.
    pub fn start_with_cache(cache_dir: Option<&std::path::Path>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_nmf"));
        match cache_dir {
            Some(dir) => command.env("NMF_CACHE_DIR", dir),
            None => command.env_remove("NMF_CACHE_DIR"),
        };
        let mut child = command
            .arg("server")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("nmf server starts");
        let input = child.stdin.take().expect("stdin");
        let output = BufReader::new(child.stdout.take().expect("stdout"));
        let child = Arc::new(Mutex::new(child));
        // A server that stops answering fails the test (its output ends) instead of hanging it.
        let (alive, watched) = channel::<()>();
        let watchdog = child.clone();
        std::thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = watched.recv_timeout(HANG_TIMEOUT) {
                let _ = lock(&watchdog).kill();
            }
        });
        Self {
            child,
            input,
            output,
            _alive: alive,
        }
    }

    pub fn send(&mut self, message: Value) {
        let body = message.to_string();
        write!(self.input, "Content-Length: {}\r\n\r\n{body}", body.len()).expect("write");
        self.input.flush().expect("flush");
    }

    pub fn send_raw(&mut self, bytes: &[u8]) {
        self.input.write_all(bytes).expect("write");
        self.input.flush().expect("flush");
    }

    /// Messages until one that `last` accepts, that one included.
    pub fn receive_until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let mut received = Vec::new();
        loop {
            let message = self.receive();
            let done = last(&message);
            received.push(message);
            if done {
                return received;
            }
        }
    }

    pub fn receive(&mut self) -> Value {
        let mut length = 0;
        loop {
            let mut line = String::new();
            let read = self.output.read_line(&mut line).expect("a header");
            assert!(read > 0, "the server closed its output");
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

    pub fn initialize(&mut self, encodings: &[&str], root: &std::path::Path) -> Value {
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

    pub fn open(&mut self, uri: &str, text: &str) -> Value {
        self.send(
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
            "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}}),
        );
        self.receive()
    }

    /// The server's exit status, once it exits (or the watchdog kills it).
    pub fn exit_status(self) -> Option<i32> {
        drop(self.input);
        loop {
            // Polled, so that the watchdog can take the lock to kill it meanwhile.
            let status: Option<ExitStatus> = lock(&self.child).try_wait().expect("waits");
            if let Some(status) = status {
                return status.code();
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}

fn lock(child: &Mutex<Child>) -> std::sync::MutexGuard<'_, Child> {
    child.lock().unwrap_or_else(PoisonError::into_inner)
}
