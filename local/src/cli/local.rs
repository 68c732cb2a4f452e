//! `studio up`, `token`, `mailbox` and `mock-providers`: the verbs that run the stack or read
//! its folder, rather than call its API.

use std::path::PathBuf;

use anyhow::Context;

use crate::cli::args;
use crate::stack::{self, Options};

/// Starts the stack as `args` says, prints where everything is, and runs until Ctrl-C or
/// SIGTERM.
pub async fn up(args: args::Up) -> anyhow::Result<()> {
    let root = super::checkout_root()?;
    let mut options = Options::for_checkout(&root);
    options.state_dir = args.state_dir.resolve_in(&root);
    options.pg_port = args.pg_port;
    options.data_api_port = args.data_api_port;
    options.moto_port = args.moto_port;
    options.front_door_port = args.front_door_port;
    options.bedrock_port = args.bedrock_port;
    options.embeddings_port = args.embeddings_port;
    options.moto = !args.no_moto;
    options.functions = !args.no_functions;
    options.seed = !args.no_seed;
    if let Some(template) = args.template {
        options.template = template;
    }
    options.parameters = args.parameter;
    let ready_file = args.ready_file;
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

/// Prints a token for a seeded user (by e-mail), signed with the stack's dev key.
#[allow(clippy::print_stdout)]
pub fn token(args: &args::Token) -> anyhow::Result<()> {
    let email = args.email.as_str();
    let (sub, _, name, _, _) = stack::seed::DEMO_USERS
        .iter()
        .find(|u| u.1 == email)
        .with_context(|| {
            format!("{email} is not a seeded user; seeded: admin@, staff@, student@example.com")
        })?;
    let key_file = args.state_dir.resolve()?.join("dev-jwt.key");
    anyhow::ensure!(
        key_file.exists(),
        "no dev key at {}: start the stack first",
        key_file.display()
    );
    let key = crate::front_door::DevKey::load_or_create(&key_file)?;
    println!("{}", key.mint(sub, email, Some(name), 12)?);
    Ok(())
}

/// Lists the stack's mailbox, or shows one message (`--show N`, 1 = the oldest).
pub fn mailbox(args: &args::Mailbox) -> anyhow::Result<()> {
    let dir = match std::env::var_os("STUDIO_MAILBOX_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => args.state_dir.resolve()?.join("mailbox"),
    };
    match args.show {
        Some(number) => super::mailbox::show(&dir, number),
        None => super::mailbox::list(&dir),
    }
}

/// Serves the mock providers until Ctrl-C; scripts go to `PUT /_mock/script`.
#[allow(clippy::print_stdout)]
pub async fn mock_providers(args: &args::MockProviders) -> anyhow::Result<()> {
    let port = args.port;
    let mock = crate::mock_providers::MockProviders::bind(([127, 0, 0, 1], port).into()).await?;
    println!("Mock providers on http://{}", mock.addr);
    println!("  OpenAI / compatible base_url  {}", mock.openai_base_url());
    println!("  Azure endpoint                {}", mock.azure_endpoint());
    println!("  Gemini base_url               {}", mock.gemini_base_url());
    println!("  Script: PUT /_mock/script, POST /_mock/faults, GET /_mock/requests");
    tokio::signal::ctrl_c().await?;
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
        crate::embeddings::MODEL_ID
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
