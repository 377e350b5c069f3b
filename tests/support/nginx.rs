//! nginx in front of several servers, run with the shipped deploy/nginx.conf: its upstream
//! servers replaced by the ones given, its port by a free one. Shared by the cluster test
//! and the load benchmark.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Nginx {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts `command` (nginx) in front of `upstreams` ("127.0.0.1:PORT" or URLs), with
    /// `prefix` before the command (`taskset -c 0`, say) if not empty.
    pub fn start(command: &str, prefix: &[&str], upstreams: &[String]) -> Self {
        Self::start_exempting(command, prefix, upstreams, &[])
    }

    /// The same, with the per-client limits lifted for `exempt` addresses (a benchmark, whose
    /// thousands of users all come from 127.0.0.1, measures the servers, not the limits).
    pub fn start_exempting(
        command: &str,
        prefix: &[&str],
        upstreams: &[String],
        exempt: &[&str],
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let path = dir.path().join("nginx.conf");
        std::fs::write(&path, config(port, upstreams, exempt)).unwrap();
        let mut run = match prefix.split_first() {
            Some((first, rest)) => {
                let mut run = Command::new(first);
                run.args(rest).arg(command);
                run
            }
            None => Command::new(command),
        };
        let child = run
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&path)
            .args(["-g", "daemon off;"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, port, dir }
    }

    /// What nginx wrote to its access log so far (it writes at least once a second).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("access.log")).unwrap_or_default()
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Blocks until nginx accepts connections (at most 20 s).
    pub fn wait_until_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Nginx {
    /// Stops nginx with SIGTERM, which its master passes on to its workers before it exits.
    /// SIGKILL (if it has not gone within 5 s) ends the master alone, and would leave its
    /// workers running, holding the port.
    fn drop(&mut self) {
        use rustix::process::{Pid, Signal, kill_process};

        let _ = kill_process(Pid::from_child(&self.child), Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while matches!(self.child.try_wait(), Ok(None)) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// deploy/nginx.conf, listening on `port` of 127.0.0.1, in front of `upstreams`, with the
/// per-client limits lifted for `exempt`.
fn config(port: u16, upstreams: &[String], exempt: &[&str]) -> String {
    let shipped = include_str!("../../deploy/nginx.conf");
    let mut config = String::new();
    let mut in_upstream = false;
    for line in shipped.lines() {
        let trimmed = line.trim_start();
        if in_upstream && trimmed.starts_with("server ") {
            continue;
        }
        if let Some(rest) = trimmed.strip_prefix("listen 8080") {
            config.push_str(&format!("        listen 127.0.0.1:{port}{rest}\n"));
            continue;
        }
        config.push_str(line);
        config.push('\n');
        if trimmed.starts_with("upstream chatroom {") {
            in_upstream = true;
            for upstream in upstreams {
                let address = upstream.trim_start_matches("http://");
                config.push_str(&format!(
                    "        server {address} max_fails=2 fail_timeout=5s;\n"
                ));
            }
        } else if trimmed.starts_with('}') {
            in_upstream = false;
        } else if trimmed.starts_with("geo $unlimited {") {
            for address in exempt {
                config.push_str(&format!("        {address} 1;\n"));
            }
        }
    }
    assert!(
        config.contains(&format!("listen 127.0.0.1:{port}")),
        "deploy/nginx.conf no longer says `listen 8080`"
    );
    config
}

/// A port nobody listens on just now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
