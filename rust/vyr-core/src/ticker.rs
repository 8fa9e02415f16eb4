//! The `vyr-epoch` thread: it drives every deadline and cancel check by advancing the engines'
//! epochs each millisecond, and sweeps lingering states every 100 ms.

use std::sync::atomic::Ordering;
use std::sync::Weak;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Result, VyrError};
use crate::node::Shared;

/// Starts the ticker; it stops once the node is dropped, or is stopping with no task left.
pub(crate) fn spawn_ticker(shared: Weak<Shared>) -> Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("vyr-epoch".into())
        .spawn(move || {
            let mut tick: u64 = 0;
            loop {
                std::thread::sleep(Duration::from_millis(1));
                let Some(shared) = shared.upgrade() else { return };
                if shared.stopping.load(Ordering::Acquire) && shared.active.load(Ordering::Acquire) == 0 {
                    return;
                }
                for engine in shared.engine.engines() {
                    engine.increment_epoch();
                }
                tick += 1;
                if tick % 100 == 0 {
                    shared.states.sweep();
                }
            }
        })
        .map_err(|error| VyrError::Internal(format!("cannot start the epoch ticker thread: {error}")))
}
