//! `studio`: the local stack's command line.

use std::path::PathBuf;

use anyhow::Context;
use studio_local::stack::{self, Options};

const USAGE: &str = "usage:
  studio up [--state-dir DIR] [--pg-port N] [--data-api-port N] [--moto-port N] [--front-door-port N]
            [--bedrock-port N] [--embeddings-port N] [--no-moto] [--no-functions] [--no-seed] [--ready-file PATH]
            [--template PATH] [--parameter Key=Value]...   the SAM template it runs, and overrides
  studio token <email> [--state-dir DIR]    a bearer token for a seeded user of the running stack
  (the verbs below also take --state-dir DIR: the running stack's, default .local/state)
  studio ingest <files or folders>... [--repo NAME] [--as EMAIL]
  studio search <query> [--repo NAME] [--as EMAIL]
  studio items [--repo NAME] [--as EMAIL]
  studio chat <question> [--repo NAME] [--model ID] [--as EMAIL]   streams the answer with numbered citations
  studio assistants [--as EMAIL]             the assistants you see, with their status
  studio run <assistant> [--input key=value]... [--as EMAIL]      runs it, showing each prompt as it finishes
  studio schedules [--as EMAIL]
  studio schedule create <assistant> [--name N] (--daily HH:MM | --weekly MON,WED@HH:MM | --monthly 31@HH:MM
                         | --cron EXPR) [--tz ZONE] [--input key=value]...
  studio chunk FILE [--json] [--max-tokens N] [--overlap N]   how a file is extracted and chunked (no stack)
  studio mock-providers [--port N]          mock OpenAI / Azure / Gemini servers (tests, benchmarks)
  studio mailbox [--state-dir DIR] [--show N]  the e-mails the stack's functions sent";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tokio_postgres=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("up") => up(args.collect()).await,
        Some("token") => token(args.collect()),
        Some("mock-providers") => mock_providers(args.collect()).await,
        Some("mailbox") => mailbox(args.collect()),
        Some("chunk") => studio_local::cli_chunk::run(args.collect()),
        Some(verb @ ("ingest" | "search" | "items" | "chat")) => people(verb, args.collect()).await,
        _ => anyhow::bail!("{USAGE}"),
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

async fn up(args: Vec<String>) -> anyhow::Result<()> {
    let mut options = Options::for_checkout(&checkout_root()?);
    let mut ready_file = None;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{flag} needs a value\n{USAGE}"))
        };
        match flag.as_str() {
            "--state-dir" => options.state_dir = value()?.into(),
            "--pg-port" => options.pg_port = value()?.parse()?,
            "--data-api-port" => options.data_api_port = value()?.parse()?,
            "--moto-port" => options.moto_port = value()?.parse()?,
            "--ready-file" => ready_file = Some(PathBuf::from(value()?)),
            "--front-door-port" => options.front_door_port = value()?.parse()?,
            "--bedrock-port" => options.bedrock_port = value()?.parse()?,
            "--embeddings-port" => options.embeddings_port = value()?.parse()?,
            "--template" => options.template = value()?.into(),
            "--parameter" => {
                let pair = value()?;
                let (key, value) = pair
                    .split_once('=')
                    .with_context(|| format!("--parameter takes Key=Value, not {pair:?}"))?;
                options.parameters.push((key.to_owned(), value.to_owned()));
            }
            "--no-functions" => options.functions = false,
            "--no-moto" => options.moto = false,
            "--no-seed" => options.seed = false,
            other => anyhow::bail!("unknown option {other}\n{USAGE}"),
        }
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let stack = tokio::select! {
        stack = stack::up(&options) => stack?,
        _ = tokio::signal::ctrl_c() => anyhow::bail!("interrupted while starting"),
        _ = terminate.recv() => anyhow::bail!("terminated while starting"),
    };
    print_summary(&stack, &options);
    if let Some(path) = ready_file {
        std::fs::write(path, "ready\n")?;
    }
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        _ = terminate.recv() => {},
    }
    tracing::info!("Stopping the stack");
    stack.stop().await;
    Ok(())
}

/// `ingest`, `search` and `items`, as the seeded user `--as` (staff by default).
async fn people(verb: &str, args: Vec<String>) -> anyhow::Result<()> {
    let mut options = Options::for_checkout(&checkout_root()?);
    let (mut repository, mut email, mut rest, mut model) = (
        "Inbox".to_owned(),
        "staff@example.com".to_owned(),
        Vec::new(),
        "offline-answerer".to_owned(),
    );
    let mut chat_repository = None;
    let mut inputs = Vec::new();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--repo" => {
                repository = args.next().context("--repo needs a name")?;
                chat_repository = Some(repository.clone());
            }
            "--model" => model = args.next().context("--model needs a model id")?,
            "--input" if verb == "run" => {
                inputs.push(args.next().context("--input takes key=value")?)
            }
            "--as" => email = args.next().context("--as needs an e-mail")?,
            "--state-dir" => {
                options.state_dir = args.next().context("--state-dir needs a value")?.into()
            }
            _ => rest.push(arg),
        }
    }
    let api = studio_local::cli::Api::connect(&options.state_dir, &email)?;
    match verb {
        "ingest" => {
            anyhow::ensure!(!rest.is_empty(), "{USAGE}");
            let paths: Vec<PathBuf> = rest.into_iter().map(PathBuf::from).collect();
            let all_done = studio_local::cli_ingest::ingest(&api, &repository, &paths).await?;
            anyhow::ensure!(
                all_done,
                "some files did not complete (see the reasons above)"
            );
            Ok(())
        }
        "search" => studio_local::cli::search(&api, &repository, &rest.join(" ")).await,
        "assistants" => studio_local::cli_assistants::assistants(&api).await,
        "run" => {
            anyhow::ensure!(!rest.is_empty(), "{USAGE}");
            studio_local::cli_assistants::run(&api, &rest.join(" "), &inputs).await
        }
        "schedules" => studio_local::cli_assistants::schedules(&api).await,
        "schedule" => match rest.split_first() {
            Some((create, args)) if create == "create" => {
                studio_local::cli_assistants::create_schedule(&api, args).await
            }
            _ => anyhow::bail!("{USAGE}"),
        },
        "chat" => {
            anyhow::ensure!(!rest.is_empty(), "{USAGE}");
            studio_local::cli::chat(&api, &rest.join(" "), chat_repository.as_deref(), &model).await
        }
        _ => studio_local::cli::items(&api, &repository).await,
    }
}

