use lsp_types::DidChangeTextDocumentParams;

use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: DidChangeTextDocumentParams) -> Vec<Outgoing> {
    let document = params.text_document;
    session.edit_document(
        document.uri.as_str(),
        document.version,
        params.content_changes,
        None,
    );
    Vec::new()
}
