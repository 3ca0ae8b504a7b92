//! A `command` value, shared by a program's `command` and a health check's `command`: a
//! string split like a shell would (no shell runs), or an argv array.

use toml::de::DeValue;

use super::walker::{Field, Walker, found};

/// A command: a string split like a shell would (no shell runs), or an array of strings.
pub(super) fn argv(w: &mut Walker, field: &Field) -> Option<Vec<String>> {
    let argv = match field.value.get_ref() {
        DeValue::String(_) => {
            let s = w.string(field)?;
            match shell_words::split(&s) {
                Ok(argv) => argv,
                Err(e) => {
                    w.bad(
                        field,
                        format!("cannot split the command into arguments: {e}"),
                    );
                    return None;
                }
            }
        }
        DeValue::Array(_) => w.string_array(field, "an array of strings")?,
        other => {
            let message = format!(
                "expected a command string like \"daphne -p 8000 app.asgi:application\" or an \
                 array of strings, found {}",
                found(other)
            );
            w.bad(field, message);
            return None;
        }
    };
    // A program outside the active profiles is checked but never run, and its unset
    // variables read as empty: `command = "${WORKER_CMD}"` is not a mistake there.
    let unset_here = w.vars.lenient && argv.first().is_none_or(String::is_empty);
    match argv.first() {
        _ if unset_here => return Some(vec![String::new()]),
        None => w.bad(field, "the command is empty"),
        Some(program) if program.is_empty() => {
            w.bad(
                field,
                "the program to run (the first word of the command) is empty",
            );
        }
        Some(_) => return Some(argv),
    }
    None
}
