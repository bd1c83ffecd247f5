//! The accept loop the testkit's servers share: one thread accepting on 127.0.0.1, one
//! thread per connection, and a stop flag checked before each connection is served (a
//! server stops by setting its flag and connecting once, to wake the loop); and the reading
//! of one HTTP/1.1 request they all need.

use std::io::{BufRead, BufReader, Read};
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

/// Method, path, lower-cased headers and body of one HTTP request.
pub(crate) type RawRequest = (String, String, Vec<(String, String)>, Vec<u8>);

pub(crate) fn read_request(reader: &mut BufReader<TcpStream>) -> Option<RawRequest> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut words = line.split_whitespace();
    let method = words.next()?.to_string();
    let path = words.next()?.to_string();
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim().to_string());
            if k == "content-length" {
                length = v.parse().ok()?;
            }
            headers.push((k, v));
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((method, path, headers, body))
}
