//! The accept loop the testkit's servers share: one thread accepting on 127.0.0.1, one
//! thread per connection, and a stop flag checked before each connection is served (a
//! server stops by setting its flag and connecting once, to wake the loop).

use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Serves every connection to `listener` with `serve` on its own thread until `stop(state)`
/// is set; the threads are named `{name}-accept` and `{name}-conn`.
pub(crate) fn accept_each<S: Send + Sync + 'static>(
    listener: TcpListener,
    name: &str,
    state: Arc<S>,
    stop: fn(&S) -> &AtomicBool,
    serve: fn(TcpStream, &S),
) -> std::io::Result<()> {
    let conn = format!("{name}-conn");
    std::thread::Builder::new()
        .name(format!("{name}-accept"))
        .spawn(move || {
            for stream in listener.incoming() {
                if stop(&state).load(Ordering::Relaxed) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = Arc::clone(&state);
                let _ = std::thread::Builder::new()
                    .name(conn.clone())
                    .spawn(move || serve(stream, &state));
            }
        })?;
    Ok(())
}
