//! One file per subcommand; each is thin and leans on container/ and spawn/.

mod create;
mod delete;
mod kill;
mod list;
mod run;
mod start;
mod state;

use crate::cli::{Cli, Command};
use crate::error::Result;

/// Run the command; Ok carries the exit code.
pub fn dispatch(cli: &Cli) -> Result<i32> {
    let g = &cli.global;
    match &cli.command {
        Command::Create(a) => create::run(g, a).map(|_| 0),
        Command::Start(a) => start::run(g, &a.id).map(|_| 0),
        Command::State(a) => state::run(g, &a.id).map(|_| 0),
        Command::Kill(a) => kill::run(g, a).map(|_| 0),
        Command::Delete(a) => delete::run(g, a).map(|_| 0),
        Command::Run(a) => run::run(g, a),
        Command::List(a) => list::run(g, a).map(|_| 0),
    }
}
