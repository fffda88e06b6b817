//! JSON-RPC framed as LSP frames it (`Content-Length` headers) over standard input and output.
//!
//! Forgiving where `lsp_server`'s own reader is not: that reader ends the session at the first
//! body that is not a JSON-RPC message. Here a body that is not JSON is answered with a parse
//! error, a JSON value that is not a message with an invalid-request error (to its `id` when
//! it has one), a frame without a length is skipped, and the session goes on.

use std::io::{self, BufRead, Read, Write};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;

use lsp_server::{ErrorCode, Message};
use serde_json::{Value, json};

use super::main_loop::Event;

/// A body longer than this is read and dropped unparsed: no editor sends one, and holding it
/// would exhaust memory.
const MAX_BODY: usize = 512 * 1024 * 1024;

/// A header line longer than this is not a header.
const MAX_HEADER_LINE: u64 = 64 * 1024;

/// What goes to the client: a message, or an error answer that `lsp_server` cannot express
/// (its ids cannot be `null`).
pub enum Outgoing {
    Message(Message),
    Raw(Value),
    /// A message already serialised.
    Text(String),
    /// Everything before was written: the writer ends.
    End,
}

/// The two ends the server uses, and the threads that serve them. The client's messages come
/// as [`Event`]s, in the channel the worker also tells of its jobs' ends.
pub struct Transport {
    pub receiver: Receiver<Event>,
    /// Where the worker sends its events.
    pub events: Sender<Event>,
    pub sender: Sender<Outgoing>,
    reader: JoinHandle<()>,
    writer: JoinHandle<io::Result<()>>,
}

impl Transport {
    pub fn stdio() -> Self {
        Self::new(io::BufReader::new(io::stdin()), io::stdout())
    }

    pub fn new(input: impl BufRead + Send + 'static, output: impl Write + Send + 'static) -> Self {
        let (events, receiver) = channel();
        let (sender, to_client) = channel::<Outgoing>();
        let answers = sender.clone();
        let to_server = events.clone();
        let reader = std::thread::spawn(move || read_messages(input, &to_server, &answers));
        let writer = std::thread::spawn(move || write_messages(output, &to_client));
        Self {
            receiver,
            events,
            sender,
            reader,
            writer,
        }
    }

    pub fn send_out(&self, outgoing: Outgoing) {
        // As `send`: nothing is left to tell a client that closed its end.
        let _ = self.sender.send(outgoing);
    }

    pub fn send(&self, message: impl Into<Message>) {
        // The writer is gone only when the client closed its end: nothing is left to tell.
        let _ = self.sender.send(Outgoing::Message(message.into()));
    }

    /// Waits for everything sent to be written. The reader is left to end with the input (or
    /// the process): it may be blocked reading a client that keeps its end open.
    pub fn finish(self) -> io::Result<()> {
        let _ = self.sender.send(Outgoing::End);
        drop(self.reader);
        self.writer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")))
    }
}

fn write_messages(output: impl Write, outgoing: &Receiver<Outgoing>) -> io::Result<()> {
    let mut output = io::BufWriter::new(output);
    for message in outgoing {
        match message {
            Outgoing::Message(message) => message.write(&mut output)?,
            Outgoing::Raw(value) => write_text(&mut output, &value.to_string())?,
            Outgoing::Text(text) => write_text(&mut output, &text)?,
            Outgoing::End => break,
        }
    }
    output.flush()
}

fn write_text(output: &mut impl Write, text: &str) -> io::Result<()> {
    write!(output, "Content-Length: {}\r\n\r\n{text}", text.len())?;
    output.flush()
}

fn read_messages(mut input: impl BufRead, to_server: &Sender<Event>, answers: &Sender<Outgoing>) {
    loop {
        let frame = match read_frame(&mut input) {
            Ok(Some(frame)) => frame,
            Ok(None) | Err(_) => {
                let _ = to_server.send(Event::ClientGone);
                return;
            }
        };
        let decoded = match frame {
            Frame::Body(body) => decode(&body),
            Frame::Malformed(reason) => {
                Err(Some(error(Value::Null, ErrorCode::ParseError, &reason)))
            }
        };
        match decoded {
            Ok(message) => {
                if to_server.send(Event::Client(message)).is_err() {
                    return;
                }
            }
            Err(Some(answer)) => {
                let _ = answers.send(Outgoing::Raw(answer));
            }
            Err(None) => {}
        }
    }
}

pub(super) enum Frame {
    Body(Vec<u8>),
    Malformed(String),
}

