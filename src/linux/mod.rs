//! One thin, safe wrapper per kernel concern.

pub mod capabilities;
pub mod copyup;
pub mod devices;
pub mod dmz;
pub mod exec;
pub mod fds;
pub mod host_mounts;
pub mod identity;
pub mod idmap;
pub mod libseccomp;
pub mod lsm;
pub mod mount_options;
pub mod mounts;
pub mod namespaces;
pub mod proc;
pub mod process_attrs;
pub mod rlimits;
pub mod rootfs;
pub mod seccomp;
pub mod signal;
pub mod tty;
pub mod uts;
