use std::process::ExitCode;

/// glibc gives each thread that allocates under contention an arena of its own and rarely
/// hands freed memory back from them, so a busy server's resident memory ratchets up to many
/// times what it uses (measured in BENCHMARKS.md). One arena (with glibc's per-thread caches)
/// keeps it near the working set. glibc's own `MALLOC_ARENA_MAX` still wins when set.
///
/// Blocks of 1 MiB and more are always mapped on their own and unmapped when freed. glibc
/// would otherwise raise that threshold after the first large free, and each password hash's
/// 19 MiB then stayed in the heap: six logins in a row left the server at 176 MiB.
/// `MALLOC_MMAP_THRESHOLD_` still wins when set.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_malloc() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_none() {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_malloc() {}

fn main() -> ExitCode {
    tune_malloc();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(runback::cli::run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
