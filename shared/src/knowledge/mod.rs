//! Knowledge repositories and their items: who may see and change them, and the rules an
//! upload must follow before anything touches storage.

pub mod items;
pub mod object_key;
pub mod repositories;

pub use items::{Item, ItemKind, NewItem};
pub use object_key::{ObjectKey, form_decode, safe_file_name};
pub use repositories::{Access, NewRepository, Repository};
