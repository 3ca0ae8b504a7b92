//! The sockets supd holds for programs (a program's `sockets` key).
//!
//! This module owns every such socket for its whole life: it binds them all when supd
//! starts (as root, before any program drops its privileges, so a `user` program can serve
//! port 80), keeps each open in supd across every restart, crash and stop of its program —
//! so connections queue on it while no process accepts instead of being refused — and hands
//! a duplicate of each to every spawn of the program ([`Sockets::passed`]), which
//! `supd_sys::spawn` places at descriptors 3, 4, ... with `LISTEN_FDS`, `LISTEN_FDNAMES`
//! and `LISTEN_PID`.
//!
//! Sockets are held by address: a reload ([`Sockets::rebind`]) keeps the very socket (and
//! its queue) of every address still in the config, binds only the new ones — all of them
//! or none, so a reload that cannot bind changes nothing — and closes the ones no program
//! names any more. A unix socket's file is created as the control socket's is (a stale one
//! is replaced), given its `mode` and `owner`, and removed when supd lets the socket go or
//! exits.

use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

use supd_config::{ListenAddress, ProgramSpec, SocketSpec};
use supd_sys::spawn::{ListenFd, SpawnError};

use crate::control::BindError;

/// Every socket supd holds, by address.
#[derive(Default)]
pub struct Sockets {
    held: Vec<Held>,
}

/// One bound, listening socket.
struct Held {
    address: ListenAddress,
    fd: OwnedFd,
    /// The settings it was last given (a reload that changes them re-applies them).
    backlog: u32,
    mode: u32,
    owner: Option<supd_config::UserSpec>,
    /// The unix socket file, removed when the socket is let go.
    file: Option<SocketFile>,
}

/// A unix socket file, removed when dropped.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// What a reload changed: the addresses let go.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rebound {
    pub closed: Vec<String>,
}

impl Sockets {
    /// Binds the sockets of every program of `programs` (supd's start). The first that
    /// cannot be bound is one sentence naming the program, the address and why.
    pub fn bind(programs: &[ProgramSpec]) -> Result<Sockets, BindError> {
        let mut sockets = Sockets::default();
        sockets.rebind(programs)?;
        Ok(sockets)
    }

    /// Makes the held sockets those of `programs`: an address held already keeps its
    /// socket (with the new backlog, mode and owner), a new one is bound, one no program
    /// names any more is closed. When a new address cannot be bound, nothing changes.
    pub fn rebind(&mut self, programs: &[ProgramSpec]) -> Result<Rebound, BindError> {
        let wanted: Vec<(&ProgramSpec, &SocketSpec)> = programs
            .iter()
            .flat_map(|p| p.sockets.iter().map(move |s| (p, s)))
            .collect();
        // Bind every new address first: if one fails, the others are dropped unused.
        let mut fresh = Vec::new();
        for &(program, spec) in &wanted {
            if !self.held.iter().any(|h| h.address == spec.address) {
                fresh.push(bind(&program.name, spec)?);
            }
        }
        let mut old = std::mem::take(&mut self.held);
        for (program, spec) in wanted {
            let held = match old.iter().position(|h| h.address == spec.address) {
                Some(i) => {
                    let mut kept = old.swap_remove(i);
                    kept.update(&program.name, spec);
                    kept
                }
                None => {
                    let i = fresh.iter().position(|h| h.address == spec.address);
                    // Bound above: every address not held is in `fresh`.
                    let Some(i) = i else { continue };
                    fresh.swap_remove(i)
                }
            };
            self.held.push(held);
        }
        Ok(Rebound {
            closed: old.iter().map(|h| h.address.url()).collect(),
        })
    }

    /// Duplicates of the sockets of `spec`, in its order, to pass to a new run of it.
    pub fn passed(&self, spec: &ProgramSpec) -> Result<Vec<ListenFd>, SpawnError> {
        spec.sockets
            .iter()
            .map(|s| {
                let held = self
                    .held
                    .iter()
                    .find(|h| h.address == s.address)
                    .ok_or_else(|| {
                        SpawnError::new(format!(
                            "socket {} of {} is not held by supd",
                            s.address.url(),
                            spec.name
                        ))
                    })?;
                let fd = held.fd.try_clone().map_err(|e| {
                    SpawnError::new(format!(
                        "cannot pass socket {} to {}: {}",
                        s.address.url(),
                        spec.name,
                        supd_sys::describe(&e)
                    ))
                })?;
                Ok(ListenFd {
                    fd,
                    name: s.name.clone(),
                })
            })
            .collect()
    }
}

