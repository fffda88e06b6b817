//! A document's diagnostics as the client gets them, pushed or pulled.
//!
//! A [`Report`] is serialised once, on the worker, and named by a hash of that text: its
//! result id. The same findings always get the same id, so a client that asks again with the
//! id it holds is told `unchanged` whatever happened in between, and what was published or
//! answered last for a document can be compared with what it is now without comparing
//! diagnostics. The messages that carry reports are written as text: going through
//! `serde_json::Value` cost most of the time of a document with thousands of findings.

use std::sync::Arc;

use lsp_server::{Notification, RequestId};
use lsp_types::notification::{Notification as _, PublishDiagnostics};
use lsp_types::{Diagnostic, PublishDiagnosticsParams};
use serde::Serialize;
use serde_json::value::RawValue;

use crate::commands::server::transport::Outgoing;

/// Diagnostics, serialised, with their result id.
#[derive(Debug, Clone)]
pub struct Report {
    pub id: Arc<str>,
    items: Arc<RawValue>,
    /// How many diagnostics it holds.
    pub count: usize,
}

impl PartialEq for Report {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}

impl Report {
    pub fn of(diagnostics: &[Diagnostic]) -> Self {
        // Diagnostics hold no map keyed by anything but strings: serialising them cannot fail.
        let items = serde_json::value::to_raw_value(diagnostics).unwrap_or_default();
        let id = format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(items.get().as_bytes())
        );
        Self {
            id: Arc::from(id),
            items: Arc::from(items),
            count: diagnostics.len(),
        }
    }

    /// No diagnostics.
    pub fn empty() -> Self {
        Self::of(&[])
    }

    /// A `textDocument/publishDiagnostics` notification of this report.
    pub fn publish(&self, uri: &str, version: Option<i32>) -> Outgoing {
        #[derive(Serialize)]
        struct Params<'a> {
            uri: &'a str,
            diagnostics: &'a RawValue,
            #[serde(skip_serializing_if = "Option::is_none")]
            version: Option<i32>,
        }
        let params = Params {
            uri,
            diagnostics: &self.items,
            version,
        };
        frame(
            &Framed {
                jsonrpc: "2.0",
                method: Some(PublishDiagnostics::METHOD),
                id: None,
                params: Some(&params),
                result: None::<()>,
            },
            || {
                let params = PublishDiagnosticsParams {
                    uri: uri.parse().ok()?,
                    diagnostics: serde_json::from_str(self.items.get()).ok()?,
                    version,
                };
                Some(Notification::new(PublishDiagnostics::METHOD.to_string(), params).into())
            },
        )
    }

    /// This report as a document pull answers it: `unchanged` when the client holds it.
    pub fn answer<'a>(&'a self, previous: Option<&str>) -> DocumentReport<'a> {
        if previous == Some(&*self.id) {
            DocumentReport {
                kind: "unchanged",
                result_id: &self.id,
                items: None,
            }
        } else {
            DocumentReport {
                kind: "full",
                result_id: &self.id,
                items: Some(&self.items),
            }
        }
    }
}

/// A `DocumentDiagnosticReport`: `full` with its items, or `unchanged`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentReport<'a> {
    kind: &'static str,
    result_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<&'a RawValue>,
}

/// A `WorkspaceDocumentDiagnosticReport`: a document's report, its URI and version.
#[derive(Serialize)]
pub struct WorkspaceReport<'a> {
    #[serde(flatten)]
    pub report: DocumentReport<'a>,
    pub uri: &'a str,
    /// `null` for a document that is not open.
    pub version: Option<i32>,
}

/// A `WorkspaceDiagnosticReport`.
#[derive(Serialize)]
pub struct WorkspaceAnswer<'a> {
    pub items: Vec<WorkspaceReport<'a>>,
}

#[derive(Serialize)]
struct Framed<'a, P: Serialize, R: Serialize> {
    jsonrpc: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a RequestId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    params: Option<&'a P>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<R>,
}

/// The answer to request `id`, serialised at once.
pub fn respond(id: &RequestId, result: impl Serialize) -> Outgoing {
    frame(
        &Framed::<(), _> {
            jsonrpc: "2.0",
            method: None,
            id: Some(id),
            params: None,
            result: Some(&result),
        },
        || {
            let result = serde_json::to_value(&result).ok()?;
            Some(lsp_server::Response::new_ok(id.clone(), result).into())
        },
    )
}

/// `message` as text; should that fail, the message `fallback` makes.
fn frame(
    message: &impl Serialize,
    fallback: impl FnOnce() -> Option<lsp_server::Message>,
) -> Outgoing {
    match serde_json::to_string(message) {
        Ok(text) => Outgoing::Text(text),
        Err(_) => fallback().map_or(Outgoing::End, Outgoing::Message),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lsp_types::{Position, Range};

    #[test]
    fn the_same_findings_have_the_same_id_and_an_answer_says_unchanged_to_who_holds_it() {
        let diagnostic = Diagnostic {
            range: Range::new(Position::new(1, 0), Position::new(1, 4)),
            message: "m".to_string(),
            ..Diagnostic::default()
        };
        let one = Report::of(std::slice::from_ref(&diagnostic));
        assert_eq!(one, Report::of(std::slice::from_ref(&diagnostic)));
        assert_ne!(one, Report::empty());
        let full = serde_json::to_value(one.answer(Some("another"))).expect("JSON");
        assert_eq!(full["kind"], "full");
        assert_eq!(full["items"][0]["message"], "m");
        let unchanged = serde_json::to_value(one.answer(Some(&one.id))).expect("JSON");
        assert_eq!(
            unchanged,
            serde_json::json!({"kind": "unchanged", "resultId": &*one.id})
        );
        let Outgoing::Text(text) = one.publish("file:///a.py", Some(3)) else {
            panic!("a published report is text");
        };
        let published: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        assert_eq!(published["params"]["version"], 3);
        assert_eq!(published["params"]["diagnostics"][0]["message"], "m");
    }
}
