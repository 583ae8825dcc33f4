//! One thread for every libnetcdf call. The `netcdf` crate already
//! serialises calls behind a global lock, so nothing runs in parallel
//! anyway; doing them all on one thread also keeps HDF5 quiet: libnetcdf
//! turns HDF5's error printing off for the thread that initialised it
//! only, and every other thread would print a stack for each attribute
//! probe libnetcdf makes while opening a file.

use std::sync::mpsc::{Sender, channel, sync_channel};
use std::sync::{Mutex, OnceLock};

use super::attrs::err;
use crate::error::DecodeError;

type Job = Box<dyn FnOnce() + Send>;

fn sender() -> Option<Sender<Job>> {
    static SENDER: OnceLock<Option<Mutex<Sender<Job>>>> = OnceLock::new();
    SENDER
        .get_or_init(|| {
            let (tx, rx) = channel::<Job>();
            std::thread::Builder::new()
                .name("netcdf".into())
                .spawn(move || {
                    for job in rx {
                        job();
                    }
                })
                .ok()
                .map(|_| Mutex::new(tx))
        })
        .as_ref()
        .and_then(|m| m.lock().ok().map(|s| s.clone()))
}

/// Runs `f` on the NetCDF thread and waits for its result.
pub(crate) fn run<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DecodeError> + Send + 'static,
) -> Result<T, DecodeError> {
    let (tx, rx) = sync_channel(1);
    let job: Job = Box::new(move || {
        // A panic in libnetcdf's wrapper must not take the thread down.
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err(err("the NetCDF reader panicked")));
        let _ = tx.send(out);
    });
    sender()
        .ok_or_else(|| err("the NetCDF thread could not start"))?
        .send(job)
        .map_err(|_| err("the NetCDF thread has stopped"))?;
    rx.recv()
        .unwrap_or_else(|_| Err(err("the NetCDF thread dropped the request")))
}
