//! Giving back memory that only start-up needed, so an idle supd stays small.
//!
//! Parsing the config, the command line and setting everything up touches code that the
//! event loop never runs again, and frees heap it no longer needs. Once supd is up, it
//! tells the kernel to drop its executable's code pages from its page tables (they stay in
//! the page cache; the loop's own code comes back on first use, by a cheap minor fault)
//! and the allocator to return free heap.
//!
//! Only the executable's code (`r-xp`) and its first read-only segment (headers and
//! constants) are dropped, and only while none of their pages is anonymous (copied) or
//! swapped out: their pages are then the file's own page-cache pages, so dropping one can
//! only cost a refault. Data, relocated read-only data (RELRO, whose pages were copied when
//! relocated) and anything writable keep their pages.

/// Drops code pages not in use and returns free heap to the kernel (best effort). Cheap
/// enough to call again whenever supd falls idle after work that touched rarely used code
/// (a control request); the event loop's own pages come back at once.
pub fn shed_startup_pages() {
    let exe = std::fs::read_link("/proc/self/exe").ok();
    if let (Some(exe), Ok(smaps)) = (exe, std::fs::read_to_string("/proc/self/smaps")) {
        for (start, end) in clean_mappings(&smaps, &exe.to_string_lossy()) {
            // SAFETY: [start, end) is a whole mapping of this process: private, read-only,
            // file-backed (the executable) and without a single anonymous page, so every
            // resident page is the file's own. MADV_DONTNEED on it only removes pages that
            // the kernel refills from the same file on the next access.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
            }
        }
    }
    // SAFETY: malloc_trim only returns free memory of glibc's own heap to the kernel; it
    // is safe to call at any time.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `(start, end)` of the mappings of file `exe` that are safe to drop, from
/// `/proc/self/smaps` text: the code (`r-xp`) and the first read-only segment (`r--p` at
/// offset 0: headers and constants), each only when it has neither anonymous (copied) nor
/// swapped-out pages. Relocated read-only data (RELRO) is a later `r--p` segment and is
/// never chosen, even when its copied pages are swapped out and look clean.
fn clean_mappings(smaps: &str, exe: &str) -> Vec<(usize, usize)> {
    struct Block {
        range: (usize, usize),
        anonymous: Option<u64>,
        swap: Option<u64>,
    }
    let mut blocks: Vec<Block> = Vec::new();
    let mut current: Option<Block> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            // A mapping header: `start-end perms offset dev inode path`.
            blocks.extend(current.take());
            let perms = fields.next().unwrap_or("");
            let offset = fields.next().unwrap_or("");
            let path = fields.nth(2).unwrap_or("");
            let wanted = path == exe
                && (perms == "r-xp" || perms == "r--p" && offset.bytes().all(|b| b == b'0'));
            current = wanted.then_some(Block {
                range: (start, end),
                anonymous: None,
                swap: None,
            });
        } else if let Some(block) = current.as_mut() {
            let kb = fields.next().and_then(|v| v.parse().ok());
            match first {
                "Anonymous:" => block.anonymous = kb,
                "Swap:" => block.swap = kb,
                _ => {}
            }
        }
    }
    blocks.extend(current);
    blocks
        .into_iter()
        .filter(|b| b.anonymous == Some(0) && b.swap == Some(0))
        .map(|b| b.range)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_code_and_constants_without_copied_or_swapped_pages_are_chosen() {
        let smaps = "\
55d0a0000000-55d0a0100000 r--p 00000000 fd:01 42 /usr/bin/supd
Rss:                 100 kB
Anonymous:             0 kB
Swap:                  0 kB
55d0a0100000-55d0a0300000 r-xp 00100000 fd:01 42 /usr/bin/supd
Anonymous:             0 kB
Swap:                  0 kB
55d0a0300000-55d0a0380000 r--p 00300000 fd:01 42 /usr/bin/supd
Anonymous:             0 kB
Swap:                432 kB
55d0a0380000-55d0a0390000 rw-p 00380000 fd:01 42 /usr/bin/supd
Anonymous:             8 kB
Swap:                  0 kB
7f0000000000-7f0000100000 r-xp 00000000 fd:01 77 /usr/lib/libc.so.6
Anonymous:             0 kB
Swap:                  0 kB
7f0000200000-7f0000201000 rw-p 00000000 00:00 0
Anonymous:             4 kB
Swap:                  0 kB
";
        assert_eq!(
            clean_mappings(smaps, "/usr/bin/supd"),
            [
                (0x55d0a0000000, 0x55d0a0100000),
                (0x55d0a0100000, 0x55d0a0300000)
            ]
        );
    }

    #[test]
    fn shedding_keeps_the_process_working() {
        shed_startup_pages();
        // Code and data still work after their pages were dropped.
        let v: Vec<u32> = (0..1000).collect();
        assert_eq!(v.iter().sum::<u32>(), 499_500);
        assert_eq!(format!("{}", 42), "42");
    }
}
