//! Admission: a `TaskSpec` checked against the node (artifact, trust, limits, states, guest
//! paths) and recorded as a queued task, or refused before anything is queued.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::digest::Digest;
use crate::error::{Result, VyrError};
use crate::fsutil::fill_random;
use crate::guest_path;
use crate::node::Shared;
use crate::outcome::Invocation;
use crate::spec::{BindingSpec, TaskSpec};
use crate::state::{Mode, Ticket};
use crate::task::{Live, TaskRecord};

/// What the worker needs besides the record: the task's stdin.
pub(crate) struct Job {
    pub input: Bytes,
}

/// Validates a spec and records the task (queued); the caller decides where it runs.
pub(crate) fn accept(shared: &Arc<Shared>, spec: TaskSpec) -> Result<(Arc<TaskRecord>, Job)> {
    if shared.stopping.load(Ordering::Acquire) {
        return Err(VyrError::ShuttingDown);
    }
    let digest = Digest::parse(&spec.artifact)?;
    let manifest = shared.manifest_of(&digest)?;
    if shared.trust.get(&manifest.signer)?.is_none() {
        return Err(VyrError::UntrustedSigner(manifest.signer.to_string()));
    }
    let limits = &shared.config.limits;
    let granted = limits.grant(spec.resources.or(manifest.resources))?;
    if spec.input.len() > limits.max_input_bytes {
        return Err(VyrError::InvalidArgument(format!(
            "input is {} bytes, the node's limit is {} bytes",
            spec.input.len(),
            limits.max_input_bytes
        )));
    }
    check_env(&spec.env)?;
    if shared.active.load(Ordering::Acquire) >= limits.max_queued_tasks {
        return Err(VyrError::Capacity(format!("{} tasks are queued or running", limits.max_queued_tasks)));
    }
    let tickets = acquire_all(shared, &spec.bindings)?;
    let mut args = vec![manifest.name.clone()];
    args.extend(spec.args.unwrap_or_else(|| manifest.args.clone()));
    let mut env: Vec<(String, String)> = manifest.env.into_iter().collect();
    for (key, value) in spec.env {
        env.retain(|(existing, _)| *existing != key);
        env.push((key, value));
    }
    let invocation = Arc::new(Invocation { args, env, deterministic: spec.deterministic });
    let record = Arc::new(TaskRecord::new(
        new_task_id(),
        digest,
        granted,
        tickets,
        spec.input_digest,
        spec.publish_end,
        invocation,
    ));
    shared.remember(record.clone());
    shared.active.fetch_add(1, Ordering::AcqRel);
    Ok((record, Job { input: spec.input }))
}

/// Binds one more state to a task that has not started yet.
pub(crate) fn bind(shared: &Shared, task_id: &str, binding: &BindingSpec) -> Result<()> {
    let task = shared.task(task_id)?;
    // Hold the task's live lock so the worker cannot start it between check and bind.
    let live = task.live();
    refuse_started(task_id, &live)?;
    let mut tickets = task.tickets();
    let path = binding.path.as_deref().map(guest_path::normalize).transpose()?;
    let ticket = acquire_unique(shared, &tickets, &binding.state, binding.mode, path.as_deref())?;
    let mut paths: Vec<(&str, &str)> = tickets.iter().map(|t| (t.name.as_str(), t.path.as_str())).collect();
    paths.push((&ticket.name, &ticket.path));
    if let Err(error) = guest_path::check_distinct(paths) {
        shared.states.release(&ticket);
        return Err(error);
    }
    tickets.push(ticket);
    Ok(())
}

fn refuse_started(task_id: &str, live: &Live) -> Result<()> {
    if live.status == crate::outcome::TaskStatus::Queued {
        return Ok(());
    }
    let phase = if live.status.is_terminal() { "ended" } else { "started" };
    Err(VyrError::TaskAlreadyStarted { task: task_id.to_owned(), phase: phase.to_owned() })
}

/// Tickets for every binding, or none (each taken is given back) if one is refused.
fn acquire_all(shared: &Shared, bindings: &[BindingSpec]) -> Result<Vec<Ticket>> {
    let mut tickets: Vec<Ticket> = Vec::with_capacity(bindings.len());
    let result = (|| {
        for binding in bindings {
            let path = binding.path.as_deref().map(guest_path::normalize).transpose()?;
            let ticket = acquire_unique(shared, &tickets, &binding.state, binding.mode, path.as_deref())?;
            tickets.push(ticket);
        }
        guest_path::check_distinct(tickets.iter().map(|t| (t.name.as_str(), t.path.as_str())))
    })();
    if let Err(error) = result {
        tickets.iter().for_each(|t| shared.states.release(t));
        return Err(error);
    }
    Ok(tickets)
}

fn acquire_unique(shared: &Shared, held: &[Ticket], state: &str, mode: Mode, path: Option<&str>) -> Result<Ticket> {
    let id = shared.states.resolve(state)?;
    if held.iter().any(|ticket| ticket.state_id == id) {
        return Err(VyrError::InvalidState(format!("state {state:?} is bound to this task twice")));
    }
    shared.states.acquire(&id, mode, path)
}

/// Per-task env follows the manifest's rule, so a name the manifest refuses is refused here too.
fn check_env(env: &[(String, String)]) -> Result<()> {
    match env.iter().find(|(key, _)| key.is_empty() || key.contains('=') || key.contains('\0')) {
        Some((key, _)) => Err(VyrError::InvalidArgument(format!(
            "env name {key:?}: names must be non-empty and contain no '=' or NUL"
        ))),
        None => match env.iter().find(|(_, value)| value.contains('\0')) {
            Some((key, _)) => Err(VyrError::InvalidArgument(format!("env {key:?}: values must not contain NUL"))),
            None => Ok(()),
        },
    }
}

/// `t-` + milliseconds + 40 bits that are unique within this process (a random start plus a
/// counter), so ids sort by time and never repeat, without a getrandom call per task.
fn new_task_id() -> String {
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| {
        let mut random = [0u8; 8];
        fill_random(&mut random);
        std::sync::atomic::AtomicU64::new(u64::from_le_bytes(random))
    });
    let sequence = next.fetch_add(1, Ordering::Relaxed) & 0xff_ffff_ffff;
    format!("t-{:011x}{:010x}", crate::clock::now_unix_nanos() / 1_000_000, sequence)
}
