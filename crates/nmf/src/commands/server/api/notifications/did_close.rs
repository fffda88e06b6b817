use lsp_types::DidCloseTextDocumentParams;

use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: &DidCloseTextDocumentParams) -> Vec<Outgoing> {
    session.close_document(params.text_document.uri.as_str())
}
