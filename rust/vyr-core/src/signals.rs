//! Keeps wasmtime's trap handlers first in line when the host installs fault handlers after
//! the engine (issue 13 item 1).
//!
//! wasmtime turns a guest trap (`unreachable`, a stack overflow, an out-of-bounds access) into
//! a signal (SIGILL, SIGSEGV, SIGFPE, SIGBUS) and installs its handlers once per process, when
//! the first engine is made, remembering the handlers that were there before it. A handler
//! installed later (Python's `faulthandler.enable()`, which pytest and many services call) runs
//! in front of wasmtime's: it reports a fatal error and re-raises the signal from its own
//! frame, where wasmtime no longer recognises a guest trap, so the host process dies.
//!
//! [`guard`] runs before every task starts. For each of those signals, if the current handler is
//! neither wasmtime's nor ours, it installs [`front`] and keeps the displaced handler as the
//! "later" one. `front` calls wasmtime's handler first: for a guest trap, wasmtime rewrites the
//! saved program counter to its trap landing pad and returns, and the task ends as a trap. For
//! any other fault (a real host crash), `front` then forwards to the later handler, so
//! faulthandler still prints its traceback before the process dies as it would have.

use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

#[cfg(target_arch = "x86_64")]
const SIGNALS: [libc::c_int; 4] = [libc::SIGSEGV, libc::SIGILL, libc::SIGFPE, libc::SIGBUS];
#[cfg(not(target_arch = "x86_64"))]
const SIGNALS: [libc::c_int; 3] = [libc::SIGSEGV, libc::SIGILL, libc::SIGBUS];

/// Per signal (index in [`SIGNALS`]): wasmtime's handler, recorded right after the first engine.
static WASMTIME: [Slot; 4] = [Slot::EMPTY, Slot::EMPTY, Slot::EMPTY, Slot::EMPTY];
/// Per signal: the handler `front` displaced (installed after wasmtime's), called for faults
/// that are not guest traps.
static LATER: [Slot; 4] = [Slot::EMPTY, Slot::EMPTY, Slot::EMPTY, Slot::EMPTY];
/// Set while `front` forwards a fault: a later handler that re-raises must not loop back.
static FORWARDING: AtomicBool = AtomicBool::new(false);
/// Serialises `guard`'s read-compare-install (tasks start on several threads).
static INSTALL: Mutex<()> = Mutex::new(());

/// A handler address and its `sa_flags`, readable from a signal handler (atomics only).
struct Slot {
    handler: AtomicUsize,
    flags: AtomicUsize,
}

impl Slot {
    #[allow(clippy::declare_interior_mutable_const)]
    const EMPTY: Slot = Slot { handler: AtomicUsize::new(0), flags: AtomicUsize::new(0) };

    fn set(&self, action: &libc::sigaction) {
        self.flags.store(action.sa_flags as usize, Ordering::SeqCst);
        self.handler.store(action.sa_sigaction, Ordering::SeqCst);
    }
}

/// Records wasmtime's handlers. Called after every engine is made; only the first call
/// records (wasmtime installs its handlers once per process, with the first engine).
pub fn record_wasmtime_handlers() {
    let _lock = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    for (index, signal) in SIGNALS.iter().enumerate() {
        if WASMTIME[index].handler.load(Ordering::SeqCst) != 0 {
            continue;
        }
        if let Some(action) = current(*signal) {
            if action.sa_flags & libc::SA_SIGINFO != 0 && action.sa_sigaction != front_address() {
                WASMTIME[index].set(&action);
            }
        }
    }
}

