//! Runs one task's Wasm: builds the WASI context (stdin = input, capped stdout/stderr, bound
//! states as preopened directories), instantiates from the pre-linked module and calls
//! `_start` under the task's memory cap, fuel, deadline and cancellation.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use wasmtime::{InstancePre, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::cancel::CancelToken;
use crate::clock::now_unix_nanos;
use crate::determinism;
use crate::limits::{MemoryLimitExceeded, MemoryLimiter, TaskCtx};
use crate::outcome::Invocation;
use crate::output::{CappedPipe, OutputLimitExceeded};
use crate::resources::Granted;

/// A host directory the guest sees at `guest_path`.
#[derive(Clone, Debug)]
pub struct Preopen {
    pub host_path: PathBuf,
    pub guest_path: String,
    pub writable: bool,
}

/// Everything one execution needs besides the module.
pub struct ExecSpec {
    pub invocation: Arc<Invocation>,
    /// Set for a deterministic run: the seed of its virtual clocks and random.
    pub deterministic_seed: Option<[u8; 32]>,
    pub input: Bytes,
    pub granted: Granted,
    pub preopens: Vec<Preopen>,
    pub stdout_cap: usize,
    pub stderr_cap: usize,
}

/// How an execution ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Exited(i32),
    Trapped {
        code: String,
        message: String,
    },
    DeadlineExceeded,
    Cancelled,
    /// The host could not set the task up (not the guest's fault).
    SetupFailed(String),
}

/// Outcome, captured output and measurements of one execution.
pub struct ExecReport {
    pub outcome: Outcome,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub instantiated_ns: u64,
    pub started_ns: u64,
    pub peak_memory_bytes: u64,
    pub fuel_used: u64,
}

/// Why the epoch callback stopped the guest.
#[derive(Debug, thiserror::Error)]
enum Stopped {
    #[error("deadline exceeded")]
    Deadline,
    #[error("cancelled")]
    Cancelled,
}

/// Runs `_start` to completion, trap, deadline or cancel. Never panics on guest behaviour.
pub async fn execute(pre: &InstancePre<TaskCtx>, spec: ExecSpec, cancel: Arc<CancelToken>) -> ExecReport {
    // A fault handler the host installed since the last task must not sit in front of
    // wasmtime's: a guest trap would then kill the process.
    crate::signals::guard();
    let deadline = Instant::now() + Duration::from_millis(spec.granted.timeout_ms);
    let stdout = CappedPipe::new("stdout", spec.stdout_cap);
    let stderr = CappedPipe::new("stderr", spec.stderr_cap);
    let mut report = ExecReport {
        outcome: Outcome::Exited(0),
        stdout: Vec::new(),
        stderr: Vec::new(),
        instantiated_ns: 0,
        started_ns: 0,
        peak_memory_bytes: 0,
        fuel_used: 0,
    };
    let mut builder = WasiCtxBuilder::new();
    builder
        .stdin(MemoryInputPipe::new(spec.input))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .args(&spec.invocation.args)
        .envs(&spec.invocation.env);
    if let Some(seed) = spec.deterministic_seed {
        determinism::virtualize(&mut builder, seed);
    }
    for preopen in &spec.preopens {
        let perms = if preopen.writable { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
        if let Err(error) = builder.preopened_dir(&preopen.host_path, &preopen.guest_path, perms) {
            report.outcome = Outcome::SetupFailed(format!("cannot bind {}: {error:#}", preopen.guest_path));
            return report;
        }
    }
    let limiter = MemoryLimiter { cap: spec.granted.memory_bytes, peak: 0 };
    let mut store = Store::new(pre.module().engine(), TaskCtx { wasi: builder.build_p1(), limiter });
    store.limiter(|ctx| &mut ctx.limiter);
    let fuel_budget = spec.granted.fuel.unwrap_or(u64::MAX);
    if let Err(error) = store.set_fuel(fuel_budget) {
        report.outcome = Outcome::SetupFailed(format!("fuel: {error:#}"));
        return report;
    }
    store.set_epoch_deadline(1);
    let token = cancel.clone();
    store.epoch_deadline_callback(move |_| {
        if token.is_cancelled() {
            Err(wasmtime::Error::new(Stopped::Cancelled))
        } else if Instant::now() >= deadline {
            Err(wasmtime::Error::new(Stopped::Deadline))
        } else {
            // Yield so the worker can serve other tasks and the host-side timers below.
            Ok(UpdateDeadline::Yield(1))
        }
    });

    let (instantiated_ns, started_ns) = (&mut report.instantiated_ns, &mut report.started_ns);
    let run = async {
        let instance = pre.instantiate_async(&mut store).await?;
        *instantiated_ns = now_unix_nanos();
        let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
        *started_ns = now_unix_nanos();
        start.call_async(&mut store, ()).await
    };
    // The epoch callback stops guests running Wasm; these host-side timers also stop a guest
    // parked in a host call (a WASI sleep), which never reaches an epoch check.
    let result = tokio::select! {
        result = run => result,
        () = tokio::time::sleep_until(deadline.into()) => Err(wasmtime::Error::new(Stopped::Deadline)),
        () = cancel.cancelled() => Err(wasmtime::Error::new(Stopped::Cancelled)),
    };
    report.outcome = match result {
        Ok(()) => Outcome::Exited(0),
        Err(error) => classify(&error),
    };
    report.fuel_used = fuel_budget.saturating_sub(store.get_fuel().unwrap_or(fuel_budget));
    report.peak_memory_bytes = store.data().limiter.peak;
    report.stdout = stdout.take();
    report.stderr = stderr.take();
    report
}

fn classify(error: &wasmtime::Error) -> Outcome {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Outcome::Exited(exit.0);
    }
    match error.downcast_ref::<Stopped>() {
        Some(Stopped::Deadline) => return Outcome::DeadlineExceeded,
        Some(Stopped::Cancelled) => return Outcome::Cancelled,
        None => {}
    }
    let trapped = |code: &str| Outcome::Trapped { code: code.to_owned(), message: format!("{error:#}") };
    if error.downcast_ref::<OutputLimitExceeded>().is_some() {
        return trapped("output_limit_exceeded");
    }
    if error.downcast_ref::<MemoryLimitExceeded>().is_some() {
        return trapped("memory_limit_exceeded");
    }
    match error.downcast_ref::<Trap>() {
        Some(trap) => trapped(&snake_case(&format!("{trap:?}"))),
        None => trapped("host_error"),
    }
}

/// `OutOfFuel` → `out_of_fuel`: wasmtime's trap names, in the casing of the rest of the API.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (index, ch) in name.chars().enumerate() {
        if ch.is_ascii_uppercase() {
            if index > 0 {
                out.push('_');
            }
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn trap_names_become_snake_case() {
        assert_eq!(super::snake_case("OutOfFuel"), "out_of_fuel");
        assert_eq!(super::snake_case("StackOverflow"), "stack_overflow");
    }
}
