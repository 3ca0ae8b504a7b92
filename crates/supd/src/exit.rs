//! supd's exit codes, the one place they are defined (DESIGN.md, "Exit codes"). A
//! `critical` program that fails for good makes supd exit with that program's own code
//! (128 + N when it died of signal N) instead.

/// A requested shutdown (signal or `supctl shutdown`), even when some programs had to be
/// killed; `check`: no problem; `import`: converted.
pub const SUCCESS: i32 = 0;
/// Something failed inside supd (not the user's doing): a signal handler, a write to stdout.
pub const INTERNAL: i32 = 1;
/// A config or usage error: bad arguments, a config with problems, a user that cannot be
/// used, another supd already on the socket.
pub const USAGE: i32 = 2;
/// `supd exec`: the command exists but cannot be executed (as a shell says).
pub const CANNOT_EXECUTE: i32 = 126;
/// `supd exec`: the command is not found (as a shell says).
pub const NOT_FOUND: i32 = 127;
