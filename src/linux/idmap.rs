//! Writing a user namespace's uid_map and gid_map. Done by the parent: the
//! child cannot map host IDs it does not own.

use crate::error::{Error, Result};
use crate::spec::config::IdMapping;

pub fn format(maps: &[IdMapping]) -> String {
    maps.iter()
        .map(|m| format!("{} {} {}\n", m.container_id, m.host_id, m.size))
        .collect()
}

pub fn write(pid: i32, file: &str, maps: &[IdMapping]) -> Result<()> {
    let path = format!("/proc/{pid}/{file}");
    let text = format(maps);
    std::fs::write(&path, &text)
        .map_err(|e| Error::from(e).context(format!("write {:?} to {path}", text.trim_end())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let m = [
            IdMapping {
                container_id: 0,
                host_id: 1000,
                size: 1,
            },
            IdMapping {
                container_id: 1,
                host_id: 100000,
                size: 65536,
            },
        ];
        assert_eq!(format(&m), "0 1000 1\n1 100000 65536\n");
    }
}
