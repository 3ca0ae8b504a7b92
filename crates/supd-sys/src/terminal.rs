//! The terminal of an interactive client (`supctl top`): its size, keys read one at a time
//! without echo, and the signals that end or resize the view, all waited for in one `poll`.
//!
//! [`Terminal::open`] puts stdin (when it is a terminal) in cbreak mode: no line editing, no
//! echo, and Ctrl-C arrives as a key instead of a signal. SIGINT, SIGTERM, SIGHUP and
//! SIGWINCH are blocked and read from a signalfd instead of interrupting the program, so no
//! handler runs and the caller restores the screen whatever ended it. Dropping the
//! [`Terminal`] puts stdin's settings and the signal mask back.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd};
use std::time::Duration;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices, Termios};

/// What [`Terminal::wait`] saw first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// Bytes typed (a key, or the bytes of an escape sequence).
    Keys(Vec<u8>),
    /// The window changed size (SIGWINCH).
    Resized,
    /// SIGINT, SIGTERM or SIGHUP arrived, or the terminal closed: time to go.
    Ended,
    /// Nothing within the timeout.
    Timeout,
}

/// The controlling terminal in cbreak mode, and the signals that concern the view.
pub struct Terminal {
    /// stdin's settings before, when stdin is a terminal (else no keys are read).
    saved: Option<Termios>,
    signals: SignalFd,
    /// The signal mask before [`Terminal::open`] blocked the view's signals.
    mask: SigSet,
}

impl Terminal {
    /// Cbreak mode on stdin when it is a terminal, and the view's signals through a signalfd.
    pub fn open() -> io::Result<Terminal> {
        let mut watched = SigSet::empty();
        for signal in [
            Signal::SIGINT,
            Signal::SIGTERM,
            Signal::SIGHUP,
            Signal::SIGWINCH,
        ] {
            watched.add(signal);
        }
        let mask = watched.thread_swap_mask(SigmaskHow::SIG_BLOCK)?;
        let signals = match SignalFd::with_flags(&watched, SfdFlags::SFD_NONBLOCK) {
            Ok(fd) => fd,
            Err(e) => {
                let _ = mask.thread_set_mask();
                return Err(e.into());
            }
        };
        let stdin = io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        let terminal = Terminal {
            saved,
            signals,
            mask,
        };
        if let Some(saved) = &terminal.saved {
            let mut cbreak = saved.clone();
            cbreak.local_flags &= !(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG);
            cbreak.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
            cbreak.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &cbreak)?;
        }
        Ok(terminal)
    }

    /// Waits up to `timeout` for a key or a signal.
    pub fn wait(&mut self, timeout: Duration) -> io::Result<Input> {
        let stdin = io::stdin();
        let stdin = stdin.as_fd();
        let timeout = PollTimeout::try_from(timeout).unwrap_or(PollTimeout::MAX);
        let mut fds = vec![PollFd::new(self.signals.as_fd(), PollFlags::POLLIN)];
        if self.saved.is_some() {
            fds.push(PollFd::new(stdin, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(0) => return Ok(Input::Timeout),
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(Input::Timeout),
            Err(e) => return Err(e.into()),
        }
        let ready = |fd: &PollFd| fd.revents().is_some_and(|r| !r.is_empty());
        if ready(&fds[0]) {
            let mut ended = false;
            while let Ok(Some(info)) = self.signals.read_signal() {
                ended |= info.ssi_signo != Signal::SIGWINCH as u32;
            }
            return Ok(if ended { Input::Ended } else { Input::Resized });
        }
        let mut keys = [0u8; 64];
        match nix::unistd::read(stdin, &mut keys) {
            Ok(0) => Ok(Input::Ended),
            Ok(n) => Ok(Input::Keys(keys[..n].to_vec())),
            Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => Ok(Input::Timeout),
            Err(e) => Err(e.into()),
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(saved) = &self.saved {
            let _ = termios::tcsetattr(io::stdin().as_fd(), SetArg::TCSANOW, saved);
        }
        let _ = self.mask.thread_set_mask();
    }
}

/// The size of the terminal `fd` is open on, as (columns, rows); `None` when it is no
/// terminal or does not know.
pub fn window_size(fd: BorrowedFd<'_>) -> Option<(u16, u16)> {
    // SAFETY: `winsize` is plain data; zero is a valid value for each field.
    let mut size: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one `winsize` through the pointer, which is valid for the
    // call; `fd` is open for as long as it is borrowed.
    let got = unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    (got == 0 && size.ws_col > 0 && size.ws_row > 0).then_some((size.ws_col, size.ws_row))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_has_no_window_size() {
        let file = tempfile::tempfile().unwrap();
        assert_eq!(window_size(file.as_fd()), None);
    }
}
