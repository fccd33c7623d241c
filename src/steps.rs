//! Named steps. Each kernel-facing stage of create is one call to [`step`]:
//! a `tracing` span with a stable name (for logs, timings and --explain)
//! and an error that says which step failed.

use std::fmt::Display;

use crate::error::Result;

/// Run `f` as the step `name`. `what` says what it acts on, for a reader:
/// the syscall and its key arguments ("pivot_root(/b/rootfs)").
pub fn step<T>(name: &'static str, what: impl Display, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let span = tracing::debug_span!("step", step = name, what = %what);
    let _enter = span.enter();
    f().map_err(|e| e.context(format_args!("step {name:?} ({what})")))
}
