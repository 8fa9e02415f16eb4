//! The embedded runtime end to end: artifacts, limits, cancellation, state.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{command, node, node_with, signed, submit, Node};
use vyr_core::engine::Tier;
use vyr_core::resources::Resources;
use vyr_core::state::Mode;
use vyr_core::TaskStatus;
use vyr_core::VyrError;
use vyr_core::{BindingSpec, TaskSpec};

fn run(node: &common::Node, digest: &str, request: TaskSpec) -> Arc<vyr_core::TaskOutcome> {
    let task = submit(&node.runtime, digest, request).unwrap();
    task.wait(Some(Duration::from_secs(30))).unwrap()
}

fn with_timeout(ms: u64) -> TaskSpec {
    TaskSpec { resources: Resources { timeout_ms: Some(ms), ..Default::default() }, ..Default::default() }
}

/// With one run slot, waits until one of two tasks runs and returns (running, queued). Which one
/// wins the slot is up to the worker pool, not the submission order.
fn one_running_one_queued(
    a: Arc<vyr_core::task::TaskRecord>,
    b: Arc<vyr_core::task::TaskRecord>,
) -> (Arc<vyr_core::task::TaskRecord>, Arc<vyr_core::task::TaskRecord>) {
    loop {
        match (a.snapshot().status, b.snapshot().status) {
            (TaskStatus::Running, other) => {
                assert_eq!(other, TaskStatus::Queued);
                return (a, b);
            }
            (other, TaskStatus::Running) => {
                assert_eq!(other, TaskStatus::Queued);
                return (b, a);
            }
            _ => std::thread::sleep(Duration::from_millis(1)),
        }
    }
}

#[test]
fn hello_writes_stdout_and_records_phases() {
    let node = node();
    let digest = node.put_wat("hello", &command("(call $write (i32.const 1024) (i32.const 3))", "hi\\n"));
    let result = run(&node, &digest, TaskSpec::default());
    assert_eq!(result.status, TaskStatus::Succeeded);
    assert_eq!(&*result.stdout, b"hi\n");
    let p = result.phases;
    assert!(p.queued > 0 && p.queued <= p.artifact_ready && p.artifact_ready <= p.scheduled);
    assert!(p.scheduled <= p.instantiated);
    assert!(p.instantiated <= p.started && p.started <= p.ended);
    assert_eq!(result.usage.peak_memory_bytes, 65536);
    assert!(result.usage.fuel_used > 0);
}

#[test]
fn exit_codes_are_reported_as_failed() {
    let node = node();
    let digest = node.put_wat("exit3", &command("(call $exit (i32.const 3))", ""));
    let result = run(&node, &digest, TaskSpec::default());
    assert_eq!(result.status, TaskStatus::Failed);
    assert_eq!(result.exit_code, Some(3));
}

