use lsp_types::DidOpenTextDocumentParams;

use crate::commands::server::edit::uri::file_path;
use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

pub fn handle(session: &mut Session, params: DidOpenTextDocumentParams) -> Vec<Outgoing> {
    let item = params.text_document;
    let uri = item.uri.as_str();
    // Only Python: an editor may send every document it opens.
    let python = item.language_id == "python"
        || file_path(uri).is_some_and(|path| {
            path.extension()
                .is_some_and(|ext| ext == "py" || ext == "pyi")
        });
    if python {
        session.set_document(uri, item.text, item.version, None);
    }
    Vec::new()
}
