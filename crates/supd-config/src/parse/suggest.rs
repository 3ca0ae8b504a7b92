//! "Did you mean ...?": the nearest known name to a misspelt one, by edit distance.

/// The candidate nearest to `word`, when it is near enough to be a plausible typo: at most
/// `max(2, len/3)` single-character edits away, and fewer edits than `word` has characters
/// (so `"db"` does not suggest `"web"`). Ties go to the earlier candidate.
pub(crate) fn nearest<'c>(word: &str, candidates: &[&'c str]) -> Option<&'c str> {
    let len = word.chars().count();
    let limit = (len / 3).max(2).min(len.saturating_sub(1));
    let mut best: Option<(usize, &'c str)> = None;
    for &candidate in candidates {
        let distance = levenshtein(word, candidate);
        if distance <= limit && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// `unknown key "comand" (did you mean "command"?)`, or the list of known keys.
pub(super) fn unknown_key_message(key: &str, known: &[&str]) -> String {
    match nearest(key, known) {
        Some(s) => format!("unknown key {key:?} (did you mean {s:?}?)"),
        None => format!("unknown key {key:?} (known keys: {})", known.join(", ")),
    }
}

/// Number of single-character insertions, deletions and substitutions from `a` to `b`.
pub(super) fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", ""), 0);
        assert_eq!(levenshtein("abc", ""), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("comand", "command"), 1);
        assert_eq!(levenshtein("restart_dealy", "restart_delay"), 2);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("üx", "ux"), 1);
    }

    #[test]
    fn nearest_suggests_only_plausible_typos() {
        let keys = ["command", "restart", "restart_delay", "max_restart_delay"];
        assert_eq!(nearest("comand", &keys), Some("command"));
        assert_eq!(nearest("restart_dealy", &keys), Some("restart_delay"));
        assert_eq!(nearest("restrat", &keys), Some("restart"));
        assert_eq!(nearest("zzz", &keys), None);
        assert_eq!(nearest("programs", &["supd", "program"]), Some("program"));
        assert_eq!(nearest("db", &["web"]), None);
        assert_eq!(nearest("", &["a"]), None);
        assert_eq!(nearest("wb", &["web"]), Some("web"));
    }

    #[test]
    fn message_lists_known_keys_when_nothing_is_near() {
        assert_eq!(
            unknown_key_message("xyz", &["supd", "program"]),
            r#"unknown key "xyz" (known keys: supd, program)"#
        );
        assert_eq!(
            unknown_key_message("comand", &["command"]),
            r#"unknown key "comand" (did you mean "command"?)"#
        );
    }
}
