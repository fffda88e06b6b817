use lsp_types::DidOpenNotebookDocumentParams;

use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: DidOpenNotebookDocumentParams) -> Vec<Outgoing> {
    session.open_notebook(params);
    Vec::new()
}
