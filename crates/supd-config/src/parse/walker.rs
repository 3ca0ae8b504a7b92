//! The typed-accessor layer over the spanned TOML tree.
//!
//! A [`Walker`] collects [`Diagnostic`]s while the schema code asks it for typed values.
//! Every accessor takes a [`Field`] (a value plus its dotted key), returns `Some(value)` when
//! the value is good, and otherwise records one diagnostic with the value's line and returns
//! `None`; the caller then keeps its default and carries on, so one walk finds every problem.
//!
//! Every string read through the walker is `${VAR}`-interpolated first (see
//! [`crate::interpolate`]) and must not contain NUL (it would end up in a C string).
//! Variables are looked up through the walker's [`Vars`]: the program's `env_file` first,
//! then supd's own environment, then `[supd] env_file`; `INSTANCE` is the instance number
//! inside a program with `instances`, and refused in any other program.
//!
//! There is one walker per file read (the main config file and each included one); each
//! records its problems with its own file and lines.

use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use toml::Spanned;
use toml::de::{DeInteger, DeTable, DeValue};

use super::suggest;
use crate::diagnostic::{Diagnostic, Diagnostics, key_segment, shorten};
use crate::duration::DurationError;
use crate::interpolate::{Var, interpolate};
use crate::spec::{IdRef, Signal};

/// One value of the tree with its position.
pub(super) type Value<'i> = Spanned<DeValue<'i>>;

/// A value found under a key, with the dotted path of that key (`program.web.restart`).
pub(super) struct Field<'t, 'i> {
    pub key: String,
    pub value: &'t Value<'i>,
}

impl<'t, 'i> Field<'t, 'i> {
    /// The same field again (for a reader that takes a field by value).
    pub fn reborrow(&self) -> Field<'t, 'i> {
        Field {
            key: self.key.clone(),
            value: self.value,
        }
    }

    /// Byte offset of the value, for its line.
    pub fn at(&self) -> usize {
        self.value.span().start
    }
}

/// A table of the tree with its dotted path (`""` for the document itself).
pub(super) struct Section<'t, 'i> {
    pub path: String,
    pub table: &'t DeTable<'i>,
    /// Byte offset of the table (its header, or its first key when implicit).
    pub at: usize,
}

impl<'t, 'i> Section<'t, 'i> {
    pub fn root(table: &'t DeTable<'i>) -> Self {
        Section {
            path: String::new(),
            table,
            at: 0,
        }
    }

    /// The field `key` of this table, when present.
    pub fn get(&self, key: &str) -> Option<Field<'t, 'i>> {
        self.table.get(key).map(|value| Field {
            key: self.child(key),
            value,
        })
    }

    /// The dotted path of `key` inside this table.
    pub fn child(&self, key: &str) -> String {
        let segment = key_segment(key);
        if self.path.is_empty() {
            segment.into_owned()
        } else {
            format!("{}.{segment}", self.path)
        }
    }
}

/// Byte offset -> 1-based line number.
struct LineIndex {
    /// Byte offset where each line starts; `starts[0] == 0`.
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|&(_, b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        LineIndex { starts }
    }

    fn line(&self, offset: usize) -> usize {
        match self.starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

/// Where `${VAR}`s come from, besides supd's own environment.
#[derive(Clone, Default)]
pub(super) struct Vars {
    /// `[supd] env_file`: used when supd's own environment does not set the variable.
    pub supd_file: Rc<Vec<(String, String)>>,
    /// The `env_file` of the program being read: used before supd's own environment.
    pub program_file: Vec<(String, String)>,
    pub instance: InstanceVar,
    pub sockets: SocketVars,
    /// Unset variables read as empty (for programs outside the active profiles, which are
    /// checked but never run).
    pub lenient: bool,
}

/// What `${INSTANCE}` means where the walker is reading.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum InstanceVar {
    /// Outside any program (`[supd]`): an ordinary variable.
    #[default]
    Outside,
    /// In a program without `instances`: refused.
    NotInstanced,
    /// In instance N of a program with `instances`.
    Instance(u32),
    /// In a key read before instances are known (`profiles`): refused.
    NotYet,
}

/// What `${LISTEN_FD}` and `${SOCKET_FD_<NAME>}` mean where the walker is reading.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) enum SocketVars {
    /// Outside any program (`[supd]`): ordinary variables.
    #[default]
    Outside,
    /// In a key of a program other than `command` and `environment`: refused.
    NotHere,
    /// In `command` or `environment` of a program whose sockets have these names, in
    /// order (socket `i` is descriptor 3 + `i`).
    Program(Vec<String>),
    /// In `command` or `environment` of a program whose `sockets` has a problem (already
    /// reported): every socket variable is set, so no second problem follows from it.
    Unknown,
}

