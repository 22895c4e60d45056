//! The `roundtable` binary: parses the command line and hands over to [`roundtable::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    roundtable::cli::main()
}
