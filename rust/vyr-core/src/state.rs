//! Ephemeral state: named directories that live only while tasks are bound to them (plus a
//! linger), are never persisted, and order their tasks by submission with respect to writers.
//!
//! A read-write task works on a private copy that is committed (swapped in) only when the task
//! succeeds and the copy is within the size cap; any other ending leaves the state as it was.
//!
//! Each committed version has a tree digest (`vyrTreeV1`), its bytes and entry count, computed
//! once when the version is made (create, fill, commit) and cached: listing and binding a
//! state never walk it.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::sync::Notify;

use crate::clock::now_unix_nanos;
use crate::error::{Result, VyrError};
use crate::export;
use crate::fill::{self, FillLimits, MAX_FILES};
use crate::fsutil::{copy_tree, fill_random, remove_tree, temp_name};
use crate::guest_path;
use crate::outcome::BoundState;
use crate::tree_digest::{summarize, TreeSummary, EMPTY_TREE};

/// How a task is bound to a state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Ro,
    Rw,
}

impl Mode {
    /// Parses "ro" or "rw".
    pub fn parse(text: &str) -> Result<Mode> {
        match text {
            "ro" => Ok(Mode::Ro),
            "rw" => Ok(Mode::Rw),
            other => Err(VyrError::InvalidState(format!("mode {other:?}: expected \"ro\" or \"rw\""))),
        }
    }
}

/// The only state class at MVO.
pub const EPHEMERAL: &str = "ephemeral";

/// A state as listed.
#[derive(Clone, Debug, Serialize)]
pub struct StateInfo {
    pub id: String,
    pub name: String,
    pub class: &'static str,
    pub created_unix_nanos: u64,
    pub bound_tasks: usize,
    pub bytes: u64,
    /// Entries (files, directories, symlinks).
    pub files: u64,
    /// The committed version's `vyrTreeV1` digest.
    pub digest: String,
}

/// A place in a state's queue, held by one task from submit (or bind) until it ends.
#[derive(Clone, Debug)]
pub struct Ticket {
    pub state_id: String,
    pub name: String,
    pub seq: u64,
    pub mode: Mode,
    /// Where the task sees the state (normalised).
    pub path: String,
}

impl Ticket {
    /// The binding as a task's outcome reports it.
    pub fn bound_state(&self) -> BoundState {
        BoundState {
            state_id: self.state_id.clone(),
            name: self.name.clone(),
            mode: self.mode,
            path: self.path.clone(),
            before: None,
            after: None,
        }
    }
}

struct Entry {
    name: String,
    dir: PathBuf,
    created_unix_nanos: u64,
    next_seq: u64,
    /// Tickets of tasks not yet ended, in submission order.
    queue: VecDeque<(u64, Mode)>,
    linger_until: Option<Instant>,
    /// Of the committed version.
    summary: TreeSummary,
}

/// All live states of one node, in a directory private to this process.
pub struct StateRegistry {
    base: PathBuf,
    linger: Duration,
    max_bytes: u64,
    entries: Mutex<Registry>,
    changed: Notify,
}

#[derive(Default)]
struct Registry {
    live: HashMap<String, Entry>,
    /// Ids of freed states, so binding one says "freed" rather than "unknown".
    freed: VecDeque<String>,
}

const FREED_REMEMBERED: usize = 10_000;

