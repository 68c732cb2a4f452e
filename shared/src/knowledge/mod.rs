//! Knowledge repositories and their items: who may see and change them, and the rules an
//! upload must follow before anything touches storage.

pub mod items;
pub mod repositories;

pub use items::{Item, ItemKind, NewItem, ObjectKey};
pub use repositories::{Access, NewRepository, Repository};