#[test]
fn endless_loop_stops_at_its_deadline() {
    let node = node();
    let digest = node.put_wat("spin", &command("(loop $l (br $l))", ""));
    let started = Instant::now();
    let result = run(&node, &digest, with_timeout(100));
    assert_eq!(result.status, TaskStatus::DeadlineExceeded);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_guest_sleeping_in_a_host_call_stops_at_its_deadline() {
    let node = node();
    let digest = node.put_wat("sleeper", &command("(call $sleep_ns (i64.const 60000000000))", ""));
    let started = Instant::now();
    let result = run(&node, &digest, with_timeout(100));
    assert_eq!(result.status, TaskStatus::DeadlineExceeded, "{}", result.reason);
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn cancel_stops_a_running_and_a_queued_task() {
    let node = node_with(|config| config.max_running = 1);
    let spin = node.put_wat("spin", &command("(loop $l (br $l))", ""));
    let a = submit(&node.runtime, &spin, with_timeout(60_000)).unwrap();
    let b = submit(&node.runtime, &spin, with_timeout(60_000)).unwrap();
    let (running, queued) = one_running_one_queued(a, b);
    assert!(node.runtime.cancel_task(&queued.id).unwrap());
    assert!(node.runtime.cancel_task(&running.id).unwrap());
    assert_eq!(queued.wait(Some(Duration::from_secs(5))).unwrap().status, TaskStatus::Cancelled);
    assert_eq!(running.wait(Some(Duration::from_secs(5))).unwrap().status, TaskStatus::Cancelled);
    assert!(!node.runtime.cancel_task(&running.id).unwrap());
}

#[test]
fn memory_grow_bomb_traps_at_the_cap() {
    let node = node();
    let bomb = "(loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))";
    let digest = node.put_wat("bomb", &command(bomb, ""));
    let request =
        TaskSpec { resources: Resources { memory_bytes: Some(4 << 20), ..Default::default() }, ..Default::default() };
    let result = run(&node, &digest, request);
    assert_eq!(result.status, TaskStatus::Trapped);
    assert_eq!(result.trap_code.as_deref(), Some("memory_limit_exceeded"));
    assert!(result.usage.peak_memory_bytes <= 4 << 20);
}

#[test]
fn deep_recursion_traps_with_stack_overflow() {
    let node = node();
    let wat = r#"(module
      (memory (export "memory") 1)
      (func $down (param i32) (result i32) (call $down (i32.add (local.get 0) (i32.const 1))))
      (func (export "_start") (drop (call $down (i32.const 0)))))"#;
    let digest = node.put_wat("recurse", wat);
    let result = run(&node, &digest, TaskSpec::default());
    assert_eq!(result.status, TaskStatus::Trapped);
    assert_eq!(result.trap_code.as_deref(), Some("stack_overflow"));
}

#[test]
fn output_flood_fails_with_output_limit_exceeded() {
    let node = node_with(|config| config.limits.max_stdout_bytes = 64 * 1024);
    let digest =
        node.put_wat("flood", &command("(loop $l (call $write (i32.const 1024) (i32.const 900)) (br $l))", ""));
    let result = run(&node, &digest, with_timeout(10_000));
    assert_eq!(result.status, TaskStatus::Trapped, "{}", result.reason);
    assert_eq!(result.trap_code.as_deref(), Some("output_limit_exceeded"));
}

#[test]
fn fuel_runs_out() {
    let node = node();
    let digest = node.put_wat("spin", &command("(loop $l (br $l))", ""));
    let request = TaskSpec { resources: Resources { fuel: Some(10_000), ..Default::default() }, ..Default::default() };
    let result = run(&node, &digest, request);
    assert_eq!(result.trap_code.as_deref(), Some("out_of_fuel"));
}

#[test]
fn unknown_imports_are_refused_at_put() {
    let node = node();
    let wat = r#"(module (import "env" "open_socket" (func)) (memory (export "memory") 1) (func (export "_start")))"#;
    let module = wat::parse_str(wat).unwrap();
    let (digest, manifest, signature) = signed(&node.key, "bad", &module);
    let error = node.runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module)).unwrap_err();
    assert!(matches!(error, VyrError::InvalidModule(ref m) if m.contains("open_socket")), "{error}");
    assert!(node.runtime.list_artifacts().unwrap().is_empty());
}