impl StateRegistry {
    /// A registry under `base_parent/<pid>-<random>`; directories of dead processes found there
    /// are removed (state never outlives its node).
    pub fn open(base_parent: &Path, linger: Duration, max_bytes: u64) -> Result<Self> {
        fs::create_dir_all(base_parent).map_err(|e| VyrError::io(base_parent, e))?;
        remove_orphans(base_parent);
        let mut random = [0u8; 6];
        fill_random(&mut random);
        let base = base_parent.join(format!("{}-{}", std::process::id(), hex::encode(random)));
        fs::create_dir(&base).map_err(|e| VyrError::io(&base, e))?;
        Ok(StateRegistry { base, linger, max_bytes, entries: Mutex::new(Registry::default()), changed: Notify::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Creates a state, empty or filled from `source`: a directory, or a file holding a tar
    /// archive (plain or gzip). Hostile content is refused (see `fill`) and leaves nothing
    /// behind. Names are unique among live states.
    pub fn create(&self, name: &str, class: &str, source: Option<&Path>) -> Result<StateInfo> {
        if class != EPHEMERAL {
            return Err(VyrError::InvalidState(format!(
                "class {class:?}: only \"ephemeral\" exists at MVO (eventual and strong state are out of scope)"
            )));
        }
        let valid = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
            && !name.starts_with('.');
        if !valid {
            return Err(VyrError::InvalidState(format!(
                "name {name:?} must be 1-64 characters of [A-Za-z0-9._-], not starting with '.'"
            )));
        }
        self.refuse_taken(&self.lock(), name)?;
        let mut random = [0u8; 8];
        fill_random(&mut random);
        let id = format!("st-{}", hex::encode(random));
        let dir = self.base.join(&id);
        // Filled (or made) before the lock is taken: unpacking may take a while.
        let summary = match source {
            None => {
                fs::create_dir(&dir).map_err(|e| VyrError::io(&dir, e))?;
                TreeSummary { digest: EMPTY_TREE.to_owned(), bytes: 0, files: 0 }
            }
            Some(source) => {
                let limits = FillLimits { max_bytes: self.max_bytes, max_files: MAX_FILES };
                fill::fill(source, &dir, limits)?;
                match summarize(&dir) {
                    Ok(summary) => summary,
                    Err(error) => {
                        remove_tree(&dir);
                        return Err(error);
                    }
                }
            }
        };
        let mut registry = self.lock();
        if let Err(error) = self.refuse_taken(&registry, name) {
            remove_tree(&dir);
            return Err(error);
        }
        let entry = Entry {
            name: name.to_owned(),
            dir,
            created_unix_nanos: now_unix_nanos(),
            next_seq: 0,
            queue: VecDeque::new(),
            linger_until: Some(Instant::now() + self.linger),
            summary,
        };
        let info = self.info(&id, &entry);
        registry.live.insert(id, entry);
        Ok(info)
    }

    fn refuse_taken(&self, registry: &Registry, name: &str) -> Result<()> {
        if registry.live.values().any(|entry| entry.name == name) {
            return Err(VyrError::InvalidState(format!("a state named {name:?} already exists on this node")));
        }
        Ok(())
    }

    fn info(&self, id: &str, entry: &Entry) -> StateInfo {
        StateInfo {
            id: id.to_owned(),
            name: entry.name.clone(),
            class: EPHEMERAL,
            created_unix_nanos: entry.created_unix_nanos,
            bound_tasks: entry.queue.len(),
            bytes: entry.summary.bytes,
            files: entry.summary.files,
            digest: entry.summary.digest.clone(),
        }
    }

    /// Live states, by name.
    pub fn list(&self) -> Vec<StateInfo> {
        let registry = self.lock();
        let mut all: Vec<_> = registry.live.iter().map(|(id, entry)| self.info(id, entry)).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Takes a place in the state's queue (by id or name), seen at `path` (normalised; None:
    /// `/state/NAME`). The state stays alive until released.
    pub fn acquire(&self, state: &str, mode: Mode, path: Option<&str>) -> Result<Ticket> {
        let mut registry = self.lock();
        let id = resolve(&registry, state)?;
        let entry = registry.live.get_mut(&id).ok_or_else(|| VyrError::StateNotFound(state.to_owned()))?;
        let seq = entry.next_seq;
        entry.next_seq += 1;
        entry.queue.push_back((seq, mode));
        entry.linger_until = None;
        let path = path.map_or_else(|| guest_path::default_for(&entry.name), str::to_owned);
        Ok(Ticket { state_id: id, name: entry.name.clone(), seq, mode, path })
    }

    /// Whether a ticket may run now: a writer waits for every earlier ticket, a reader for
    /// earlier writers only.
    fn is_turn(&self, ticket: &Ticket) -> bool {
        let registry = self.lock();
        let Some(entry) = registry.live.get(&ticket.state_id) else { return true };
        entry
            .queue
            .iter()
            .take_while(|(seq, _)| *seq < ticket.seq)
            .all(|(_, mode)| ticket.mode == Mode::Ro && *mode == Mode::Ro)
    }

    /// Waits until every ticket may run.
    pub async fn wait_turn(&self, tickets: &[Ticket]) {
        loop {
            let notified = self.changed.notified();
            if tickets.iter().all(|ticket| self.is_turn(ticket)) {
                return;
            }
            notified.await;
        }
    }

    /// The directory a task should see for its ticket (a writer gets a private working copy)
    /// and the digest of the version it holds.
    pub fn open_for(&self, ticket: &Ticket) -> Result<(PathBuf, String)> {
        let (dir, digest) = self.version_of(&ticket.state_id)?;
        if ticket.mode == Mode::Ro {
            return Ok((dir, digest));
        }
        let work = self.base.join(temp_name(&format!("work-{}", ticket.state_id)));
        if let Err(error) = copy_tree(&dir, &work) {
            remove_tree(&work);
            return Err(error);
        }
        Ok((work, digest))
    }

    /// The committed directory and its digest.
    fn version_of(&self, id: &str) -> Result<(PathBuf, String)> {
        let registry = self.lock();
        registry
            .live
            .get(id)
            .map(|entry| (entry.dir.clone(), entry.summary.digest.clone()))
            .ok_or_else(|| VyrError::StateFreed(id.to_owned()))
    }

    /// Writes the committed version `ticket` sees (its turn must have come) to `out`: a path
    /// ending in `.tar` gets an archive, any other a directory (see `export::export`).
    pub fn export(&self, ticket: &Ticket, out: &Path) -> Result<StateInfo> {
        let (dir, _) = self.version_of(&ticket.state_id)?;
        export::export(&dir, out)?;
        let registry = self.lock();
        let entry = registry.live.get(&ticket.state_id).ok_or_else(|| VyrError::StateFreed(ticket.state_id.clone()))?;
        Ok(self.info(&ticket.state_id, entry))
    }

    /// Commits a writer's working copy if it is within the size cap and returns the new
    /// version's digest; returns an error (and discards the copy) otherwise.
    pub fn commit(&self, ticket: &Ticket, work: &Path) -> Result<String> {
        let summary = match summarize(work) {
            Ok(summary) if summary.bytes <= self.max_bytes => summary,
            Ok(summary) => {
                remove_tree(work);
                return Err(VyrError::Capacity(format!(
                    "state {:?} would hold {} bytes, over its cap of {} bytes; changes discarded",
                    ticket.name, summary.bytes, self.max_bytes
                )));
            }
            Err(error) => {
                remove_tree(work);
                return Err(error);
            }
        };
        let (dir, _) = self.version_of(&ticket.state_id)?;
        let old = self.base.join(temp_name("old"));
        fs::rename(&dir, &old).map_err(|e| VyrError::io(&dir, e))?;
        fs::rename(work, &dir).map_err(|e| VyrError::io(&dir, e))?;
        let digest = summary.digest.clone();
        if let Some(entry) = self.lock().live.get_mut(&ticket.state_id) {
            entry.summary = summary;
        }
        remove_tree(&old);
        Ok(digest)
    }

    /// Discards a writer's working copy.
    pub fn discard(&self, work: &Path) {
        remove_tree(work);
    }

    /// Gives up a ticket; the last one out starts the linger.
    pub fn release(&self, ticket: &Ticket) {
        {
            let mut registry = self.lock();
            if let Some(entry) = registry.live.get_mut(&ticket.state_id) {
                entry.queue.retain(|(seq, _)| *seq != ticket.seq);
                if entry.queue.is_empty() {
                    entry.linger_until = Some(Instant::now() + self.linger);
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// Frees states whose linger has passed; returns how many were freed.
    pub fn sweep(&self) -> usize {
        let now = Instant::now();
        let mut registry = self.lock();
        let expired: Vec<String> = registry
            .live
            .iter()
            .filter(|(_, entry)| entry.linger_until.is_some_and(|until| until <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            if let Some(entry) = registry.live.remove(id) {
                remove_tree(&entry.dir);
            }
            registry.freed.push_back(id.clone());
            if registry.freed.len() > FREED_REMEMBERED {
                registry.freed.pop_front();
            }
        }
        expired.len()
    }

    /// The id for a name or id, with "freed" and "unknown" told apart.
    pub fn resolve(&self, state: &str) -> Result<String> {
        resolve(&self.lock(), state)
    }
}

fn resolve(registry: &Registry, state: &str) -> Result<String> {
    if registry.live.contains_key(state) {
        return Ok(state.to_owned());
    }
    if let Some((id, _)) = registry.live.iter().find(|(_, entry)| entry.name == state) {
        return Ok(id.clone());
    }
    if registry.freed.iter().any(|id| id == state) {
        return Err(VyrError::StateFreed(state.to_owned()));
    }
    Err(VyrError::StateNotFound(state.to_owned()))
}

impl Drop for StateRegistry {
    fn drop(&mut self) {
        remove_tree(&self.base);
    }
}

/// Removes state directories whose owning process is gone (a node killed with -9).
fn remove_orphans(base_parent: &Path) {
    let Ok(entries) = fs::read_dir(base_parent) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.split('-').next().and_then(|pid| pid.parse::<u32>().ok()) else { continue };
        if !Path::new(&format!("/proc/{pid}")).exists() {
            remove_tree(&entry.path());
        }
    }
}