/// The next frame; `None` at the end of the input.
pub(super) fn read_frame(input: &mut impl BufRead) -> io::Result<Option<Frame>> {
    let mut length: Option<Result<usize, String>> = None;
    let mut saw_header = false;
    loop {
        let mut line = Vec::new();
        input
            .by_ref()
            .take(MAX_HEADER_LINE)
            .read_until(b'\n', &mut line)?;
        if line.is_empty() {
            return Ok(None);
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if !saw_header {
                // A stray line break between frames.
                continue;
            }
            break;
        }
        saw_header = true;
        if let Some((name, value)) = text.split_once(':')
            && name.trim().eq_ignore_ascii_case("content-length")
        {
            let value = value.trim();
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("`Content-Length: {value}` is not a length")),
            );
        }
    }
    let length = match length {
        Some(Ok(length)) => length,
        Some(Err(reason)) => return Ok(Some(Frame::Malformed(reason))),
        None => {
            return Ok(Some(Frame::Malformed(
                "a message without a Content-Length header".to_string(),
            )));
        }
    };
    if length > MAX_BODY {
        let read = io::copy(&mut input.by_ref().take(length as u64), &mut io::sink())?;
        if read < length as u64 {
            return Ok(None);
        }
        return Ok(Some(Frame::Malformed(format!(
            "a message of {length} bytes is larger than nmf reads ({MAX_BODY})"
        ))));
    }
    let mut body = Vec::new();
    input.by_ref().take(length as u64).read_to_end(&mut body)?;
    if body.len() < length {
        // The input ended inside the body.
        return Ok(None);
    }
    Ok(Some(Frame::Body(body)))
}

/// The message a body holds, or the answer it deserves (`None`: a malformed notification,
/// which JSON-RPC never answers).
fn decode(body: &[u8]) -> Result<Message, Option<Value>> {
    let value: Value = serde_json::from_slice(body).map_err(|problem| {
        Some(error(
            Value::Null,
            ErrorCode::ParseError,
            &format!("the message is not JSON: {problem}"),
        ))
    })?;
    if !value.is_object() {
        // serde would read an array as a struct's fields in order.
        return Err(Some(error(
            Value::Null,
            ErrorCode::InvalidRequest,
            "a JSON-RPC message is an object",
        )));
    }
    let id = value
        .get("id")
        .filter(|id| id.is_string() || id.is_i64() || id.is_u64())
        .cloned();
    let invalid = |problem: String| {
        Some(error(
            id.clone().unwrap_or(Value::Null),
            ErrorCode::InvalidRequest,
            &format!("not a JSON-RPC message: {problem}"),
        ))
    };
    // Told apart by their members, not by serde trying each shape: a malformed request must
    // not pass for a response.
    let has = |member: &str| value.get(member).is_some();
    if has("method") {
        if !value["method"].is_string() {
            return Err(if has("id") {
                invalid("`method` is not a string".to_string())
            } else {
                None
            });
        }
        if has("id") {
            return serde_json::from_value::<lsp_server::Request>(value)
                .map(Message::Request)
                .map_err(|problem| invalid(problem.to_string()));
        }
        // A notification is never answered, even a malformed one.
        return serde_json::from_value::<lsp_server::Notification>(value)
            .map(Message::Notification)
            .map_err(|_| None);
    }
    if has("id") && (has("result") || has("error")) {
        return serde_json::from_value::<lsp_server::Response>(value)
            .map(Message::Response)
            .map_err(|_| None);
    }
    Err(invalid(
        "neither a request, a notification nor a response".to_string(),
    ))
}

fn error(id: Value, code: ErrorCode, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code as i32, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &str) -> Vec<String> {
        let mut reader = io::BufReader::new(input.as_bytes());
        let mut found = Vec::new();
        while let Some(frame) = read_frame(&mut reader).expect("reads") {
            found.push(match frame {
                Frame::Body(body) => String::from_utf8(body).expect("UTF-8"),
                Frame::Malformed(reason) => format!("malformed: {reason}"),
            });
        }
        found
    }

    #[test]
    fn frames_are_read_whatever_the_header_case_and_order() {
        assert_eq!(
            frames("content-length: 2\r\nContent-Type: x\r\n\r\n{}Content-Length:1\r\n\r\n1"),
            ["{}", "1"]
        );
    }

    #[test]
    fn a_frame_without_a_length_is_reported_and_the_next_one_read() {
        assert_eq!(
            frames("X-Foo: 1\r\n\r\nContent-Length: 2\r\n\r\n[]"),
            ["malformed: a message without a Content-Length header", "[]"]
        );
        assert_eq!(
            frames("Content-Length: -4\r\n\r\n"),
            ["malformed: `Content-Length: -4` is not a length"]
        );
    }

    #[test]
    fn a_body_cut_short_ends_the_input() {
        assert!(frames("Content-Length: 10\r\n\r\n{}").is_empty());
    }

    #[test]
    fn what_is_not_a_message_gets_the_json_rpc_error_it_deserves() {
        let code = |body: &str| match decode(body.as_bytes()) {
            Ok(_) => None,
            Err(answer) => {
                Some(answer.map(|answer| (answer["id"].clone(), answer["error"]["code"].clone())))
            }
        };
        assert_eq!(code("{nope"), Some(Some((Value::Null, json!(-32700)))));
        assert_eq!(code("[1, 2]"), Some(Some((Value::Null, json!(-32600)))));
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 7, "method": 3}"#),
            Some(Some((json!(7), json!(-32600))))
        );
        // A notification is never answered, even a malformed one.
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": [1], "method": "x"}"#),
            Some(Some((Value::Null, json!(-32600))))
        );
        assert_eq!(code(r#"{"jsonrpc": "2.0", "method": 5}"#), Some(None));
        assert_eq!(
            code(r#"{"jsonrpc": "2.0", "id": 3}"#),
            Some(Some((json!(3), json!(-32600))))
        );
        assert_eq!(code(r#"{"jsonrpc": "2.0", "id": 1, "method": "x"}"#), None);
    }
}
