//! The binaries' allocator settings.
//!
//! The binaries use mimalloc (BENCHMARKS.md, "Changes found by profiling"), which by default
//! keeps memory freed by the process for a while before giving it back to the system. An
//! exporter frees a lot at once: every re-encode builds and drops the whole text body (400 MB at
//! 10,000 accounts), and a cycle's futures and answers come and go together. Kept, that memory
//! is most of the resident set: at 1,000 accounts x 4 regions 212-319 MiB between runs, against
//! 135 MiB when freed memory is returned at once (same cycle, same CPU; `bench scale`).
//!
//! mimalloc reads its options from the environment when the process starts, before `main`, so
//! the only safe way to set one is to run the program again with it set: [`purge_promptly`].

/// The variable that tells mimalloc how long to keep freed memory (milliseconds).
pub const PURGE_DELAY: &str = "MIMALLOC_PURGE_DELAY";

/// Makes the process give freed memory back to the system at once: unless
/// `MIMALLOC_PURGE_DELAY` is already set (by the user, or by this function), replaces the
/// process with the same program, arguments and environment plus `MIMALLOC_PURGE_DELAY=0`
/// (same process id, so signals, probes and supervisors see no difference). For binaries only,
/// first thing in `main`, before any thread starts. If that cannot be done, returns why and the
/// process goes on with mimalloc's default.
pub fn purge_promptly() -> Result<(), String> {
    if std::env::var_os(PURGE_DELAY).is_some() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt as _;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find the program: {e}"))?;
        let mut args = std::env::args_os();
        let arg0: std::ffi::OsString = args.next().unwrap_or_else(|| exe.clone().into_os_string());
        // `exec` returns only if it failed.
        let e = std::process::Command::new(&exe)
            .arg0(arg0)
            .args(args)
            .env(PURGE_DELAY, "0")
            .exec();
        Err(format!("cannot run {} again: {e}", exe.display()))
    }
    #[cfg(not(unix))]
    {
        Ok(())
    }
}
