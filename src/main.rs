//! husk's entry point. `no_main`: C's `main` calls husk directly, without
//! std's start-up (`lang_start`). That start-up finds the main thread's
//! stack guard by reading and parsing /proc/self/maps (glibc's
//! pthread_getattr_np) and maps an alternate signal stack for the overflow
//! message; on every call that is a few hundred µs and ~280 KiB of peak RSS
//! (`husk state`: 3,060 → 2,776 KiB). husk runs short and single-threaded;
//! a stack overflow still dies on the guard page, just without the message.
//! Arguments still reach std::env::args: glibc hands them to std's
//! .init_array hook before main. (The test harness brings its own main.)
#![cfg_attr(not(test), no_main)]

#[cfg(not(test))]
#[unsafe(no_mangle)]
extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    // What lang_start did and husk relies on: a closed pipe is an EPIPE
    // error for the writer to report, not a silent death by SIGPIPE. The
    // container's init resets every signal before it execs (reset-signals).
    // SAFETY: setting a disposition before any other code runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    husk::main()
}
