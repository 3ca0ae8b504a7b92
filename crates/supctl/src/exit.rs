//! supctl's exit codes, the one place they are defined (DESIGN.md, "Exit codes"). Every
//! failure also prints one line saying why.

/// The command did what was asked.
pub const SUCCESS: u8 = 0;
/// The action failed: a program did not start, a wait gave up, a reload was refused.
pub const FAILED: u8 = 1;
/// Bad arguments, an unknown command or an unknown program name.
pub const USAGE: u8 = 2;
/// `status`, `pid`: not every program shown is up.
pub const NOT_UP: u8 = 3;
/// supd cannot be reached: no socket, refused, permission denied.
pub const UNREACHABLE: u8 = 4;
