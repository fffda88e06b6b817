use lsp_types::DidChangeNotebookDocumentParams;

use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: DidChangeNotebookDocumentParams) -> Vec<Outgoing> {
    session.change_notebook(params)
}
