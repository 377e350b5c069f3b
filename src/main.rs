use std::process::ExitCode;

use clap::Parser;

use chatroom::cli::{Cli, Command};
use chatroom::config::Settings;
use chatroom::{commands, db, models, startup::Application};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The terminal client draws the whole screen: a log line would tear through it.
    if !matches!(cli.command, Some(Command::Chat(_))) {
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    }
    let result = match cli.command {
        Some(Command::Initdb(args)) => initdb(&args.url),
        Some(Command::Backup(args)) => backup(&args),
        Some(Command::Admin(command)) => report(commands::admin(&command)),
        Some(Command::Rooms(command)) => report(commands::rooms(&command)),
        Some(Command::Users(command)) => report(commands::users(&command)),
        Some(Command::Bots(command)) => report(commands::bots(&command)),
        Some(Command::Serve(args)) => serve(args),
        Some(Command::Chat(args)) => chat(args),
        None => serve(cli.serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("chatroom: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)] // initdb's report is its output, whatever the log level.
fn initdb(url: &str) -> anyhow::Result<()> {
    let (report, clashes) = models::initialize(url)?;
    println!("{report}");
    for clash in &clashes {
        eprintln!("chatroom: {clash}");
    }
    Ok(())
}

#[allow(clippy::print_stdout)] // What it wrote is its output, whatever the log level.
fn backup(args: &chatroom::cli::BackupArgs) -> anyhow::Result<()> {
    let report = db::backup(&args.database.url, &args.file, args.force)?;
    println!("{report}");
    Ok(())
}

/// A server command's report is its output, whatever the log level.
#[allow(clippy::print_stdout)]
fn report(output: anyhow::Result<String>) -> anyhow::Result<()> {
    println!("{}", output?);
    Ok(())
}

fn chat(args: chatroom::cli::ChatArgs) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(chatroom::client::run(args))
}

fn serve(args: chatroom::cli::ServeArgs) -> anyhow::Result<()> {
    let settings = Settings::from_args(args)?;
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}
