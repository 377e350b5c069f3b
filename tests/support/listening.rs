//! The port a server binary listens on, read from its log ("listening on http://ADDR:PORT"):
//! servers under test bind port 0, so that no other program can take their port first.

use std::io::{BufRead, BufReader};
use std::process::ChildStderr;

/// Reads the log until the server says where it listens. The rest of the log is echoed to
/// this process's stderr (`echo`) or dropped, on a thread of its own, so the server never
/// blocks on a full pipe.
pub fn port_from_log(log: ChildStderr, echo: bool) -> u16 {
    let mut lines = BufReader::new(log).lines();
    let mut before = Vec::new();
    let port = lines
        .by_ref()
        .map_while(Result::ok)
        .find_map(|line| {
            let port = line
                .split("listening on http://")
                .nth(1)
                .and_then(|addr| addr.rsplit(':').next()?.trim().parse::<u16>().ok());
            before.push(line);
            port
        })
        .unwrap_or_else(|| {
            panic!(
                "the server ended without saying where it listens; it said:\n{}",
                before.join("\n")
            )
        });
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if echo {
                eprintln!("{line}");
            }
        }
    });
    port
}
