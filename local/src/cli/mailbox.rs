//! `studio mailbox`: the e-mails the stack's functions sent, listed or one shown.

use std::path::Path;

use anyhow::Context;
use mail_parser::MessageParser;

use crate::mailbox::messages;

/// Prints the mailbox as a table.
#[allow(clippy::print_stdout)]
pub fn list(dir: &Path) -> anyhow::Result<()> {
    let all = messages(dir)?;
    println!("{} message(s) in {}", all.len(), dir.display());
    let rows: Vec<Vec<String>> = all
        .iter()
        .enumerate()
        .map(|(i, m)| {
            vec![
                (i + 1).to_string(),
                m.date.clone(),
                m.to.clone(),
                m.subject.clone(),
                m.attachments.join(", "),
            ]
        })
        .collect();
    super::print_table(&["#", "date", "to", "subject", "attachments"], &rows);
    Ok(())
}

/// Prints message `number` (1 = the oldest): headers, its text body, its attachments.
#[allow(clippy::print_stdout)]
pub fn show(dir: &Path, number: usize) -> anyhow::Result<()> {
    let all = messages(dir)?;
    let found = number
        .checked_sub(1)
        .and_then(|i| all.get(i))
        .with_context(|| format!("no message {number}; the mailbox holds {}", all.len()))?;
    let bytes = std::fs::read(&found.file)?;
    let message = MessageParser::default()
        .parse(&bytes)
        .context("not an e-mail")?;
    println!("File:        {}", found.file.display());
    println!("Date:        {}", found.date);
    println!("To:          {}", found.to);
    println!("Subject:     {}", found.subject);
    println!("Attachments: {}\n", found.attachments.join(", "));
    println!("{}", message.body_text(0).unwrap_or_default());
    Ok(())
}
