use lsp_types::DidCloseNotebookDocumentParams;

use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: &DidCloseNotebookDocumentParams) -> Vec<Outgoing> {
    session.close_notebook(params.notebook_document.uri.as_str())
}
