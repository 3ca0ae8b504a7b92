//! The `depends_on` graph: every cycle found is reported once, naming its programs.
//!
//! The graph is the merged one of every file (a program may depend on a program of another
//! file), with one node per program table: the instances of a program share its node.
//!
//! Unknown names and self-dependencies are reported while each program is read (see
//! [`super::program`]); the edges given here are only the ones between distinct, existing
//! programs. The search is an iterative depth-first search, so a long chain of programs
//! cannot overflow the stack.

use std::collections::HashMap;

use super::walker::Walker;

/// One program's `depends_on`, as far as it could be read.
pub(super) struct Node {
    pub name: String,
    /// Dotted key of the `depends_on` (`program.web.depends_on`), for messages.
    pub key: String,
    /// Index of the walker (file) the program is in.
    pub file: usize,
    /// Dependencies that exist and are not the program itself: name and byte offset of the
    /// array element naming it.
    pub deps: Vec<(String, usize)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Unvisited,
    OnPath,
    Done,
}

/// Reports `dependency cycle: a -> b -> a` once per back edge of a depth-first search,
/// at the element of the first program's `depends_on` that starts the cycle.
pub(super) fn report_cycles(w: &mut [Walker], nodes: &[Node]) {
    let index: HashMap<&str, usize> = nodes
        .iter()
        .enumerate()
        .map(|(i, n)| (n.name.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            n.deps
                .iter()
                .filter_map(|(d, _)| index.get(d.as_str()).copied())
                .collect()
        })
        .collect();
    let mut marks = vec![Mark::Unvisited; nodes.len()];
    for start in 0..nodes.len() {
        if marks[start] == Mark::Unvisited {
            visit(w, nodes, &edges, &mut marks, start);
        }
    }
}

fn visit(w: &mut [Walker], nodes: &[Node], edges: &[Vec<usize>], marks: &mut [Mark], start: usize) {
    // The current path, each node with the index of its next edge to follow.
    let mut path: Vec<(usize, usize)> = vec![(start, 0)];
    marks[start] = Mark::OnPath;
    while let Some(&(node, next)) = path.last() {
        let Some(&to) = edges[node].get(next) else {
            marks[node] = Mark::Done;
            path.pop();
            continue;
        };
        if let Some(top) = path.last_mut() {
            top.1 += 1;
        }
        match marks[to] {
            Mark::Unvisited => {
                marks[to] = Mark::OnPath;
                path.push((to, 0));
            }
            Mark::OnPath => report(w, nodes, &path, to),
            Mark::Done => {}
        }
    }
}

/// `path` ends with an edge back to `to`, which is on `path`.
fn report(w: &mut [Walker], nodes: &[Node], path: &[(usize, usize)], to: usize) {
    let Some(first) = path.iter().position(|&(n, _)| n == to) else {
        return;
    };
    let cycle: Vec<usize> = path[first..].iter().map(|&(n, _)| n).collect();
    let mut names: Vec<&str> = cycle.iter().map(|&n| nodes[n].name.as_str()).collect();
    names.push(&nodes[to].name);
    // The line of the element of `to`'s depends_on that names the next program of the cycle.
    let next_name = cycle.get(1).map_or(&nodes[to].name, |&n| &nodes[n].name);
    let origin = &nodes[to];
    let at = origin
        .deps
        .iter()
        .find(|(d, _)| d == next_name)
        .map_or(0, |&(_, at)| at);
    let message = format!("dependency cycle: {}", names.join(" -> "));
    if let Some(w) = w.get_mut(origin.file) {
        w.error(at, &origin.key, message);
    }
}
