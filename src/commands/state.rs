//! `husk state`: the runtime-spec state JSON, status read from the live
//! process.

use crate::cli::Global;
use crate::container::Container;
use crate::error::{Error, Result};

pub fn run(g: &Global, id: &str) -> Result<()> {
    let (c, st) = Container::open(&g.root, id)?;
    let status = c.status(&st);
    let out = serde_json::to_string_pretty(&st.public(status.as_str()))
        .map_err(|e| Error::msg(e.to_string()))?;
    super::say!("{out}");
    Ok(())
}