/// The `${SOCKET_FD_<NAME>}` name of a socket named `name`: upper-cased, every character
/// other than a letter or a digit turned into `_`.
pub(super) fn socket_var_name(name: &str) -> String {
    let tail: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("SOCKET_FD_{tail}")
}

/// Collects diagnostics for one file while the schema code reads typed values from it.
pub(super) struct Walker<'a> {
    file: &'a Path,
    lines: LineIndex,
    env: &'a dyn Fn(&str) -> Option<String>,
    /// Directory of the config file: base of relative paths.
    pub base: PathBuf,
    pub vars: Vars,
    diags: Vec<Diagnostic>,
}

impl<'a> Walker<'a> {
    pub fn new(text: &str, file: &'a Path, env: &'a dyn Fn(&str) -> Option<String>) -> Self {
        Walker {
            file,
            lines: LineIndex::new(text),
            env,
            base: file.parent().map(Path::to_path_buf).unwrap_or_default(),
            vars: Vars::default(),
            diags: Vec::new(),
        }
    }

    /// The file this walker reads.
    pub fn file(&self) -> &'a Path {
        self.file
    }

    /// The 1-based line of byte `offset` of this file.
    pub fn line(&self, offset: usize) -> usize {
        self.lines.line(offset)
    }

    /// Records a problem found elsewhere (in an env file this file names).
    pub fn push(&mut self, diagnostic: Diagnostic) {
        self.diags.push(diagnostic);
    }

    /// How many problems have been recorded so far.
    pub fn problem_count(&self) -> usize {
        self.diags.len()
    }

    /// Every problem recorded, in the order found.
    pub fn into_problems(self) -> Vec<Diagnostic> {
        self.diags
    }

    /// `name` in supd's own environment.
    pub fn env_var(&self, name: &str) -> Option<String> {
        (self.env)(name)
    }

    /// The value of `${name}` here.
    fn lookup(&self, name: &str) -> Var {
        if name == "INSTANCE" {
            match self.vars.instance {
                InstanceVar::Outside => {}
                InstanceVar::Instance(i) => return Var::Set(i.to_string()),
                InstanceVar::NotInstanced => {
                    return Var::Refused(
                        "${INSTANCE} is only set in a program with instances = N (add \
                         instances, or remove ${INSTANCE})"
                            .to_string(),
                    );
                }
                InstanceVar::NotYet => {
                    return Var::Refused("${INSTANCE} cannot be used in this key".to_string());
                }
            }
        }
        if let Some(socket) = self.socket_lookup(name) {
            return socket;
        }
        let find = |vars: &[(String, String)]| {
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        };
        let value = find(&self.vars.program_file)
            .or_else(|| (self.env)(name))
            .or_else(|| find(&self.vars.supd_file));
        if let Some(v) = value {
            return Var::Set(v);
        }
        if self.vars.lenient {
            Var::Set(String::new())
        } else {
            Var::Unset
        }
    }

    /// The value of `${LISTEN_FD}` or `${SOCKET_FD_<NAME>}` in a program (`None`: another
    /// variable, or one outside any program).
    fn socket_lookup(&self, name: &str) -> Option<Var> {
        if name != "LISTEN_FD" && !name.starts_with("SOCKET_FD_") {
            return None;
        }
        let names = match &self.vars.sockets {
            SocketVars::Outside => return None,
            SocketVars::NotHere => {
                return Some(Var::Refused(format!(
                    "${{{name}}} is only set in a program's command and environment"
                )));
            }
            SocketVars::Unknown => return Some(Var::Set(String::new())),
            SocketVars::Program(names) => names,
        };
        if names.is_empty() {
            return Some(Var::Refused(format!(
                "${{{name}}} names a socket of this program, and it has none (add sockets = \
                 [\"tcp://127.0.0.1:8000\"])"
            )));
        }
        let fd = |i: usize| Var::Set((crate::spec::FIRST_SOCKET_FD as usize + i).to_string());
        if name == "LISTEN_FD" {
            return Some(fd(0));
        }
        if let Some(i) = names.iter().position(|n| socket_var_name(n) == name) {
            return Some(fd(i));
        }
        let mut known: Vec<String> = Vec::new();
        for n in names {
            let var = format!("${{{}}}", socket_var_name(n));
            if !known.contains(&var) {
                known.push(var);
            }
        }
        Some(Var::Refused(format!(
            "no socket of this program is named {:?} (its sockets are {}, and ${{LISTEN_FD}} \
             is the first)",
            &name["SOCKET_FD_".len()..],
            known.join(", ")
        )))
    }

    /// Records one problem at byte `offset` (None: no place in the file).
    pub fn error_at(&mut self, offset: Option<usize>, key: Option<&str>, message: String) {
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            line: offset.map(|o| self.lines.line(o)),
            key: key.map(str::to_string),
            message,
        });
    }

    /// Records one problem about `key`, at byte `offset`.
    pub fn error(&mut self, offset: usize, key: &str, message: impl Into<String>) {
        self.error_at(Some(offset), Some(key), message.into());
    }

    /// Records one problem about the value of `field`.
    pub fn bad(&mut self, field: &Field, message: impl Into<String>) {
        self.error(field.at(), &field.key, message);
    }

    /// `value` when nothing was recorded, else every problem sorted by line.
    pub fn finish<T>(mut self, value: T) -> Result<T, Diagnostics> {
        if self.diags.is_empty() {
            return Ok(value);
        }
        self.diags.sort_by_key(|d| d.line.unwrap_or(0));
        self.diags.dedup();
        Err(Diagnostics(self.diags))
    }

    /// Reports every key of `section` not in `known`, with the supd key `hints` give for
    /// it, else the nearest known key (see [`suggest::unknown_key_message`]).
    pub fn check_keys(&mut self, section: &Section, known: &[&str], hints: suggest::Hints) {
        for key in section.table.keys() {
            let name = key.get_ref().as_ref();
            if !known.contains(&name) {
                let path = section.child(name);
                self.error(
                    key.span().start,
                    &path,
                    suggest::unknown_key_message(name, known, hints),
                );
            }
        }
    }

    /// The table under `field`; `expected` describes it for the error message.
    pub fn table<'t, 'i>(
        &mut self,
        field: Field<'t, 'i>,
        expected: &str,
    ) -> Option<Section<'t, 'i>> {
        match field.value.get_ref() {
            DeValue::Table(table) => Some(Section {
                at: field.at(),
                path: field.key,
                table,
            }),
            other => {
                self.bad(
                    &field,
                    format!("expected {expected}, found {}", found(other)),
                );
                None
            }
        }
    }

    /// Interpolates `raw`, the text of a string value of `key` at `offset`.
    pub fn interpolate(&mut self, key: &str, offset: usize, raw: &str) -> Option<String> {
        match interpolate(raw, &|name| self.lookup(name)) {
            Ok(s) if s.contains('\0') => {
                self.error(
                    offset,
                    key,
                    "the value contains a NUL character, which is not allowed",
                );
                None
            }
            Ok(s) => Some(s),
            Err(e) => {
                self.error(offset, key, e.to_string());
                None
            }
        }
    }

    /// A string value, interpolated.
    pub fn string(&mut self, field: &Field) -> Option<String> {
        match field.value.get_ref() {
            DeValue::String(raw) => self.interpolate(&field.key, field.at(), raw),
            other => {
                self.bad(field, format!("expected a string, found {}", found(other)));
                None
            }
        }
    }

    /// A string value that must not be empty; `expected` describes it (`"a path"`).
    pub fn nonempty_string(&mut self, field: &Field, expected: &str) -> Option<String> {
        let s = self.string(field)?;
        if s.is_empty() {
            self.bad(field, format!("expected {expected}, found an empty string"));
            return None;
        }
        Some(s)
    }

    /// A path; relative ones resolve against the config file's directory.
    pub fn path(&mut self, field: &Field) -> Option<PathBuf> {
        let s = self.nonempty_string(field, "a path")?;
        Some(resolve(&self.base, &s))
    }

    /// An array of strings, each interpolated; `expected` describes the array.
    pub fn string_array(&mut self, field: &Field, expected: &str) -> Option<Vec<String>> {
        let items = self.string_items(field, expected)?;
        Some(items.into_iter().map(|(s, _)| s).collect())
    }

    /// A string or an array of strings (`env_file = ".env"` or `[".env", "local.env"]`),
    /// each with the byte offset of its element.
    pub fn string_or_items(
        &mut self,
        field: &Field,
        expected: &str,
    ) -> Option<Vec<(String, usize)>> {
        match field.value.get_ref() {
            DeValue::String(_) => Some(vec![(self.string(field)?, field.at())]),
            DeValue::Array(_) => self.string_items(field, expected),
            other => {
                self.bad(
                    field,
                    format!("expected {expected}, found {}", found(other)),
                );
                None
            }
        }
    }

    /// Like [`Walker::string_array`], each string with the byte offset of its element.
    pub fn string_items(&mut self, field: &Field, expected: &str) -> Option<Vec<(String, usize)>> {
        let DeValue::Array(items) = field.value.get_ref() else {
            let what = found(field.value.get_ref());
            self.bad(field, format!("expected {expected}, found {what}"));
            return None;
        };
        let mut out = Vec::with_capacity(items.len());
        let mut ok = true;
        for item in items.iter() {
            let at = item.span().start;
            match item.get_ref() {
                DeValue::String(raw) => match self.interpolate(&field.key, at, raw) {
                    Some(s) => out.push((s, at)),
                    None => ok = false,
                },
                other => {
                    let message = format!("expected a string, found {}", found(other));
                    self.error(at, &field.key, message);
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    pub fn bool(&mut self, field: &Field) -> Option<bool> {
        match field.value.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            other => {
                self.bad(
                    field,
                    format!("expected true or false, found {}", found(other)),
                );
                None
            }
        }
    }

    /// An integer in `range`; `expected` describes it (`"a non-negative integer"`).
    pub fn integer(
        &mut self,
        field: &Field,
        range: std::ops::RangeInclusive<i64>,
        expected: &str,
    ) -> Option<i64> {
        let value = field.value.get_ref();
        let n = match value {
            DeValue::Integer(i) => integer_value(i),
            _ => None,
        };
        match n {
            Some(n) if range.contains(&n) => Some(n),
            _ => {
                self.bad(
                    field,
                    format!("expected {expected}, found {}", found(value)),
                );
                None
            }
        }
    }

    /// A size in bytes: a string such as `"50MB"`, `"512KB"`, `"1GiB"`, `"1000"`, or a
    /// TOML integer of bytes. Never zero.
    pub fn size(&mut self, field: &Field) -> Option<u64> {
        let parsed = match field.value.get_ref() {
            DeValue::Integer(i) => integer_value(i).and_then(|n| u64::try_from(n).ok()),
            DeValue::String(_) => {
                let s = self.string(field)?;
                parse_size(&s)
            }
            _ => None,
        };
        match parsed {
            Some(n) if n > 0 => Some(n),
            _ => {
                let message = format!(
                    "expected a size like \"50MB\", \"512KB\" or \"1GB\", found {}",
                    found(field.value.get_ref())
                );
                self.bad(field, message);
                None
            }
        }
    }

    /// A duration string such as `"250ms"`, `"10s"`, `"1m"` or `"1h 30m"`.
    pub fn duration(&mut self, field: &Field) -> Option<Duration> {
        match field.value.get_ref() {
            DeValue::String(_) => {
                let s = self.string(field)?;
                match crate::duration::parse(&s) {
                    Ok(d) => Some(d),
                    Err(DurationError::TooLong) => {
                        self.bad(field, format!("{s:?} is {}", DurationError::TooLong));
                        None
                    }
                    Err(e) => {
                        self.bad(field, format!("{e}, found {s:?}"));
                        None
                    }
                }
            }
            DeValue::Integer(i) => {
                let n = integer_text(i);
                let message = format!(
                    "expected a duration string like \"10s\", found integer {n} (write \"{n}s\")"
                );
                self.bad(field, message);
                None
            }
            other => {
                self.bad(
                    field,
                    format!("{}, found {}", DurationError::Invalid, found(other)),
                );
                None
            }
        }
    }

    /// A duration that must be greater than zero.
    pub fn positive_duration(&mut self, field: &Field) -> Option<Duration> {
        let d = self.duration(field)?;
        if d.is_zero() {
            self.bad(field, "expected a duration greater than zero, found \"0s\"");
            return None;
        }
        Some(d)
    }

    /// Permission bits: a string of octal digits (`"0600"`, `"660"`, `"0o600"`) or a TOML
    /// integer written in octal (`0o600`). At most `0o777`.
    ///
    /// A decimal integer other than 0 is refused: `socket_mode = 600` almost always means
    /// octal 600, and reading it as decimal would silently give the wrong bits.
    pub fn mode(&mut self, field: &Field) -> Option<u32> {
        let mode = match field.value.get_ref() {
            DeValue::String(_) => {
                let s = self.string(field)?;
                let mode = parse_octal(&s);
                if mode.is_none() {
                    self.bad(field, format!("{MODE_EXPECTED}, found {s:?}"));
                }
                mode?
            }
            DeValue::Integer(i) if i.radix() == 10 && integer_value(i) != Some(0) => {
                let n = integer_text(i);
                let message = format!(
                    "{MODE_EXPECTED}, found decimal integer {n} (write \"{n}\" or 0o{n} for octal)"
                );
                self.bad(field, message);
                return None;
            }
            DeValue::Integer(i) => match integer_value(i).and_then(|n| u32::try_from(n).ok()) {
                Some(n) => n,
                None => {
                    self.bad(
                        field,
                        format!("{MODE_EXPECTED}, found integer {}", int_display(i)),
                    );
                    return None;
                }
            },
            other => {
                self.bad(field, format!("{MODE_EXPECTED}, found {}", found(other)));
                return None;
            }
        };
        if mode > 0o777 {
            self.bad(
                field,
                format!("mode 0o{mode:o} is out of range (at most 0o777)"),
            );
            return None;
        }
        Some(mode)
    }

    /// One of `choices`, by its exact spelling.
    pub fn choice<T: Copy>(&mut self, field: &Field, choices: &[(&str, T)]) -> Option<T> {
        let s = self.string(field)?;
        let hit = choices.iter().find(|(name, _)| *name == s).map(|&(_, v)| v);
        if hit.is_none() {
            let names: Vec<String> = choices.iter().map(|(n, _)| format!("{n:?}")).collect();
            self.bad(
                field,
                format!("expected one of {}, found {s:?}", names.join(", ")),
            );
        }
        hit
    }

    /// A signal: a string such as `"HUP"`, `"SIGHUP"`, `"1"`, or a TOML integer.
    pub fn signal(&mut self, field: &Field) -> Option<Signal> {
        let text = match field.value.get_ref() {
            DeValue::Integer(i) => integer_text(i),
            DeValue::String(_) => self.string(field)?,
            other => {
                let message = format!(
                    "expected a signal name like \"TERM\", found {}",
                    found(other)
                );
                self.bad(field, message);
                return None;
            }
        };
        match crate::signal::parse(&text) {
            Ok(sig) => Some(sig),
            Err(message) => {
                self.bad(field, message);
                None
            }
        }
    }

    /// A user or group: a name, or a number used as is.
    pub fn id_ref(&mut self, field: &Field, expected: &str) -> Option<IdRef> {
        let s = self.string(field)?;
        match parse_id_ref(&s) {
            Ok(id) => Some(id),
            Err(IdError::Malformed) => {
                self.bad(field, format!("expected {expected}, found {s:?}"));
                None
            }
            Err(IdError::OutOfRange) => {
                self.bad(field, out_of_range_id(&s));
                None
            }
        }
    }
}

/// Overwrites `slot` when `value` is `Some`.
pub(super) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

const MODE_EXPECTED: &str = "expected an octal mode like \"0600\" or 0o600";

/// Why a user or group reference was refused.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum IdError {
    Malformed,
    OutOfRange,
}

/// `"1000"` -> `Id(1000)`, `"app"` -> `Name("app")`. Names may not be empty nor contain
/// `:`, whitespace or control characters. `4294967295` is refused: as a uid it means
/// "unchanged" to `setuid`, which would silently keep root.
pub(super) fn parse_id_ref(s: &str) -> Result<IdRef, IdError> {
    if s.is_empty() {
        return Err(IdError::Malformed);
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return match s.parse::<u32>() {
            Ok(n) if n != u32::MAX => Ok(IdRef::Id(n)),
            _ => Err(IdError::OutOfRange),
        };
    }
    if s.chars()
        .any(|c| c == ':' || c.is_whitespace() || c.is_control())
    {
        return Err(IdError::Malformed);
    }
    Ok(IdRef::Name(s.to_string()))
}

pub(super) fn out_of_range_id(s: &str) -> String {
    format!("id {s} is out of range (at most {})", u32::MAX - 1)
}

/// `"0600"`, `"660"`, `"0o600"` -> the number; anything else -> None.
fn parse_octal(s: &str) -> Option<u32> {
    let digits = s.strip_prefix("0o").unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    u32::from_str_radix(digits, 8).ok()
}

/// The value of a TOML integer, when it fits an `i64`.
pub(super) fn integer_value(i: &DeInteger) -> Option<i64> {
    i64::from_str_radix(i.as_str(), i.radix()).ok()
}

/// A TOML integer as decimal text (its digits as written when it does not fit an `i64`).
pub(super) fn integer_text(i: &DeInteger) -> String {
    integer_value(i).map_or_else(|| int_display(i), |n| n.to_string())
}

/// A TOML integer as written: `0o600`, `42`, `0xff`.
fn int_display(i: &DeInteger) -> String {
    let prefix = match i.radix() {
        2 => "0b",
        8 => "0o",
        16 => "0x",
        _ => "",
    };
    format!("{prefix}{}", i.as_str())
}

/// What a value is, for "found ..." in messages: `"sometimes"`, `integer 3`, `a table`.
pub(super) fn found(value: &DeValue) -> String {
    match value {
        DeValue::String(s) => format!("{:?}", shorten(s)),
        DeValue::Integer(i) => format!("integer {}", int_display(i)),
        DeValue::Float(f) => format!("float {}", f.as_str()),
        DeValue::Boolean(b) => format!("boolean {b}"),
        DeValue::Datetime(d) => format!("datetime {d}"),
        DeValue::Array(_) => "an array".to_string(),
        DeValue::Table(_) => "a table".to_string(),
    }
}

/// `p` resolved against `base` (unless absolute), without touching the file system.
/// `.` components are dropped; an empty result is `.`.
pub(super) fn resolve(base: &Path, p: &str) -> PathBuf {
    let joined = base.join(p);
    let cleaned: PathBuf = joined
        .components()
        .filter(|c| *c != Component::CurDir)
        .collect();
    if cleaned.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        cleaned
    }
}