#[test]
fn every_tamper_case_is_refused() {
    let node = node();
    let module = wat::parse_str(command("", "")).unwrap();
    let (digest, manifest, signature) = signed(&node.key, "m", &module);
    let put = |digest: &str, manifest: &[u8], signature: &[u8], module: &[u8]| {
        node.runtime.put_artifact(digest, manifest, signature, Arc::from(module.to_vec()))
    };
    let mut flipped_module = module.clone();
    *flipped_module.last_mut().unwrap() ^= 1;
    assert!(matches!(put(&digest, &manifest, &signature, &flipped_module), Err(VyrError::DigestMismatch { .. })));
    // Change the signed name ("m" -> "n"): still a valid canonical manifest, wrong signature.
    let flipped_manifest =
        String::from_utf8(manifest.clone()).unwrap().replace("\"name\":\"m\"", "\"name\":\"n\"").into_bytes();
    assert_ne!(flipped_manifest, manifest);
    assert!(matches!(put(&digest, &flipped_manifest, &signature, &module), Err(VyrError::InvalidSignature(_))));
    let mut flipped_signature = signature.clone();
    flipped_signature[10] ^= 0x40;
    assert!(matches!(put(&digest, &manifest, &flipped_signature, &module), Err(VyrError::InvalidSignature(_))));
    let stranger = vyr_core::signing::KeyPair::generate();
    let (_, other_manifest, other_signature) = signed(&stranger, "m", &module);
    assert!(matches!(put(&digest, &other_manifest, &other_signature, &module), Err(VyrError::UntrustedSigner(_))));
    let wrong_digest = vyr_core::Digest::of(b"other").to_string();
    assert!(matches!(put(&wrong_digest, &manifest, &signature, &module), Err(VyrError::DigestMismatch { .. })));
    assert!(matches!(put("sha256:../../etc", &manifest, &signature, &module), Err(VyrError::InvalidDigest(_))));
    assert!(node.runtime.list_artifacts().unwrap().is_empty());
    put(&digest, &manifest, &signature, &module).unwrap();
    put(&digest, &manifest, &signature, &module).unwrap();
    assert_eq!(node.runtime.list_artifacts().unwrap().len(), 1);
}

#[test]
fn removing_trust_stops_an_artifact_from_running() {
    let node = node();
    let digest = node.put_wat("hello", &command("", ""));
    node.runtime.trust().remove(&node.key.public_key().key_id()).unwrap();
    let error = submit(&node.runtime, &digest, TaskSpec::default()).unwrap_err();
    assert!(matches!(error, VyrError::UntrustedSigner(_)));
}

#[test]
fn compiled_code_is_reused_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let key = vyr_core::signing::KeyPair::generate();
    let open = || {
        let mut config = vyr_core::RuntimeConfig::new(dir.path().join("home"));
        config.state_dir = Some(dir.path().join("states"));
        vyr_core::Runtime::open(config).unwrap()
    };
    let digest = {
        let runtime = open();
        runtime.trust().add(&key.public_key()).unwrap();
        let module = wat::parse_str(command("", "")).unwrap();
        let (digest, manifest, signature) = signed(&key, "m", &module);
        runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module)).unwrap();
        digest
    };
    let runtime = open();
    let result = submit(&runtime, &digest, TaskSpec::default()).unwrap().wait(None).unwrap();
    assert_eq!(result.status, TaskStatus::Succeeded);
    assert!(result.usage.cold, "first task after restart loads the artifact");
    assert!(!result.usage.compiled, "but does not recompile it");
    assert_eq!(result.usage.tier, Some(Tier::Optimized), "the cache holds Cranelift's code");
}

#[test]
fn a_new_artifact_runs_baseline_code_until_its_optimised_code_is_ready() {
    let Node { runtime, key, dir: _dir } = node();
    let module = wat::parse_str(command("", "")).unwrap();
    let (digest, manifest, signature) = signed(&key, "m", &module);
    runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module)).unwrap();
    let first = submit(&runtime, &digest, TaskSpec::default()).unwrap().wait(None).unwrap();
    assert_eq!(first.status, TaskStatus::Succeeded);
    assert!(first.usage.tier.is_some());
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let result = submit(&runtime, &digest, TaskSpec::default()).unwrap().wait(None).unwrap();
        assert_eq!(result.status, TaskStatus::Succeeded, "both tiers run the guest alike");
        if result.usage.tier == Some(Tier::Optimized) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "Cranelift's code never replaced Winch's");
        std::thread::sleep(Duration::from_millis(5));
    }
}

const STATE_GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "f.txt")
  ;; Creates f.txt in the first preopen (fd 3) and exits with path_open's errno.
  (func (export "_start")
    (call $proc_exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 5)
      (i32.const 1) (i64.const 64) (i64.const 64) (i32.const 0) (i32.const 0)))))"#;

