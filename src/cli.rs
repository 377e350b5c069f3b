//! The command line: `chatroom [serve] [flags]` and `chatroom initdb [flags]`.

use std::net::IpAddr;

use clap::builder::BoolishValueParser;
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
    /// Write a consistent copy of a SQLite database while the server runs (on PostgreSQL,
    /// use pg_dump).
    Backup(BackupArgs),
    /// Make a user an administrator of this server, or no longer one.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// List, create, delete and read rooms, while the server runs.
    #[command(subcommand)]
    Rooms(RoomsCommand),
    /// List, disable and enable accounts, and reset passwords, while the server runs.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Create, list and delete bots, and set their outgoing webhooks, while the server runs.
    #[command(subcommand)]
    Bots(BotsCommand),
    /// Chat from the terminal with a chatroom server.
    Chat(ChatArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ChatArgs {
    /// The server's address.
    #[arg(
        long,
        env = "CHATROOM_SERVER",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    pub server: String,

    /// Your username (asked for if not given). The password is always asked for, unechoed.
    #[arg(long, env = "CHATROOM_USER", value_name = "NAME")]
    pub user: Option<String>,

    /// Create the account instead of logging in.
    #[arg(long)]
    pub register: bool,

    /// Keep the login in ~/.config/chatroom/session.json (readable by you only) and stay
    /// logged in on quitting, so that the next run needs no password.
    #[arg(long)]
    pub remember: bool,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminCommand {
    /// Make NAME an administrator.
    Grant(AdminArgs),
    /// Make NAME no longer an administrator (never the last one).
    Revoke(AdminArgs),
}

#[derive(Debug, Clone, Args)]
pub struct AdminArgs {
    /// The user's name.
    pub name: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum RoomsCommand {
    /// Every public room, with its creator, message count and last activity.
    List(ListArgs),
    /// Create a public room (nobody is moved into it).
    Create(RoomCreateArgs),
    /// Delete a public room (NAME, or --id N) and its messages; anyone inside is told, as
    /// with any deletion.
    Delete(RoomArgs),
    /// The latest entries of a public room (NAME, or --id N), as text.
    Tail(TailArgs),
}

#[derive(Debug, Clone, Subcommand)]
pub enum UsersCommand {
    /// Every account (or those whose name contains --search), with when each registered and
    /// was last seen.
    List(UserListArgs),
    /// Disable an account: its sessions end at once, and it cannot log in.
    Disable(UserArgs),
    /// Enable a disabled account.
    Enable(UserArgs),
    /// Give an account a one-time password and end every session of it: the next login with
    /// it must choose a new password before anything else. Prints a new random one, or with
    /// --stdin reads one from standard input.
    ResetPassword(ResetPasswordArgs),
}

#[derive(Debug, Clone, Subcommand)]
pub enum BotsCommand {
    /// Create a bot and print its API token, this once (only its hash is kept).
    Create(BotCreateArgs),
    /// Every bot, with its outgoing webhook and the last failure to deliver there.
    List(ListArgs),
    /// Delete a bot: its tokens stop working and its account is disabled; what it wrote stays.
    Delete(UserArgs),
    /// Set the URL the bot is told at when it is mentioned or written to directly, or --clear it.
    Webhook(BotWebhookArgs),
}

#[derive(Debug, Clone, Args)]
pub struct BotCreateArgs {
    /// The bot's name (the rules of a username).
    pub name: String,

    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Clone, Args)]
#[group(id = "webhook", required = true, multiple = false, args = ["address", "clear"])]
pub struct BotWebhookArgs {
    /// The bot's name (in any letter case).
    pub name: String,

    /// An absolute http:// or https:// URL.
    #[arg(value_name = "URL")]
    pub address: Option<String>,

    /// Stop telling the bot anything.
    #[arg(long)]
    pub clear: bool,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ListArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UserListArgs {
    /// Only names containing this (in any letter case).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub search: String,

    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RoomCreateArgs {
    /// The room's name.
    pub name: String,

    /// Who owns it (may delete it and moderate it); by default the oldest administrator.
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Clone, Args)]
pub struct RoomArgs {
    #[command(flatten)]
    pub room: RoomChoice,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

/// Which room: a name, or `--id N`, never a guess between the two (a room may be named "3").
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct RoomChoice {
    /// The room's name, in any letter case (always a name, even "3"; after `--` if it starts
    /// with '-').
    #[arg(value_name = "NAME")]
    pub name: Option<String>,

    /// The room's number instead, as `rooms list` shows it.
    #[arg(long, value_name = "N")]
    pub id: Option<i32>,
}

#[derive(Debug, Clone, Args)]
pub struct TailArgs {
    #[command(flatten)]
    pub room: RoomChoice,

    /// How many entries, the latest last.
    #[arg(short = 'n', default_value_t = 20, value_name = "N",
          value_parser = clap::value_parser!(i64).range(1..=10_000))]
    pub count: i64,

    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, Clone, Args)]
pub struct UserArgs {
    /// The user's name (in any letter case).
    pub name: String,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ResetPasswordArgs {
    /// The user's name (in any letter case).
    pub name: String,

    /// Read the new password from standard input (one line) instead of making one up.
    #[arg(long)]
    pub stdin: bool,

    /// bcrypt cost factor for the new hash (4 to 31).
    #[arg(long, env = "CHATROOM_BCRYPT_COST", default_value_t = defaults::BCRYPT_COST,
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// Where to write the copy.
    #[arg(value_name = "FILE")]
    pub file: std::path::PathBuf,

    /// Replace FILE if it exists.
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// The database: a SQLite file's path (created if missing), or a PostgreSQL URL,
    /// postgres://USER:PASSWORD@HOST:PORT/DBNAME (the database must exist).
    #[arg(
        long = "database",
        env = "DATABASE_URL",
        default_value = "chat.db",
        value_name = "PATH|URL"
    )]
    pub url: String,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address and port to listen on, or `unix:PATH` for a unix socket (only for a reverse
    /// proxy: whoever connects through it may name the client's address).
    #[arg(
        long,
        env = "CHATROOM_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR",
        help_heading = "Network"
    )]
    pub bind: String,

    #[command(flatten, next_help_heading = "Database")]
    pub database: DatabaseArgs,

    /// Mark the session and form cookies Secure, with the __Host- prefix. Turn this on
    /// whenever the app is served over HTTPS. From the environment: 1/0, true/false, yes/no,
    /// on/off.
    #[arg(long, env = "CHATROOM_SECURE_COOKIES", help_heading = "Network",
          value_parser = BoolishValueParser::new())]
    pub secure_cookies: bool,

    /// bcrypt cost factor for new password hashes (4 to 31).
    #[arg(long, env = "CHATROOM_BCRYPT_COST", default_value_t = defaults::BCRYPT_COST,
          help_heading = "Passwords and sessions",
          value_parser = clap::value_parser!(u32).range(4..=31))]
    pub bcrypt_cost: u32,

    /// A session ends after this many seconds without a request.
    #[arg(long, env = "CHATROOM_SESSION_IDLE_SECS", default_value_t = defaults::SESSION_IDLE_SECS,
          help_heading = "Passwords and sessions",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_idle_secs: u64,

    /// A session ends this many seconds after login, however active.
    #[arg(long, env = "CHATROOM_SESSION_LIFETIME_SECS", default_value_t = defaults::SESSION_LIFETIME_SECS,
          help_heading = "Passwords and sessions",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub session_lifetime_secs: u64,

    /// The address of the reverse proxy in front of the app. Only requests from it may name
    /// the client's address in X-Forwarded-For; otherwise the socket peer is the client.
    #[arg(
        long,
        env = "CHATROOM_TRUSTED_PROXY",
        value_name = "IP",
        help_heading = "Network"
    )]
    pub trusted_proxy: Option<IpAddr>,

    /// The address people reach the server at, as `https://chat.example` (a port if it is
    /// not the scheme's own). Then it is the only Host answered (others get 400; /healthz
    /// excepted) and the origin of the links the server makes, such as invitations.
    #[arg(
        long,
        env = "CHATROOM_PUBLIC_URL",
        value_name = "URL",
        help_heading = "Network"
    )]
    pub public_url: Option<String>,

    /// For tests only: also take web push subscriptions whose endpoint is
    /// http://127.0.0.1:PORT/..., a local receiver (real push services are https).
    #[arg(long, env = "CHATROOM_PUSH_INSECURE_LOOPBACK", help_heading = "Network",
          value_parser = BoolishValueParser::new())]
    pub push_insecure_loopback: bool,

    #[command(flatten, next_help_heading = "Limits")]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Failed logins for one username within the login window before further attempts get 429.
    #[arg(long, env = "CHATROOM_LOGIN_USER_LIMIT", default_value_t = defaults::LOGIN_USER_LIMIT)]
    pub login_user_limit: u32,

    /// Failed logins from one client address within the login window before 429.
    #[arg(long, env = "CHATROOM_LOGIN_ADDRESS_LIMIT",
          default_value_t = defaults::LOGIN_ADDRESS_LIMIT)]
    pub login_address_limit: u32,

    /// The login window, in seconds.
    #[arg(long, env = "CHATROOM_LOGIN_WINDOW_SECS", default_value_t = defaults::LOGIN_WINDOW_SECS)]
    pub login_window_secs: u64,

    /// Registrations one client address may attempt within the registration window; more
    /// get 429.
    #[arg(long, env = "CHATROOM_REGISTRATION_LIMIT",
          default_value_t = defaults::REGISTRATION_LIMIT)]
    pub registration_limit: u32,

    /// The registration window, in seconds.
    #[arg(long, env = "CHATROOM_REGISTRATION_WINDOW_SECS",
          default_value_t = defaults::REGISTRATION_WINDOW_SECS)]
    pub registration_window_secs: u64,

    /// Password hashes and checks (logins, registrations) that may wait or run at once; more
    /// get 503 at once.
    #[arg(long, env = "CHATROOM_HASH_QUEUE_LIMIT", default_value_t = defaults::HASH_QUEUE_LIMIT,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub hash_queue_limit: usize,

    /// Messages one user may post within the message window; more get 429.
    #[arg(long, env = "CHATROOM_MESSAGE_LIMIT", default_value_t = defaults::MESSAGE_LIMIT)]
    pub message_limit: u32,

    /// The message window, in seconds.
    #[arg(long, env = "CHATROOM_MESSAGE_WINDOW_SECS",
          default_value_t = defaults::MESSAGE_WINDOW_SECS)]
    pub message_window_secs: u64,

    /// Rooms one user may create within the room window; more get 429.
    #[arg(long, env = "CHATROOM_ROOM_LIMIT", default_value_t = defaults::ROOM_LIMIT)]
    pub room_limit: u32,

    /// The room window, in seconds.
    #[arg(long, env = "CHATROOM_ROOM_WINDOW_SECS", default_value_t = defaults::ROOM_WINDOW_SECS)]
    pub room_window_secs: u64,

    /// Searches one user may make within the search window; more get 429.
    #[arg(long, env = "CHATROOM_SEARCH_LIMIT", default_value_t = defaults::SEARCH_LIMIT)]
    pub search_limit: u32,

    /// The search window, in seconds.
    #[arg(long, env = "CHATROOM_SEARCH_WINDOW_SECS", default_value_t = defaults::SEARCH_WINDOW_SECS)]
    pub search_window_secs: u64,

    /// A request not answered within this many seconds (a stalled upload, say) gets 408.
    #[arg(long, env = "CHATROOM_REQUEST_TIMEOUT_SECS",
          default_value_t = defaults::REQUEST_TIMEOUT_SECS,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout_secs: u64,

    /// The largest file one upload may carry, in bytes; a larger one gets 413 before the rest
    /// of it is read. An upload may take the request timeout plus one second for every 32 KiB
    /// (a slow phone on a bad connection).
    #[arg(long, env = "CHATROOM_ATTACHMENT_MAX_BYTES",
          default_value_t = defaults::ATTACHMENT_MAX_BYTES,
          value_parser = clap::value_parser!(u64).range(1..=1 << 30))]
    pub attachment_max_bytes: u64,
}