/// `"50MB"` → 50,000,000; `"1MiB"` → 1,048,576; `"1000"` → 1000. Units: B, KB, MB, GB
/// (powers of 1000) and KiB, MiB, GiB (powers of 1024), case-insensitive.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" | "k" => 1000,
        "mb" | "m" => 1000 * 1000,
        "gb" | "g" => 1000 * 1000 * 1000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        _ => return None,
    };
    n.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_people_write_them() {
        use super::parse_size;
        assert_eq!(parse_size("50MB"), Some(50_000_000));
        assert_eq!(parse_size("10 mb"), Some(10_000_000));
        assert_eq!(parse_size("1MiB"), Some(1 << 20));
        assert_eq!(parse_size("512KB"), Some(512_000));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("12 parsecs"), None);
        assert_eq!(parse_size("MB"), None);
        assert_eq!(parse_size("99999999999999999999GB"), None);
    }

    use super::*;

    #[test]
    fn line_index_is_one_based() {
        let lines = LineIndex::new("a\nbc\n\nd");
        assert_eq!(lines.line(0), 1);
        assert_eq!(lines.line(1), 1);
        assert_eq!(lines.line(2), 2);
        assert_eq!(lines.line(4), 2);
        assert_eq!(lines.line(5), 3);
        assert_eq!(lines.line(6), 4);
        assert_eq!(lines.line(100), 4);
    }

    #[test]
    fn resolve_keeps_relative_configs_relative() {
        assert_eq!(
            resolve(Path::new("conf"), "x.sock"),
            PathBuf::from("conf/x.sock")
        );
        assert_eq!(resolve(Path::new(""), "x.sock"), PathBuf::from("x.sock"));
        assert_eq!(resolve(Path::new(""), "."), PathBuf::from("."));
        assert_eq!(
            resolve(Path::new("/etc/supd"), "."),
            PathBuf::from("/etc/supd")
        );
        assert_eq!(
            resolve(Path::new("/etc/supd"), "/run/s"),
            PathBuf::from("/run/s")
        );
        assert_eq!(resolve(Path::new("/a"), "./b/./c"), PathBuf::from("/a/b/c"));
        assert_eq!(resolve(Path::new("/a"), "../b"), PathBuf::from("/a/../b"));
    }

    #[test]
    fn octal_modes() {
        assert_eq!(parse_octal("0600"), Some(0o600));
        assert_eq!(parse_octal("660"), Some(0o660));
        assert_eq!(parse_octal("0o644"), Some(0o644));
        assert_eq!(parse_octal("0"), Some(0));
        assert_eq!(parse_octal(""), None);
        assert_eq!(parse_octal("0o"), None);
        assert_eq!(parse_octal("0800"), None);
        assert_eq!(parse_octal("rw-r"), None);
        assert_eq!(parse_octal("77777777777777777777"), None);
    }

    #[test]
    fn id_refs() {
        assert_eq!(parse_id_ref("app"), Ok(IdRef::Name("app".into())));
        assert_eq!(parse_id_ref("www-data"), Ok(IdRef::Name("www-data".into())));
        assert_eq!(parse_id_ref("1000"), Ok(IdRef::Id(1000)));
        assert_eq!(parse_id_ref("0"), Ok(IdRef::Id(0)));
        assert_eq!(parse_id_ref("4294967294"), Ok(IdRef::Id(4294967294)));
        assert_eq!(parse_id_ref("4294967295"), Err(IdError::OutOfRange));
        assert_eq!(parse_id_ref("99999999999"), Err(IdError::OutOfRange));
        assert_eq!(parse_id_ref(""), Err(IdError::Malformed));
        assert_eq!(parse_id_ref("a b"), Err(IdError::Malformed));
        assert_eq!(parse_id_ref("a:b"), Err(IdError::Malformed));
    }

    #[test]
    fn long_strings_are_shortened_in_messages() {
        let long = "x".repeat(100);
        let shown = found(&DeValue::String(long.into()));
        assert_eq!(shown.len(), 2 + 57 + 3);
        assert!(shown.ends_with("...\""));
    }
}