#[test]
fn read_only_state_refuses_writes_and_read_write_commits() {
    let node = node();
    let digest = node.put_wat("creator", STATE_GUEST);
    node.runtime.create_state("box", "ephemeral", None).unwrap();
    let bound = |mode| TaskSpec { bindings: vec![BindingSpec::new("box", mode)], ..Default::default() };
    let ro = run(&node, &digest, bound(Mode::Ro));
    assert_ne!(ro.exit_code, Some(0), "a read-only binding must refuse file creation");
    assert_eq!(node.runtime.list_states()[0].bytes, 0);
    let rw = run(&node, &digest, bound(Mode::Rw));
    assert_eq!(rw.status, TaskStatus::Succeeded, "{}", rw.reason);
}

#[test]
fn a_state_is_freed_after_its_linger() {
    let node = node();
    let state = node.runtime.create_state("short", "ephemeral", None).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    node.runtime.sweep_states();
    assert!(node.runtime.list_states().is_empty());
    let digest = node.put_wat("hello", &command("", ""));
    let request = TaskSpec { bindings: vec![BindingSpec::new(state.id.clone(), Mode::Ro)], ..Default::default() };
    assert!(matches!(submit(&node.runtime, &digest, request), Err(VyrError::StateFreed(_))));
    let request = TaskSpec { bindings: vec![BindingSpec::new("never", Mode::Ro)], ..Default::default() };
    assert!(matches!(submit(&node.runtime, &digest, request), Err(VyrError::StateNotFound(_))));
}

#[test]
fn bind_state_works_only_before_start() {
    let node = node_with(|config| config.max_running = 1);
    let spin = node.put_wat("spin", &command("(loop $l (br $l))", ""));
    node.runtime.create_state("late", "ephemeral", None).unwrap();
    let a = submit(&node.runtime, &spin, with_timeout(60_000)).unwrap();
    let b = submit(&node.runtime, &spin, with_timeout(60_000)).unwrap();
    let (first, second) = one_running_one_queued(a, b);
    node.runtime.bind_state(&second.id, &BindingSpec::new("late", Mode::Ro)).unwrap();
    assert_eq!(second.bindings().len(), 1);
    let error = node.runtime.bind_state(&first.id, &BindingSpec::new("late", Mode::Ro)).unwrap_err();
    assert!(matches!(error, VyrError::TaskAlreadyStarted { .. }));
    first.cancel.cancel();
    second.cancel.cancel();
}

#[test]
fn many_tasks_run_concurrently() {
    let node = node();
    let digest = node.put_wat("hello", &command("(call $write (i32.const 1024) (i32.const 2))", "ok"));
    let tasks: Vec<_> = (0..2000).map(|_| submit(&node.runtime, &digest, TaskSpec::default()).unwrap()).collect();
    for task in tasks {
        let result = task.wait(Some(Duration::from_secs(30))).unwrap();
        assert_eq!(&*result.stdout, b"ok");
    }
}

/// A command with `count` small functions besides `_start`: enough code that Cranelift takes
/// well over a millisecond to compile it (Winch much less).
fn many_functions(count: usize) -> String {
    let functions: String = (0..count)
        .map(|i| {
            format!(
                "(func $f{i} (param $x i32) (result i32) (local $i i32)
                   (loop $l
                     (local.set $x (i32.add (i32.mul (local.get $x) (i32.const 31)) (i32.const {i})))
                     (local.set $i (i32.add (local.get $i) (i32.const 1)))
                     (br_if $l (i32.lt_u (local.get $i) (i32.const 3))))
                   (local.get $x))\n"
            )
        })
        .collect();
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  {functions}
  (func (export "_start") (drop (call $f0 (i32.const 1)))))"#
    )
}

