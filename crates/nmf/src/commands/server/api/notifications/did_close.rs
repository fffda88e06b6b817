use lsp_types::DidCloseTextDocumentParams;

use crate::commands::server::api::diagnostics::publish;
use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: DidCloseTextDocumentParams) -> Vec<Outgoing> {
    let uri = params.text_document.uri;
    session.close_document(uri.as_str());
    // A closed document's findings go away with it.
    vec![publish(uri, Vec::new(), None)]
}