/// The documented defaults, shared by the command line and `Settings::new`.
pub mod defaults {
    pub const LOGIN_USER_LIMIT: u32 = 10;
    pub const LOGIN_ADDRESS_LIMIT: u32 = 30;
    pub const LOGIN_WINDOW_SECS: u64 = 15 * 60;
    /// A class of thirty behind one school address, each trying a name or two that is taken,
    /// with room for a second class within the hour.
    pub const REGISTRATION_LIMIT: u32 = 100;
    pub const REGISTRATION_WINDOW_SECS: u64 = 3600;
    /// Eight for each of the four hashing threads: at cost 12 (a quarter of a second of a
    /// core each) a full queue empties in about 4 s on two cores, well inside the request
    /// timeout, and a class of thirty logging in at once still fits.
    pub const HASH_QUEUE_LIMIT: usize = 32;
    pub const MESSAGE_LIMIT: u32 = 20;
    pub const MESSAGE_WINDOW_SECS: u64 = 10;
    pub const ROOM_LIMIT: u32 = 10;
    pub const ROOM_WINDOW_SECS: u64 = 3600;
    pub const SEARCH_LIMIT: u32 = 30;
    pub const SEARCH_WINDOW_SECS: u64 = 60;
    pub const REQUEST_TIMEOUT_SECS: u64 = 30;
    /// 10 MiB: a phone's photo or a document, well within one row of either database.
    pub const ATTACHMENT_MAX_BYTES: u64 = 10 * 1024 * 1024;
    pub const BCRYPT_COST: u32 = 12;
    pub const SESSION_IDLE_SECS: u64 = 7 * 24 * 3600;
    pub const SESSION_LIFETIME_SECS: u64 = 30 * 24 * 3600;
}