impl Held {
    /// Gives a kept socket the settings `spec` now has; what cannot be changed in place is
    /// reported, and the socket kept as it is.
    fn update(&mut self, program: &str, spec: &SocketSpec) {
        if spec.backlog != self.backlog {
            match listen(&self.fd, spec.backlog) {
                Ok(()) => self.backlog = spec.backlog,
                Err(e) => tracing::warn!(
                    "{program}: cannot change the backlog of {} to {}: {}",
                    spec.address.url(),
                    spec.backlog,
                    supd_sys::describe(&e)
                ),
            }
        }
        let Some(file) = &self.file else {
            return;
        };
        if spec.mode != self.mode || spec.owner != self.owner {
            let what = what(program);
            match crate::control::set_socket_file_access(
                &file.0,
                &what,
                spec.mode,
                spec.owner.as_ref(),
            ) {
                Ok(()) => {
                    self.mode = spec.mode;
                    self.owner = spec.owner.clone();
                }
                Err(e) => tracing::warn!("{program}: {}", e.0),
            }
        }
    }
}

/// Whether `address` could be bound now (for `supd check`), without keeping it or leaving
/// a file behind: `Err` says why not.
pub fn bindable(address: &ListenAddress) -> Result<(), String> {
    match address {
        ListenAddress::Tcp(addr) => std::net::TcpListener::bind(addr)
            .map(drop)
            .map_err(|e| crate::control::bind_reason(&e)),
        ListenAddress::Unix(path) => {
            use std::os::unix::fs::FileTypeExt;
            let dir = path.parent().unwrap_or(std::path::Path::new("."));
            let dir = if dir.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                dir
            };
            if !dir.is_dir() {
                return Err(format!("directory {} does not exist", dir.display()));
            }
            match std::fs::symlink_metadata(path) {
                Ok(meta) if !meta.file_type().is_socket() => {
                    Err("a file that is not a socket is in the way".to_string())
                }
                Ok(_) if std::os::unix::net::UnixStream::connect(path).is_ok() => {
                    Err("something is already listening on it".to_string())
                }
                // Free, or a stale socket file, which is replaced.
                _ => Ok(()),
            }
        }
    }
}

/// "socket of program web", for messages.
fn what(program: &str) -> String {
    format!("socket of program {program}")
}

/// Binds and listens on `spec` for `program`.
fn bind(program: &str, spec: &SocketSpec) -> Result<Held, BindError> {
    let url = spec.address.url();
    let (fd, file): (OwnedFd, _) = match &spec.address {
        ListenAddress::Tcp(addr) => {
            // std sets SO_REUSEADDR: a port left in TIME_WAIT by an earlier supd binds.
            let listener = std::net::TcpListener::bind(addr).map_err(|e| {
                BindError(format!(
                    "cannot bind {url} for program {program}: {}",
                    crate::control::bind_reason(&e)
                ))
            })?;
            (listener.into(), None)
        }
        ListenAddress::Unix(path) => {
            let listener = crate::control::create_socket_file_for(
                path,
                &what(program),
                &format!("program.{program}.sockets"),
                spec.mode,
                spec.owner.as_ref(),
            )?;
            (listener.into(), Some(SocketFile(path.clone())))
        }
    };
    listen(&fd, spec.backlog).map_err(|e| {
        BindError(format!(
            "cannot listen on {url} for program {program}: {}",
            supd_sys::describe(&e)
        ))
    })?;
    tracing::info!("holding {url} for program {program}");
    Ok(Held {
        address: spec.address.clone(),
        fd,
        backlog: spec.backlog,
        mode: spec.mode,
        owner: spec.owner.clone(),
        file,
    })
}

/// `listen(2)` again with `backlog` (std listens with its own).
fn listen(fd: &impl AsFd, backlog: u32) -> std::io::Result<()> {
    supd_sys::socket::set_backlog(fd, backlog)
}
