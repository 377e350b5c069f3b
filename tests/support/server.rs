//! The real server binary as a child process, which tests can kill (SIGKILL) or stop
//! (SIGTERM) and start again on the same database and port. Shared by the crash test and the
//! API tests.
//!
//! The first start binds port 0 and reads the port the server reports ("listening on ...");
//! a restart binds that same port again, so that clients keep their address.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

#[path = "listening.rs"]
mod listening;
use listening::port_from_log;

/// The real server binary, killed and restarted on one database and one port.
pub struct Server {
    child: Option<Child>,
    port: u16,
    /// `--database`: a SQLite path or a PostgreSQL URL.
    db: String,
    /// `--login-user-limit`: failed logins per username (by default, all but unlimited).
    login_user_limit: u32,
    pub starts: u32,
}

impl Server {
    pub fn start(db: &str) -> Self {
        Self::start_limiting_logins(db, 1_000_000)
    }

    /// A server that throttles a username after `per_user` failed logins.
    pub fn start_limiting_logins(db: &str, per_user: u32) -> Self {
        let mut server = Self {
            child: None,
            port: 0,
            db: db.to_owned(),
            login_user_limit: per_user,
            starts: 0,
        };
        server.spawn();
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) and waits until it says where it listens.
    pub fn spawn(&mut self) {
        let mut command = Command::new(env!("CARGO_BIN_EXE_chatroom"));
        super::database::key_env(&mut command, &self.db);
        let mut child = command
            .args(["serve", "--bind", &format!("127.0.0.1:{}", self.port)])
            .args(["--bcrypt-cost", "4", "--message-limit", "1000000"])
            .args(["--room-limit", "1000000", "--login-user-limit"])
            .arg(self.login_user_limit.to_string())
            .args(["--login-address-limit", "1000000", "--database"])
            .arg(&self.db)
            // Only the line that names the address: the rest would fill the pipe.
            .env("RUST_LOG", "error,chatroom::startup=info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let port = port_from_log(child.stderr.take().unwrap(), false);
        self.child = Some(child);
        self.starts += 1;
        assert!(self.port == 0 || self.port == port, "restarted elsewhere");
        self.port = port;
    }

    /// SIGKILL: no chance to flush, close or say goodbye.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// SIGTERM: the server finishes what it has in hand and exits by itself.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let status = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill -TERM failed");
            let exit = child.wait().unwrap();
            assert!(exit.success(), "the server exited with {exit}");
        }
    }

    /// SIGSTOP: the process stands still (its timers too) until `resume`, while the kernel
    /// keeps accepting connections for it.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT, after `pause`.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let child = self.child.as_ref().expect("the server runs");
        let status = Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} failed");
    }

    pub async fn wait_until_up(&self) {
        let client = reqwest::Client::new();
        let healthz = format!("{}/healthz", self.url());
        super::wait::wait_until(Duration::from_secs(60), "the server up", || async {
            client
                .get(&healthz)
                .timeout(Duration::from_millis(500))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
        })
        .await;
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}
