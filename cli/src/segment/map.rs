//! `mlpipe segment map`.

use std::io::{Read as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use segment_personalize_core::{self as segment, plan, split_messages, Config, Layout};
use shared::config::{ConfigError, Env};

#[derive(Debug, Args)]
pub struct MapArgs {
    /// Segment message(s): a JSON file, or - for standard input
    #[arg(value_name = "FILE|-")]
    input: PathBuf,

    /// Configuration file: a JSON object whose keys are the forwarder's environment variable
    /// names (lists may be arrays, EVENT_TYPE_MAP an object). Without it, the configuration
    /// comes from the environment, as in the function.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

pub fn run(args: MapArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;

    let text = if args.input.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .context("cannot read standard input")?;
        s
    } else {
        std::fs::read_to_string(&args.input)
            .with_context(|| format!("cannot read {}", args.input.display()))?
    };
    let (layout, messages) = split_messages(&text).map_err(|e| anyhow::anyhow!("{e}"))?;
    if messages.is_empty() {
        anyhow::bail!("the input holds no messages");
    }

    let p = plan(&config, messages.iter().map(|m| config.map_str(m.text)));

    let mut out = std::io::stdout().lock();
    for call in &p.put_events {
        out.write_all(call.request.to_json().as_bytes())?;
        out.write_all(b"\n")?;
    }
    for call in &p.put_users {
        out.write_all(call.request.to_json().as_bytes())?;
        out.write_all(b"\n")?;
    }
    out.flush()?;

    // Problems in input order.
    let mut notes: Vec<(usize, String)> = p
        .invalid
        .iter()
        .map(|(i, e)| (*i, e.to_string()))
        .chain(
            p.ignored
                .iter()
                .map(|(i, r)| (*i, format!("ignored: {}", r.reason))),
        )
        .chain(
            p.warnings
                .iter()
                .map(|(i, w)| (*i, format!("warning: {w}"))),
        )
        .collect();
    // Stable: a message's warnings stay in the order they were found.
    notes.sort_by_key(|(i, _)| *i);
    let mut err = std::io::stderr().lock();
    for (i, note) in &notes {
        writeln!(err, "message {i}: {note}")?;
    }
    tracing::info!(
        layout = match layout {
            Layout::Single => "single",
            Layout::Array => "array",
            Layout::Lines => "lines",
        },
        messages = messages.len(),
        put_events_calls = p.put_events.len(),
        events = p.event_count(),
        put_users_calls = p.put_users.len(),
        ignored = p.ignored.len(),
        invalid = p.invalid.len(),
        warnings = p.warnings.len(),
        skipped_elements = p.skipped_elements,
        "mapped"
    );
    if p.invalid.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        writeln!(
            err,
            "{} of {} messages invalid",
            p.invalid.len(),
            messages.len()
        )?;
        Ok(ExitCode::FAILURE)
    }
}

fn load_config(file: Option<&PathBuf>) -> anyhow::Result<Config> {
    let hint = |e: ConfigError, source: &str| {
        if e.name == segment::config::TRACKING_ID {
            anyhow::anyhow!(
                "{e} ({source}: the event tracker's tracking id is required to build PutEvents requests)"
            )
        } else {
            anyhow::anyhow!("{e} ({source})")
        }
    };
    match file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read configuration {}", path.display()))?;
            Config::from_json(&text).map_err(|e| hint(e, &format!("in {}", path.display())))
        }
        None => Config::from_source(&Env)
            .map_err(|e| hint(e, "from the environment; or give --config FILE")),
    }
}
