//! How clap reads the tricky parts of the command line: repeated flags, the schedule's one
//! recurrence, values that must be split or numbers.

use clap::error::ErrorKind;

use super::*;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("studio").chain(args.iter().copied()))
}

#[test]
fn the_command_line_is_well_formed() {
    use clap::CommandFactory;
    Cli::command().debug_assert();
}

#[test]
fn parameter_may_be_repeated_and_splits_at_the_first_equals_sign() {
    let cli = parse(&[
        "up",
        "--parameter",
        "EmbeddingProvider=offline",
        "--parameter",
        "Note=a=b",
    ])
    .unwrap();
    let Command::Up(up) = cli.command else {
        panic!("not up: {cli:?}")
    };
    assert_eq!(
        up.parameter,
        [
            ("EmbeddingProvider".to_owned(), "offline".to_owned()),
            ("Note".to_owned(), "a=b".to_owned())
        ]
    );
}

#[test]
fn a_parameter_without_an_equals_sign_is_refused() {
    let error = parse(&["up", "--parameter", "EmbeddingProvider"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    assert!(error.to_string().contains("KEY=VALUE"), "{error}");
}

#[test]
fn a_schedule_takes_exactly_one_recurrence() {
    let both = parse(&[
        "schedule",
        "create",
        "Digest",
        "--daily",
        "09:00",
        "--cron",
        "0 9 * * *",
    ])
    .unwrap_err();
    assert_eq!(both.kind(), ErrorKind::ArgumentConflict);
    let none = parse(&["schedule", "create", "Digest"]).unwrap_err();
    assert_eq!(none.kind(), ErrorKind::MissingRequiredArgument);
}

#[test]
fn a_weekly_schedule_names_its_days_and_time() {
    let cli = parse(&[
        "schedule",
        "create",
        "Digest",
        "--weekly",
        "MON,WED@09:30",
        "--tz",
        "Europe/Paris",
        "--input",
        "topic=owls",
    ])
    .unwrap();
    let Command::Schedule(Schedule::Create(create)) = cli.command else {
        panic!("not schedule create: {cli:?}")
    };
    assert_eq!(
        create.recurrence.weekly,
        Some((vec!["MON".to_owned(), "WED".to_owned()], "09:30".to_owned()))
    );
    assert_eq!(create.tz, "Europe/Paris");
    assert_eq!(create.input, [("topic".to_owned(), "owls".to_owned())]);
}

#[test]
fn a_monthly_day_must_be_a_number() {
    let error = parse(&["schedule", "create", "Digest", "--monthly", "last@09:00"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
}

#[test]
fn search_joins_its_words_and_flags_may_follow_them() {
    let cli = parse(&[
        "search",
        "barn",
        "owl",
        "--repo",
        "Field notes",
        "--as",
        "admin@example.com",
    ])
    .unwrap();
    let Command::Search(search) = cli.command else {
        panic!("not search: {cli:?}")
    };
    assert_eq!(search.query.join(" "), "barn owl");
    assert_eq!(search.repo.as_deref(), Some("Field notes"));
    assert_eq!(search.session.user, "admin@example.com");
}

#[test]
fn ingest_needs_a_path_and_defaults_to_the_inbox() {
    assert_eq!(
        parse(&["ingest"]).unwrap_err().kind(),
        ErrorKind::MissingRequiredArgument
    );
    let Command::Ingest(ingest) = parse(&["ingest", "notes.md"]).unwrap().command else {
        panic!("not ingest")
    };
    assert_eq!(ingest.repo, DEFAULT_REPOSITORY);
}

#[test]
fn token_help_is_help_not_an_email() {
    let error = parse(&["token", "--help"]).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::DisplayHelp);
}
