//! Making the container's init: one clone3 with every new namespace, the
//! fewest round trips between husk and the child, and the init's steps.

pub mod clone;
pub mod exec;
pub mod init;
pub mod parent;
pub mod process;
pub mod sync;
pub mod terminal;

pub use parent::{Init, SpawnOptions, spawn};
