//! The `studio` command line: the arguments as clap parses them ([`args`]) and a function per
//! verb; the people-facing verbs call the running stack's HTTP API ([`Api`]).

pub mod api;
pub mod args;
pub mod assistants;
pub mod chunk;
pub mod ingest;
pub mod knowledge;
pub mod local;
mod mailbox;

use std::path::{Path, PathBuf};

pub use api::Api;
pub(crate) use api::print_table;
use args::{Cli, Command, Schedule, Session, StateDir};

use crate::stack::options::default_state_dir;

/// Runs the verb `cli` names.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Up(up) => local::up(up).await,
        Command::Token(token) => local::token(&token),
        Command::Mailbox(mailbox) => local::mailbox(&mailbox),
        Command::MockProviders(mock) => local::mock_providers(&mock).await,
        Command::Chunk(chunk) => chunk::run(&chunk),
        Command::Ingest(ingest) => {
            let api = ingest.session.connect()?;
            let all_done = ingest::ingest(&api, &ingest.repo, &ingest.paths).await?;
            anyhow::ensure!(
                all_done,
                "some files did not complete (see the reasons above)"
            );
            Ok(())
        }
        Command::Search(search) => {
            let api = search.session.connect()?;
            knowledge::search(&api, search.repo.as_deref(), &search.query.join(" ")).await
        }
        Command::Items(items) => knowledge::items(&items.session.connect()?, &items.repo).await,
        Command::Chat(chat) => {
            let api = chat.session.connect()?;
            let question = chat.question.join(" ");
            knowledge::chat(&api, &question, chat.repo.as_deref(), &chat.model).await
        }
        Command::Assistants(session) => assistants::assistants(&session.connect()?).await,
        Command::Run(run) => {
            let api = run.session.connect()?;
            assistants::run(&api, &run.assistant.join(" "), &run.input).await
        }
        Command::Schedules(session) => assistants::schedules(&session.connect()?).await,
        Command::Schedule(Schedule::Create(create)) => {
            assistants::create_schedule(&create.session.connect()?, &create).await
        }
    }
}

/// The checkout this runs in: the nearest folder holding `schema/`.
fn checkout_root() -> anyhow::Result<PathBuf> {
    let cwd = std::env::current_dir()?;
    Ok(cwd
        .ancestors()
        .find(|p| p.join("schema").is_dir())
        .unwrap_or(&cwd)
        .to_owned())
}

impl StateDir {
    /// The folder named, else the checkout's default.
    pub fn resolve(&self) -> anyhow::Result<PathBuf> {
        match &self.path {
            Some(path) => Ok(path.clone()),
            None => Ok(default_state_dir(&checkout_root()?)),
        }
    }

    /// The folder named, else the default of the checkout at `root`.
    pub fn resolve_in(&self, root: &Path) -> PathBuf {
        self.path.clone().unwrap_or_else(|| default_state_dir(root))
    }
}

impl Session {
    /// Signs in to the running stack as the user this session names.
    pub fn connect(&self) -> anyhow::Result<Api> {
        Api::connect(&self.state_dir.resolve()?, &self.user)
    }
}
