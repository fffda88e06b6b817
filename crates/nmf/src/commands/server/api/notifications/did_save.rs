use crate::commands::server::session::Session;
use crate::commands::server::transport::Outgoing;

/// Without watched files, a save is when the disk is looked at again.
pub fn handle(session: &mut Session) -> Vec<Outgoing> {
    if !session.capabilities.watches_files {
        session.renew_index();
        session.mark_all_stale();
        session.disk_changed();
    }
    Vec::new()
}
