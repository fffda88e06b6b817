//! Documents as the editor holds them: positions in the negotiated encoding, edits to texts,
//! the files URIs name, and notebooks made of cells.

pub mod notebook;
pub mod position;
pub mod text;
pub mod uri;

pub use position::{Encoding, PositionIndex};