/// Puts wasmtime's handlers back in front of any handler installed after them (see the module
/// docs). Cheap when nothing changed: one `sigaction` query per signal.
pub fn guard() {
    let _lock = INSTALL.lock().unwrap_or_else(|p| p.into_inner());
    for (index, signal) in SIGNALS.iter().enumerate() {
        let wasmtime = WASMTIME[index].handler.load(Ordering::SeqCst);
        let Some(action) = current(*signal) else { continue };
        if wasmtime == 0 || action.sa_sigaction == wasmtime || action.sa_sigaction == front_address() {
            continue;
        }
        LATER[index].set(&action);
        // SAFETY: a zeroed sigaction is a valid value; every field used is set below.
        let mut ours: libc::sigaction = unsafe { std::mem::zeroed() };
        ours.sa_sigaction = front_address();
        // The flags wasmtime uses: siginfo and context, the alternate stack (a guest stack
        // overflow leaves no room on the main one), re-entry for a fault inside the handler.
        ours.sa_flags = libc::SA_SIGINFO | libc::SA_NODEFER | libc::SA_ONSTACK;
        // SAFETY: `ours` is fully initialised; `front` is async-signal-safe (atomics, calls
        // to handlers, sigaction).
        unsafe {
            libc::sigemptyset(&mut ours.sa_mask);
            libc::sigaction(*signal, &ours, std::ptr::null_mut());
        }
    }
}

fn front_address() -> usize {
    (front as *const ()).addr()
}

fn current(signal: libc::c_int) -> Option<libc::sigaction> {
    let mut action = MaybeUninit::<libc::sigaction>::zeroed();
    // SAFETY: a null new action only queries; `action` is written on success.
    let queried = unsafe { libc::sigaction(signal, std::ptr::null(), action.as_mut_ptr()) };
    // SAFETY: sigaction returned 0, so it filled `action`.
    (queried == 0).then(|| unsafe { action.assume_init() })
}

type Siginfo = unsafe extern "C" fn(libc::c_int, *mut libc::siginfo_t, *mut libc::c_void);

extern "C" fn front(signal: libc::c_int, info: *mut libc::siginfo_t, context: *mut libc::c_void) {
    let Some(index) = SIGNALS.iter().position(|s| *s == signal) else { return };
    let before = program_counter(context);
    let wasmtime = WASMTIME[index].handler.load(Ordering::SeqCst);
    if wasmtime != 0 {
        // SAFETY: recorded from sigaction with SA_SIGINFO set: a three-argument handler.
        let handler: Siginfo = unsafe { std::mem::transmute::<usize, Siginfo>(wasmtime) };
        // SAFETY: the kernel's own arguments, passed on unchanged.
        unsafe { handler(signal, info, context) };
        if program_counter(context) != before {
            return; // a guest trap: wasmtime set the context to resume at its landing pad
        }
    }
    // Not a guest trap. wasmtime has already passed it to the handler before it (for the
    // default action: reset the disposition, so the fault repeats and kills). Give the later
    // handler its turn first, once (it may re-raise, which lands here again).
    if FORWARDING.swap(true, Ordering::SeqCst) {
        return;
    }
    let later = LATER[index].handler.load(Ordering::SeqCst);
    let flags = LATER[index].flags.load(Ordering::SeqCst) as libc::c_int;
    if later != libc::SIG_DFL && later != libc::SIG_IGN && later != 0 {
        if flags & libc::SA_SIGINFO != 0 {
            // SAFETY: a handler installed with SA_SIGINFO takes three arguments.
            unsafe { std::mem::transmute::<usize, Siginfo>(later)(signal, info, context) };
        } else {
            // SAFETY: a handler installed without SA_SIGINFO takes the signal number only.
            unsafe { std::mem::transmute::<usize, extern "C" fn(libc::c_int)>(later)(signal) };
        }
    }
    FORWARDING.store(false, Ordering::SeqCst);
}

/// The interrupted program counter saved in a signal context.
fn program_counter(context: *mut libc::c_void) -> usize {
    if context.is_null() {
        return 0;
    }
    // SAFETY: the kernel passes a valid ucontext_t to an SA_SIGINFO handler.
    let context = unsafe { &*(context as *const libc::ucontext_t) };
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    return context.uc_mcontext.gregs[libc::REG_RIP as usize] as usize;
    #[cfg(all(target_os = "linux", target_arch = "aarch64"))]
    return context.uc_mcontext.pc as usize;
}