#[test]
fn a_task_with_a_fuel_budget_runs_only_optimised_code() {
    // Winch meters fuel differently from Cranelift: a budget must mean the same on every run.
    let Node { runtime, key, dir: _dir } = node();
    let module = wat::parse_str(many_functions(2000)).unwrap();
    let (digest, manifest, signature) = signed(&key, "many", &module);
    runtime.put_artifact(&digest, &manifest, &signature, Arc::from(module)).unwrap();
    let unbudgeted = submit(&runtime, &digest, TaskSpec::default()).unwrap().wait(None).unwrap();
    let fuel = TaskSpec { resources: Resources { fuel: Some(1_000_000), ..Default::default() }, ..Default::default() };
    let budgeted = submit(&runtime, &digest, fuel).unwrap().wait(None).unwrap();
    assert_eq!(unbudgeted.usage.tier, Some(Tier::Baseline), "ran at once, before Cranelift was done");
    assert_eq!(budgeted.status, TaskStatus::Succeeded);
    assert_eq!(budgeted.usage.tier, Some(Tier::Optimized), "waited for Cranelift's code");
}

#[test]
fn published_outcomes_arrive_once_on_the_ended_feed() {
    let node = node();
    let digest = node.put_wat("hello", &command("(call $write (i32.const 1024) (i32.const 3))", "hi\\n"));
    let published = TaskSpec { publish_end: true, ..TaskSpec::default() };
    let ids: Vec<String> =
        (0..5).map(|_| submit(&node.runtime, &digest, published.clone()).unwrap().id.clone()).collect();
    let quiet = submit(&node.runtime, &digest, TaskSpec::default()).unwrap();
    quiet.wait(Some(Duration::from_secs(30))).unwrap();
    let mut seen = Vec::new();
    while seen.len() < ids.len() {
        let batch = node.runtime.next_ended(2, Some(Duration::from_secs(30)));
        assert!(!batch.outcomes.is_empty() && batch.outcomes.len() <= 2);
        for outcome in batch.outcomes {
            assert_eq!(&*outcome.stdout, b"hi\n");
            assert_eq!(outcome.stdout_digest, Some(vyr_core::Digest::of(b"hi\n")));
            seen.push(outcome.id.clone());
        }
    }
    seen.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "each published task once, the unpublished one never");
    assert!(node.runtime.next_ended(8, Some(Duration::from_millis(50))).outcomes.is_empty());
}

#[test]
fn guest_paths_are_checked_before_the_task_is_queued() {
    let node = node();
    let digest = node.put_wat("hello", &command("", ""));
    node.runtime.create_state("a", "ephemeral", None).unwrap();
    node.runtime.create_state("b", "ephemeral", None).unwrap();
    let spec = |paths: [&str; 2]| TaskSpec {
        bindings: vec![BindingSpec::new("a", Mode::Ro).at(paths[0]), BindingSpec::new("b", Mode::Rw).at(paths[1])],
        ..TaskSpec::default()
    };
    for bad in [["/", "/out"], ["/data", "/data/"], ["/in", "relative"], ["/in", "/x/../y"]] {
        let error = submit(&node.runtime, &digest, spec(bad)).unwrap_err();
        assert!(matches!(error, VyrError::InvalidState(_)), "{bad:?}: {error}");
    }
    assert!(node.runtime.list_states().iter().all(|s| s.bound_tasks == 0), "refused bindings left tickets");
    let ok = submit(&node.runtime, &digest, spec(["/", "/"].map(|_| "/in")).clone()).unwrap_err();
    assert!(matches!(ok, VyrError::InvalidState(_)));
    let task = submit(&node.runtime, &digest, spec(["/in", "/out"])).unwrap();
    let outcome = task.wait(Some(Duration::from_secs(30))).unwrap();
    assert_eq!(outcome.status, TaskStatus::Succeeded, "{}", outcome.reason);
    let paths: Vec<_> = outcome.bindings.iter().map(|b| b.path.as_str()).collect();
    assert_eq!(paths, ["/in", "/out"]);
}
