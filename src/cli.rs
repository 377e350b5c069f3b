//! The command line: `chatroom [serve] [flags]` and `chatroom initdb [flags]`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "chatroom", version, about = "A small multi-room chat server")]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// With no command, `chatroom` serves: these are `serve`'s flags.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web app (the default). Creates and migrates the database if needed.
    Serve(ServeArgs),
    /// Create the database if it is missing and apply any pending migrations.
    Initdb(DatabaseArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Path of the SQLite database file.
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "chat.db",
        value_name = "PATH"
    )]
    pub path: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(
        long,
        env = "CHATROOM_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    pub bind: String,

    #[command(flatten)]
    pub database: DatabaseArgs,

    /// Mark the session cookie Secure. Turn this on whenever the app is served over HTTPS.
    #[arg(long, env = "CHATROOM_SECURE_COOKIES")]
    pub secure_cookies: bool,

    /// bcrypt cost factor for new password hashes (4 to 31).
    #[arg(long, env = "CHATROOM_BCRYPT_COST", default_value_t = 12,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// A session ends after this many seconds without a request.
    #[arg(long, env = "CHATROOM_SESSION_IDLE_SECS", default_value_t = 7 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after login, however active.
    #[arg(long, env = "CHATROOM_SESSION_LIFETIME_SECS", default_value_t = 30 * 24 * 3600,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_lifetime_secs: u64,
}