/// Serves the mock providers until Ctrl-C; scripts go to `PUT /_mock/script`.
#[allow(clippy::print_stdout)]
async fn mock_providers(args: Vec<String>) -> anyhow::Result<()> {
    let mut port = 0u16;
    let mut args = args.into_iter();
    while let Some(flag) = args.next() {
        match flag.as_str() {
            "--port" => port = args.next().context("--port needs a value")?.parse()?,
            other => anyhow::bail!("unknown option {other}\n{USAGE}"),
        }
    }
    let mock =
        studio_local::mock_providers::MockProviders::bind(([127, 0, 0, 1], port).into()).await?;
    println!("Mock providers on http://{}", mock.addr);
    println!("  OpenAI / compatible base_url  {}", mock.openai_base_url());
    println!("  Azure endpoint                {}", mock.azure_endpoint());
    println!("  Gemini base_url               {}", mock.gemini_base_url());
    println!("  Script: PUT /_mock/script, POST /_mock/faults, GET /_mock/requests");
    tokio::signal::ctrl_c().await?;
    Ok(())
}

/// Lists the local mailbox, or shows one message (`--show N`, 1 = the oldest).
fn mailbox(args: Vec<String>) -> anyhow::Result<()> {
    let mut options = Options::for_checkout(&checkout_root()?);
    let mut show = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state-dir" => {
                options.state_dir = args.next().context("--state-dir needs a value")?.into()
            }
            "--show" => show = Some(args.next().context("--show needs a number")?.parse()?),
            other => anyhow::bail!("unknown option {other}\n{USAGE}"),
        }
    }
    let dir = std::env::var_os("STUDIO_MAILBOX_DIR")
        .map_or_else(|| options.state_dir.join("mailbox"), PathBuf::from);
    match show {
        Some(number) => studio_local::mailbox::show(&dir, number),
        None => studio_local::mailbox::list(&dir),
    }
}

/// Prints a token for a seeded user (by e-mail), signed with the stack's dev key.
#[allow(clippy::print_stdout)]
fn token(args: Vec<String>) -> anyhow::Result<()> {
    let mut options = Options::for_checkout(&checkout_root()?);
    let mut email = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--state-dir" => {
                options.state_dir = args.next().context("--state-dir needs a value")?.into()
            }
            other => email = Some(other.to_owned()),
        }
    }
    let email = email.context(USAGE)?;
    let (sub, _, name, _, _) = stack::seed::DEMO_USERS
        .iter()
        .find(|u| u.1 == email)
        .with_context(|| {
            format!("{email} is not a seeded user; seeded: admin@, staff@, student@example.com")
        })?;
    let key_file = options.state_dir.join("dev-jwt.key");
    anyhow::ensure!(
        key_file.exists(),
        "no dev key at {}: start the stack first",
        key_file.display()
    );
    let key = studio_local::front_door::DevKey::load_or_create(&key_file)?;
    println!("{}", key.mint(sub, &email, Some(name), 12)?);
    Ok(())
}

#[allow(clippy::print_stdout)]
fn print_summary(stack: &stack::Stack, options: &Options) {
    println!(
        "\nAI studio local stack is up ({:.1}s)\n",
        stack.started_in.as_secs_f64()
    );
    println!("  Data API      {}", stack.data_api.endpoint());
    if options.database_url.is_none() {
        println!(
            "  PostgreSQL    postgres://postgres@127.0.0.1:{}/{}",
            options.pg_port, options.database
        );
    }
    println!(
        "  Bedrock       {} (local runtime: Titan v2 / Cohere embeddings, Converse, ConverseStream)",
        stack.bedrock.endpoint()
    );
    println!(
        "  Embeddings    {} (OpenAI API: {}, loaded on first use)",
        stack.embeddings.base_url(),
        studio_local::embeddings::MODEL_ID
    );
    if let Some(functions) = &stack.functions {
        println!(
            "  API           http://{} (token: studio token staff@example.com)",
            functions.front_door
        );
    }
    if options.moto {
        println!(
            "  moto          http://127.0.0.1:{} (S3, SQS, Secrets Manager, EventBridge, SES v2)",
            options.moto_port
        );
    }
    println!(
        "  Mailbox       {} (studio mailbox lists it)",
        stack.mailbox.display()
    );
    if let Some(mock) = &stack.mock_search {
        println!(
            "  Web search    {} (a Brave Search mock for the web_search tool)",
            mock.base_url()
        );
    }
    println!(
        "  Demo team     {} with users {}",
        stack::seed::DEMO_TEAM_ID,
        stack::seed::DEMO_USERS
            .iter()
            .map(|u| u.1)
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!(
        "\nEnvironment for functions and tools (also in {}):\n",
        options.state_dir.join("stack.env").display()
    );
    for (name, value) in &stack.env {
        println!("export {name}={value}");
    }
    println!("\nCtrl-C stops everything.");
}
