//! `mlpipe transcripts redrive`: replays parked Genesys transcript events once the cause is
//! fixed, by putting them on the fetcher's wait queue as fresh events (a new waiting window).
//!
//! Reads every shape a transcript event is parked in (`genesys_lex_core::wait::parked_event`):
//! the fetcher's own parked messages, Lambda's on-failure records and the EventBridge rule's
//! dead letters. A message is deleted only once its events are on the wait queue; a message
//! that holds no event, or (with `--conversation-id`) another conversation's, is left in the
//! queue and made visible again at once.

use std::process::ExitCode;

use anyhow::{Context, Result};
use aws_sdk_sqs::error::DisplayErrorContext;
use aws_sdk_sqs::Client;
use clap::Args;
use genesys_lex_core::wait::{parked_event, Waiting};
use serde_json::Value;

#[derive(Debug, Args)]
pub struct RedriveArgs {
    /// Queue URL of the parked events (the stack output GenesysFetcherFailureQueueUrl, or
    /// GenesysEventsDLQUrl)
    #[arg(long, value_name = "QUEUE_URL")]
    pub from: String,
    /// Queue URL of the fetcher's wait queue (the stack output GenesysTranscriptWaitQueueUrl)
    #[arg(long, value_name = "QUEUE_URL")]
    pub to: String,
    /// Replay only this conversation's events
    #[arg(long)]
    pub conversation_id: Option<String>,
    /// Replay at most this many messages
    #[arg(long)]
    pub max: Option<usize>,
    /// Only list what would be replayed
    #[arg(long)]
    pub dry_run: bool,
}

/// What a redrive did.
#[derive(Debug, Default, PartialEq, Eq)]
struct Tally {
    replayed_messages: usize,
    replayed_events: usize,
    unreadable: usize,
    skipped: usize,
}

pub fn run(args: RedriveArgs) -> Result<ExitCode> {
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let tally = rt.block_on(async {
        let config = shared::aws::sdk_config().await;
        redrive(&Client::new(&config), &args).await
    })?;
    let verb = if args.dry_run {
        "would replay"
    } else {
        "replayed"
    };
    println!(
        "{verb}: {} message(s), {} event(s); left in the queue: {} without an event, {} of other conversations",
        tally.replayed_messages, tally.replayed_events, tally.unreadable, tally.skipped
    );
    Ok(if tally.unreadable > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn conversation_of(event: &Value) -> Option<&str> {
    event["detail"]["eventBody"]["conversationId"].as_str()
}

async fn redrive(sqs: &Client, args: &RedriveArgs) -> Result<Tally> {
    let mut tally = Tally::default();
    let limit = args.max.unwrap_or(usize::MAX);
    // Messages left in place stay hidden for this long, so one sweep sees each message once.
    let hide_seconds = 30;
    let mut released = Vec::new();
    while tally.replayed_messages < limit {
        let out = sqs
            .receive_message()
            .queue_url(&args.from)
            .max_number_of_messages(10)
            .visibility_timeout(hide_seconds)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!("receiving from {}: {}", args.from, DisplayErrorContext(&e))
            })?;
        let messages = out.messages();
        if messages.is_empty() {
            break;
        }
        for m in messages {
            let receipt = m.receipt_handle().unwrap_or_default().to_owned();
            let id = m.message_id().unwrap_or_default();
            let events = m.body().and_then(parked_event);
            let Some(events) = events else {
                eprintln!("message {id}: no transcript event in it; left in the queue");
                tally.unreadable += 1;
                released.push(receipt);
                continue;
            };
            let wanted = match &args.conversation_id {
                Some(c) => events
                    .iter()
                    .all(|e| conversation_of(e) == Some(c.as_str())),
                None => true,
            };
            if !wanted || tally.replayed_messages >= limit {
                tally.skipped += 1;
                released.push(receipt);
                continue;
            }
            for event in &events {
                let conversation = conversation_of(event).unwrap_or("?");
                println!("message {id}: conversation {conversation}");
                if args.dry_run {
                    continue;
                }
                let body = serde_json::to_string(&Waiting {
                    event: event.clone(),
                    attempts: 0,
                    first_attempt_at: shared::clock::unix_seconds(),
                    last_error: "replayed by mlpipe transcripts redrive".into(),
                })?;
                sqs.send_message()
                    .queue_url(&args.to)
                    .message_body(body)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("sending to {}: {}", args.to, DisplayErrorContext(&e))
                    })?;
            }
            tally.replayed_messages += 1;
            tally.replayed_events += events.len();
            if args.dry_run {
                released.push(receipt);
            } else {
                sqs.delete_message()
                    .queue_url(&args.from)
                    .receipt_handle(receipt)
                    .send()
                    .await
                    .map_err(|e| {
                        anyhow::anyhow!("deleting from {}: {}", args.from, DisplayErrorContext(&e))
                    })?;
            }
        }
    }
    // What stays in the queue becomes visible again now, not after `hide_seconds`.
    for receipt in released {
        sqs.change_message_visibility()
            .queue_url(&args.from)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "releasing a message of {}: {}",
                    args.from,
                    DisplayErrorContext(&e)
                )
            })?;
    }
    Ok(tally)
}
