//! The command line of `studio`, as clap parses it: a subcommand per verb, each flag with its
//! default and, where one helps, the environment variable that sets it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use shared::chunk::ChunkConfig;

use crate::stack::options;

/// The seeded user the people-facing verbs act as unless told otherwise.
pub const DEFAULT_USER: &str = "staff@example.com";
/// The repository `ingest` and `items` use unless told otherwise.
pub const DEFAULT_REPOSITORY: &str = "Inbox";

/// The local AI studio: runs the stack, and uses it over its HTTP API as a person would.
#[derive(Debug, Parser)]
#[command(name = "studio", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Starts the local stack (PostgreSQL, Data API, moto, the template's functions) until Ctrl-C
    Up(Up),
    /// Prints a bearer token for a seeded user of the running stack
    Token(Token),
    /// Adds files and folders to a repository and follows every file to its end
    Ingest(Ingest),
    /// Prints the best passages for a query, from every repository you can read or one
    Search(Search),
    /// Lists a repository's items with their status
    Items(Items),
    /// Streams an answer with numbered sources from every repository you can read or one
    Chat(Chat),
    /// Lists the assistants you see, with their status
    Assistants(Session),
    /// Runs an assistant, showing each prompt as it finishes
    Run(Run),
    /// Lists your schedules
    Schedules(Session),
    /// Manages schedules
    #[command(subcommand)]
    Schedule(Schedule),
    /// Shows how a file is extracted and chunked (no stack needed)
    Chunk(Chunk),
    /// Serves mock OpenAI / Azure / Gemini providers until Ctrl-C (tests, benchmarks)
    MockProviders(MockProviders),
    /// Lists the e-mails the stack's functions sent, or shows one
    Mailbox(Mailbox),
}

/// The running stack's folder.
#[derive(Debug, Clone, Args)]
pub struct StateDir {
    /// The stack's folder: its data, dev key and stack.env [default: .local in the checkout]
    #[arg(long = "state-dir", value_name = "DIR", env = "STUDIO_STATE_DIR")]
    pub path: Option<PathBuf>,
}

/// Who a people-facing verb acts as, on which running stack.
#[derive(Debug, Clone, Args)]
pub struct Session {
    /// The seeded user to act as (admin@, staff@ or student@example.com)
    #[arg(long = "as", value_name = "EMAIL", env = "STUDIO_USER", default_value = DEFAULT_USER)]
    pub user: String,
    #[command(flatten)]
    pub state_dir: StateDir,
}

#[derive(Debug, Args)]
pub struct Up {
    #[command(flatten)]
    pub state_dir: StateDir,
    /// PostgreSQL's port
    #[arg(long, value_name = "N", env = "STUDIO_PG_PORT", default_value_t = options::PG_PORT)]
    pub pg_port: u16,
    /// The local RDS Data API server's port
    #[arg(long, value_name = "N", env = "STUDIO_DATA_API_PORT", default_value_t = options::DATA_API_PORT)]
    pub data_api_port: u16,
    /// moto's port (S3, SQS, Secrets Manager, EventBridge, SES v2)
    #[arg(long, value_name = "N", env = "STUDIO_MOTO_PORT", default_value_t = options::MOTO_PORT)]
    pub moto_port: u16,
    /// The API's port (the front door API Gateway would be)
    #[arg(long, value_name = "N", env = "STUDIO_FRONT_DOOR_PORT", default_value_t = options::FRONT_DOOR_PORT)]
    pub front_door_port: u16,
    /// The local Bedrock runtime's port
    #[arg(long, value_name = "N", env = "STUDIO_BEDROCK_PORT", default_value_t = options::BEDROCK_PORT)]
    pub bedrock_port: u16,
    /// The local embedding model's port (OpenAI's embeddings API)
    #[arg(long, value_name = "N", env = "STUDIO_EMBEDDINGS_PORT", default_value_t = options::EMBEDDINGS_PORT)]
    pub embeddings_port: u16,
    /// Runs without moto, and so without the functions
    #[arg(long)]
    pub no_moto: bool,
    /// Runs without the template's functions
    #[arg(long)]
    pub no_functions: bool,
    /// Leaves out the demo data: the team, a user per role, the offline model catalogue
    #[arg(long)]
    pub no_seed: bool,
    /// Writes "ready" to this file once the stack is up
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// The SAM template to run [default: infra/template.yaml in the checkout]
    #[arg(long, value_name = "PATH")]
    pub template: Option<PathBuf>,
    /// Overrides a template parameter, as sam deploy --parameter-overrides does (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub parameter: Vec<(String, String)>,
}

#[derive(Debug, Args)]
pub struct Token {
    /// The seeded user's e-mail (admin@, staff@ or student@example.com)
    pub email: String,
    #[command(flatten)]
    pub state_dir: StateDir,
}

#[derive(Debug, Args)]
pub struct Ingest {
    /// The files and folders to add (folders with everything under them)
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The repository to add them to, created when missing
    #[arg(long, value_name = "NAME", default_value = DEFAULT_REPOSITORY)]
    pub repo: String,
    #[command(flatten)]
    pub session: Session,
}

