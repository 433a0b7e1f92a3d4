//! Keeping an import's store traffic on one core.
//!
//! sqlx runs each SQLite connection on its own thread and hands it every
//! statement; a mail takes about ten such hand-offs there and back. When
//! the two threads sit on different cores each hand-off is a cross-core
//! wake-up, which on this project's machines costs more than the statement
//! (the git-list import: 7.0 s spread over two cores, 5.0 s on one). So
//! `parsearchive` and `import-public-inbox` pin the thread that owns the store, and with it the
//! connection threads it spawns, to the core it is running on; the archive
//! reader goes back to every core, where it splits and parses ahead.

/// The cores this thread may run on, to give back to helper threads.
#[derive(Debug, Clone)]
pub struct Cores(#[cfg(target_os = "linux")] Option<nix::sched::CpuSet>);

/// Pins the calling thread to the core it is on. Threads it spawns after
/// this inherit the pin. Returns the cores it was allowed before.
pub fn pin_here() -> Cores {
    #[cfg(target_os = "linux")]
    {
        use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
        use nix::unistd::Pid;
        let before = sched_getaffinity(Pid::from_raw(0)).ok();
        if let Ok(cpu) = sched_getcpu() {
            let mut one = CpuSet::new();
            if one.set(cpu).is_ok() {
                // Best effort: without the pin the import is only slower.
                let _ = sched_setaffinity(Pid::from_raw(0), &one);
            }
        }
        Cores(before)
    }
    #[cfg(not(target_os = "linux"))]
    Cores()
}

/// No pin: [`release`] with this changes nothing.
pub fn unpinned() -> Cores {
    Cores(
        #[cfg(target_os = "linux")]
        None,
    )
}

/// Lets the calling thread run on `cores` again.
pub fn release(cores: &Cores) {
    #[cfg(target_os = "linux")]
    if let Some(set) = &cores.0 {
        let _ = nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cores;
}
