//! One task from queued to ended on the worker pool: load the artifact, wait for a run slot
//! and the task's turn on its states, execute, commit or discard state changes, record the end.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;

use crate::admission::Job;
use crate::clock::now_unix_nanos;
use crate::determinism;
use crate::digest::Digest;
use crate::exec::{execute, ExecSpec, Outcome, Preopen};
use crate::node::Shared;
use crate::outcome::{TaskStatus, Usage};
use crate::state::{Mode, Ticket};
use crate::task::{Ending, StateVersions, TaskRecord};

/// Ends a task whatever happens, releasing its state tickets and its place in the count, and
/// publishes the outcome when the task asked for it.
pub(crate) async fn run_task(shared: Arc<Shared>, task: Arc<TaskRecord>, job: Job) {
    let ending = run_phases(&shared, &task, job).await;
    if task.live().phases.scheduled != 0 {
        shared.executing.fetch_sub(1, Ordering::AcqRel);
    }
    if let Some(ending) = ending {
        task.finish(ending, |outcome| {
            if task.publish_end {
                shared.ended.publish(outcome.clone());
            }
        });
    }
    for ticket in task.tickets().iter() {
        shared.states.release(ticket);
    }
    shared.active.fetch_sub(1, Ordering::AcqRel);
}

/// Runs the task; returns how it ended (None: it had ended already, e.g. cancelled meanwhile).
async fn run_phases(shared: &Arc<Shared>, task: &Arc<TaskRecord>, job: Job) -> Option<Ending> {
    let input = job.input.clone();
    let rejected = |reason: String| Some(Ending::before_start(TaskStatus::Rejected, reason, input.clone()));
    let cancelled = || Some(Ending::before_start(TaskStatus::Cancelled, "cancelled before it started", input.clone()));
    let (loaded, cold) = tokio::select! {
        loaded = shared.load(task.artifact) => match loaded {
            Ok(loaded) => loaded,
            Err(error) => return rejected(error.to_string()),
        },
        () = task.cancel.cancelled() => return cancelled(),
    };
    if task.granted.fuel.is_some() {
        tokio::select! {
            () = loaded.await_optimized() => {},
            () = task.cancel.cancelled() => return cancelled(),
        }
    }
    task.live().phases.artifact_ready = now_unix_nanos();
    // Wait for a run slot and for this task's turn on every bound state, or a cancel.
    let tickets: Vec<Ticket> = task.tickets().clone();
    let permit = tokio::select! {
        permit = async {
            shared.states.wait_turn(&tickets).await;
            shared.running.acquire().await
        } => permit,
        () = task.cancel.cancelled() => return cancelled(),
    };
    let Ok(_permit) = permit else { return rejected("the node is shutting down".into()) };
    let tickets = mark_running(shared, task, tickets).await?;
    let mut preopens = Vec::with_capacity(tickets.len());
    let mut work_dirs = Vec::new();
    // (state id, digest before, digest after) per binding, for the outcome.
    let mut versions: Vec<StateVersions> = Vec::with_capacity(tickets.len());
    for ticket in &tickets {
        match shared.states.open_for(ticket) {
            Ok((dir, before)) => {
                if ticket.mode == Mode::Rw {
                    work_dirs.push((ticket.clone(), dir.clone()));
                }
                let after = (ticket.mode == Mode::Rw).then(|| before.clone());
                versions.push(StateVersions { state_id: ticket.state_id.clone(), before, after });
                preopens.push(Preopen {
                    host_path: dir,
                    guest_path: ticket.path.clone(),
                    writable: ticket.mode == Mode::Rw,
                });
            }
            Err(error) => {
                work_dirs.iter().for_each(|(_, dir)| shared.states.discard(dir));
                return rejected(error.to_string());
            }
        }
    }
    let limits = &shared.config.limits;
    // Hashed here only when a deterministic run's seed needs it, and then handed to the end
    // so the input is hashed once.
    let input_digest =
        task.invocation.deterministic.then(|| task.input_digest().unwrap_or_else(|| Digest::of(&job.input)));
    let deterministic_seed = input_digest.map(|digest| determinism::seed(&task.artifact, &digest));
    let spec = ExecSpec {
        invocation: task.invocation.clone(),
        deterministic_seed,
        input: job.input,
        granted: task.granted,
        preopens,
        stdout_cap: limits.max_stdout_bytes,
        stderr_cap: limits.max_stderr_bytes,
    };
    let code = loaded.code(); // the newest: a task that queued may find Cranelift's code in
    let report = execute(&code.instance_pre, spec, task.cancel.clone()).await;
    // Commit writers' changes only on success; anything else leaves the states untouched.
    let mut commit_error = None;
    for (ticket, dir) in &work_dirs {
        if report.outcome == Outcome::Exited(0) && commit_error.is_none() {
            match shared.states.commit(ticket, dir) {
                Ok(digest) => {
                    if let Some(version) = versions.iter_mut().find(|v| v.state_id == ticket.state_id) {
                        version.after = Some(digest);
                    }
                }
                Err(error) => commit_error = Some(error),
            }
        } else {
            shared.states.discard(dir);
        }
    }
    let timeout_ms = task.granted.timeout_ms;
    let (status, exit_code, trap_code, reason) = match (report.outcome, commit_error) {
        (Outcome::Exited(0), None) => (TaskStatus::Succeeded, Some(0), None, "exited with code 0".to_owned()),
        (Outcome::Exited(0), Some(error)) => {
            (TaskStatus::Trapped, Some(0), Some("state_limit_exceeded".to_owned()), error.to_string())
        }
        (Outcome::Exited(code), _) => (TaskStatus::Failed, Some(code), None, format!("exited with code {code}")),
        (Outcome::Trapped { code, message }, _) => (TaskStatus::Trapped, None, Some(code), message),
        (Outcome::DeadlineExceeded, _) => {
            (TaskStatus::DeadlineExceeded, None, None, format!("deadline of {timeout_ms} ms exceeded"))
        }
        (Outcome::Cancelled, _) => (TaskStatus::Cancelled, None, None, "cancelled while running".to_owned()),
        (Outcome::SetupFailed(message), _) => (TaskStatus::Rejected, None, None, message),
    };
    let usage = Usage {
        wall_ns: 0, // the record measures it when the end is recorded
        peak_memory_bytes: report.peak_memory_bytes,
        fuel_used: report.fuel_used,
        compiled: cold && loaded.compiled,
        cold,
        tier: Some(code.tier),
    };
    Some(Ending {
        status,
        exit_code,
        trap_code,
        reason,
        stdout: Bytes::from(report.stdout),
        stderr: Bytes::from(report.stderr),
        usage,
        instantiated_ns: report.instantiated_ns,
        started_ns: report.started_ns,
        input,
        input_digest,
        versions,
    })
}

/// Marks the task running under its live lock (which `bind` checks); tickets bound since the
/// snapshot the caller waited on also get their turn first. None: it ended meanwhile.
async fn mark_running(shared: &Shared, task: &TaskRecord, waited: Vec<Ticket>) -> Option<Vec<Ticket>> {
    let mut live = task.live();
    let now_tickets = task.tickets().clone();
    if now_tickets.len() != waited.len() {
        drop(live);
        shared.states.wait_turn(&now_tickets).await;
        live = task.live();
    }
    if live.status.is_terminal() || task.outcome().is_some() {
        return None;
    }
    live.status = TaskStatus::Running;
    live.phases.scheduled = now_unix_nanos();
    shared.executing.fetch_add(1, Ordering::AcqRel);
    Some(now_tickets)
}