#[derive(Debug, Args)]
pub struct Search {
    /// What to search for (several words are one query)
    #[arg(required = true, value_name = "QUERY")]
    pub query: Vec<String>,
    /// Search only this repository [default: every repository you can read]
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub session: Session,
}

#[derive(Debug, Args)]
pub struct Items {
    /// The repository to list
    #[arg(long, value_name = "NAME", default_value = DEFAULT_REPOSITORY)]
    pub repo: String,
    #[command(flatten)]
    pub session: Session,
}

#[derive(Debug, Args)]
pub struct Chat {
    /// The question (several words are one question)
    #[arg(required = true, value_name = "QUESTION")]
    pub question: Vec<String>,
    /// Answer from this repository only [default: every repository you can read]
    #[arg(long, value_name = "NAME")]
    pub repo: Option<String>,
    /// The model to answer with (an id or its provider's model id)
    #[arg(long, value_name = "ID", default_value = "offline-answerer")]
    pub model: String,
    #[command(flatten)]
    pub session: Session,
}

#[derive(Debug, Args)]
pub struct Run {
    /// The assistant's name or id (several words are one name)
    #[arg(required = true, value_name = "ASSISTANT")]
    pub assistant: Vec<String>,
    /// A value for one of the assistant's fields; commas separate a multi-select's choices (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub input: Vec<(String, String)>,
    #[command(flatten)]
    pub session: Session,
}

#[derive(Debug, Subcommand)]
pub enum Schedule {
    /// Schedules an assistant to run on a recurrence
    Create(CreateSchedule),
}

#[derive(Debug, Args)]
pub struct CreateSchedule {
    /// The assistant's name or id
    pub assistant: String,
    /// The schedule's name [default: the assistant's]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub recurrence: Recurrence,
    /// The time zone the times are in (IANA, e.g. Europe/Paris)
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    pub tz: String,
    /// A value for one of the assistant's fields (repeatable)
    #[arg(long, value_name = "KEY=VALUE", value_parser = key_value)]
    pub input: Vec<(String, String)>,
    #[command(flatten)]
    pub session: Session,
}

/// When a schedule runs: exactly one of these.
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = false)]
pub struct Recurrence {
    /// Every day at this time
    #[arg(long, value_name = "HH:MM")]
    pub daily: Option<String>,
    /// On these days at this time, e.g. MON,WED@09:00
    #[arg(long, value_name = "DAYS@HH:MM", value_parser = weekly)]
    pub weekly: Option<(Vec<String>, String)>,
    /// On this day of the month at this time, e.g. 1@09:00
    #[arg(long, value_name = "DAY@HH:MM", value_parser = monthly)]
    pub monthly: Option<(u8, String)>,
    /// A cron expression
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
}

#[derive(Debug, Args)]
pub struct Chunk {
    /// The file to extract and chunk
    pub file: PathBuf,
    /// Prints the report as JSON: pages, outline, chunks, timings
    #[arg(long)]
    pub json: bool,
    /// The largest chunk, in estimated tokens
    #[arg(long, value_name = "N", default_value_t = ChunkConfig::default().max_tokens)]
    pub max_tokens: usize,
    /// The tokens each chunk repeats from the one before
    #[arg(long, value_name = "N", default_value_t = ChunkConfig::default().overlap_tokens)]
    pub overlap: usize,
}

#[derive(Debug, Args)]
pub struct MockProviders {
    /// The port to serve on (0 picks a free one, printed on the first line)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub port: u16,
}

#[derive(Debug, Args)]
pub struct Mailbox {
    /// Shows this message's headers and text (1 is the oldest)
    #[arg(long, value_name = "N")]
    pub show: Option<usize>,
    #[command(flatten)]
    pub state_dir: StateDir,
}

/// `KEY=VALUE`, split at the first `=`.
fn key_value(pair: &str) -> Result<(String, String), String> {
    pair.split_once('=')
        .map(|(key, value)| (key.to_owned(), value.to_owned()))
        .ok_or_else(|| "expected KEY=VALUE".to_owned())
}

/// `MON,WED@09:00`: the days and the time.
fn weekly(value: &str) -> Result<(Vec<String>, String), String> {
    let (days, time) = value
        .split_once('@')
        .ok_or_else(|| "expected DAYS@HH:MM, e.g. MON,WED@09:00".to_owned())?;
    Ok((
        days.split(',').map(str::to_owned).collect(),
        time.to_owned(),
    ))
}

/// `1@09:00`: the day of the month and the time.
fn monthly(value: &str) -> Result<(u8, String), String> {
    let (day, time) = value
        .split_once('@')
        .ok_or_else(|| "expected DAY@HH:MM, e.g. 1@09:00".to_owned())?;
    let day = day
        .parse()
        .map_err(|_| format!("{day:?} is not a day of the month"))?;
    Ok((day, time.to_owned()))
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
