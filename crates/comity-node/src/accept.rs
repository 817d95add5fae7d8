//! Accepting connections without spinning: an accept error (out of descriptors, a connection
//! aborted before it was taken) waits 50 ms, doubling to 1 s while errors last, and a burst of
//! errors is logged once when it starts and once when it ends.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(1);

pub(crate) struct Accepting {
    listener: TcpListener,
    /// Which listener, for the log.
    name: &'static str,
    /// Errors in a row, and the pause after the last one.
    failures: u64,
    pause: Duration,
}

impl Accepting {
    pub(crate) fn new(listener: TcpListener, name: &'static str) -> Self {
        Accepting {
            listener,
            name,
            failures: 0,
            pause: FIRST_PAUSE,
        }
    }

    /// The next connection; errors are waited out.
    pub(crate) async fn next(&mut self) -> (TcpStream, SocketAddr) {
        loop {
            match self.listener.accept().await {
                Ok(accepted) => {
                    if self.failures > 0 {
                        tracing::info!(
                            listener = self.name,
                            errors = self.failures,
                            "accepting connections again"
                        );
                        self.failures = 0;
                        self.pause = FIRST_PAUSE;
                    }
                    return accepted;
                }
                Err(e) => {
                    if self.failures == 0 {
                        tracing::warn!(
                            listener = self.name,
                            error = %e,
                            "cannot accept connections; retrying with back-off (out of descriptors: raise the limit or lower limits.* caps)"
                        );
                    } else {
                        self.pause = (self.pause * 2).min(LONGEST_PAUSE);
                    }
                    self.failures += 1;
                    tokio::time::sleep(self.pause).await;
                }
            }
        }
    }
}
