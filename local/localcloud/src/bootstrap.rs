//! `bootstrap`: creates the local copies of the stack's resources in moto, idempotently
//! (what `sam deploy` creates in AWS): SQS queues (with redrive policies), S3 buckets with
//! ObjectCreated notifications to SQS, EventBridge buses, rules and SQS targets, and
//! Secrets Manager secrets, DynamoDB tables (with TTL), SNS topics with SQS subscriptions, and
//! Step Functions state machines from the ASL files in `statemachines/` (placeholders filled as
//! `DefinitionSubstitutions` does). Rerunning it changes nothing that is already right, re-applies
//! notification configurations, rules and targets, and resets secrets to their demo values.
//!
//! moto gap worked around here: moto refuses `/` in rule and PutEvents bus names (it keeps
//! only the text after the last `/`), so a partner event bus such as
//! `aws.partner/genesys.com/cloud/ORG/NAME` cannot hold rules. Besides the partner bus itself
//! (created from a partner event source, as the SaaS integration does), a bus named after the
//! last segment (`NAME`) is created; moto then files the rules, and routes PutEvents calls
//! naming the partner bus, there. Clients keep using the real partner bus name.

use anyhow::{bail, Context as _};
use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

use std::path::Path;

use crate::config::{
    substitute, BucketSpec, EventBusSpec, QueueSpec, SecretSpec, StateMachineSpec, TableSpec,
    TopicSpec,
};

/// An SDK error with its whole chain in its message (the SDK's own `Display` says only
/// "service error").
pub(crate) fn sdk<E: std::error::Error + Send + Sync + 'static>(e: E) -> anyhow::Error {
    anyhow::anyhow!(
        "{}",
        aws_smithy_types::error::display::DisplayErrorContext(&e)
    )
}

/// The AWS clients bootstrap needs, all built from one SDK config.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sns: aws_sdk_sns::Client,
    pub sfn: aws_sdk_sfn::Client,
}

impl Clients {
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        // moto serves S3 path-style only (no wildcard DNS on 127.0.0.1).
        let s3 = aws_sdk_s3::config::Builder::from(sdk)
            .force_path_style(true)
            .build();
        Self {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sqs: aws_sdk_sqs::Client::new(sdk),
            events: aws_sdk_eventbridge::Client::new(sdk),
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            sns: aws_sdk_sns::Client::new(sdk),
            sfn: aws_sdk_sfn::Client::new(sdk),
        }
    }
}

pub(crate) async fn ensure_table(
    dynamodb: &aws_sdk_dynamodb::Client,
    spec: &TableSpec,
) -> anyhow::Result<()> {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        TimeToLiveSpecification,
    };
    let mut create = dynamodb
        .create_table()
        .table_name(&spec.name)
        .billing_mode(BillingMode::PayPerRequest);
    let keys = std::iter::once((&spec.partition_key, KeyType::Hash))
        .chain(spec.sort_key.iter().map(|k| (k, KeyType::Range)));
    for (key, kind) in keys {
        create = create
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(&key.name)
                    .attribute_type(ScalarAttributeType::from(key.kind.as_str()))
                    .build()?,
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name(&key.name)
                    .key_type(kind)
                    .build()?,
            );
    }
    match create.send().await {
        Ok(_) => println!("table   {} (created)", spec.name),
        Err(e) if e.code() == Some("ResourceInUseException") => {
            println!("table   {} (exists)", spec.name)
        }
        Err(e) => return Err(sdk(e)).with_context(|| format!("create_table {}", spec.name)),
    }
    if let Some(attribute) = &spec.ttl_attribute {
        dynamodb
            .update_time_to_live()
            .table_name(&spec.name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attribute)
                    .enabled(true)
                    .build()?,
            )
            .send()
            .await
            .with_context(|| format!("update_time_to_live {}", spec.name))?;
        println!("        ttl on {attribute}");
    }
    Ok(())
}

pub(crate) async fn ensure_topic(
    sns: &aws_sdk_sns::Client,
    spec: &TopicSpec,
    arn_of: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    // CreateTopic is idempotent for the same name and attributes.
    let arn = sns
        .create_topic()
        .name(&spec.name)
        .send()
        .await
        .with_context(|| format!("create_topic {}", spec.name))?
        .topic_arn()
        .unwrap_or_default()
        .to_owned();
    println!("topic   {} ({arn})", spec.name);
    let existing: Vec<String> = sns
        .list_subscriptions_by_topic()
        .topic_arn(&arn)
        .send()
        .await
        .with_context(|| format!("list_subscriptions_by_topic {}", spec.name))?
        .subscriptions()
        .iter()
        .filter_map(|s| s.endpoint().map(str::to_owned))
        .collect();
    for sub in &spec.subscriptions {
        let queue_arn = arn_of(&sub.queue)?;
        if existing.contains(&queue_arn) {
            continue;
        }
        let mut subscribe = sns
            .subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(&queue_arn);
        if sub.raw {
            subscribe = subscribe.attributes("RawMessageDelivery", "true");
        }
        subscribe
            .send()
            .await
            .with_context(|| format!("subscribe {} -> {}", spec.name, sub.queue))?;
        println!("        -> queue {}", sub.queue);
    }
    Ok(())
}

pub(crate) async fn ensure_state_machine(
    sfn: &aws_sdk_sfn::Client,
    spec: &StateMachineSpec,
    role_arn: &str,
    account: &str,
    dir: &Path,
) -> anyhow::Result<String> {
    let path = dir.join(&spec.definition_file);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let definition = substitute(&text, &spec.substitutions)
        .with_context(|| format!("filling the placeholders of {}", path.display()))?;
    serde_json::from_str::<serde_json::Value>(&definition)
        .with_context(|| format!("{} is not JSON once filled", path.display()))?;
    let created = sfn
        .create_state_machine()
        .name(&spec.name)
        .definition(&definition)
        .role_arn(role_arn)
        .send()
        .await;
    match created {
        Ok(out) => {
            println!("states  {} ({})", spec.name, out.state_machine_arn());
            Ok(out.state_machine_arn().to_owned())
        }
        Err(e) if e.code() == Some("StateMachineAlreadyExists") => {
            let arn = format!(
                "arn:aws:states:{}:{account}:stateMachine:{}",
                sfn.config()
                    .region()
                    .map(|r| r.to_string())
                    .unwrap_or_else(|| "us-east-1".into()),
                spec.name
            );
            sfn.update_state_machine()
                .state_machine_arn(&arn)
                .definition(&definition)
                .role_arn(role_arn)
                .send()
                .await
                .with_context(|| format!("update_state_machine {}", spec.name))?;
            println!("states  {} (definition updated)", spec.name);
            Ok(arn)
        }
        Err(e) => Err(sdk(e)).with_context(|| format!("create_state_machine {}", spec.name)),
    }
}

pub(crate) async fn ensure_queue(
    sqs: &aws_sdk_sqs::Client,
    spec: &QueueSpec,
) -> anyhow::Result<(String, String)> {
    let mut create = sqs.create_queue().queue_name(&spec.name);
    for (name, value) in &spec.attributes {
        create = create.attributes(QueueAttributeName::from(name.as_str()), value);
    }
    let url = match create.send().await {
        Ok(out) => out.queue_url().unwrap_or_default().to_owned(),
        // Exists with other attributes: bring them in line.
        Err(e) if e.code() == Some("QueueAlreadyExists") || e.code() == Some("QueueNameExists") => {
            let url = sqs
                .get_queue_url()
                .queue_name(&spec.name)
                .send()
                .await
                .with_context(|| format!("get_queue_url {}", spec.name))?
                .queue_url()
                .unwrap_or_default()
                .to_owned();
            let mut set = sqs.set_queue_attributes().queue_url(&url);
            for (name, value) in &spec.attributes {
                set = set.attributes(QueueAttributeName::from(name.as_str()), value);
            }
            if !spec.attributes.is_empty() {
                set.send()
                    .await
                    .with_context(|| format!("set_queue_attributes {}", spec.name))?;
            }
            url
        }
        Err(e) => return Err(sdk(e)).with_context(|| format!("create_queue {}", spec.name)),
    };
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .with_context(|| format!("get_queue_attributes {}", spec.name))?
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .with_context(|| format!("queue {} has no QueueArn", spec.name))?;
    Ok((url, arn))
}

pub(crate) async fn ensure_bucket(
    s3: &aws_sdk_s3::Client,
    spec: &BucketSpec,
    arn_of: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    match s3.create_bucket().bucket(&spec.name).send().await {
        Ok(_) => {}
        Err(e)
            if matches!(
                e.code(),
                Some("BucketAlreadyOwnedByYou") | Some("BucketAlreadyExists")
            ) => {}
        Err(e) => return Err(sdk(e)).with_context(|| format!("create_bucket {}", spec.name)),
    }
    println!("bucket  {}", spec.name);
    if spec.notifications.is_empty() {
        return Ok(());
    }
    let mut queue_configurations = Vec::new();
    for n in &spec.notifications {
        let mut rules = Vec::new();
        if let Some(prefix) = &n.prefix {
            rules.push(
                FilterRule::builder()
                    .name(FilterRuleName::Prefix)
                    .value(prefix)
                    .build(),
            );
        }
        if let Some(suffix) = &n.suffix {
            rules.push(
                FilterRule::builder()
                    .name(FilterRuleName::Suffix)
                    .value(suffix)
                    .build(),
            );
        }
        let mut config = QueueConfiguration::builder()
            .id(&n.id)
            .queue_arn(arn_of(&n.queue)?)
            .set_events(Some(
                n.events.iter().map(|e| Event::from(e.as_str())).collect(),
            ));
        if !rules.is_empty() {
            config = config.filter(
                NotificationConfigurationFilter::builder()
                    .key(S3KeyFilter::builder().set_filter_rules(Some(rules)).build())
                    .build(),
            );
        }
        queue_configurations.push(config.build().context("queue configuration")?);
        println!(
            "        notify {} on {} (prefix {:?}, suffix {:?}) -> queue {}",
            n.id,
            n.events.join(","),
            n.prefix.as_deref().unwrap_or(""),
            n.suffix.as_deref().unwrap_or(""),
            n.queue
        );
    }
    s3.put_bucket_notification_configuration()
        .bucket(&spec.name)
        .notification_configuration(
            NotificationConfiguration::builder()
                .set_queue_configurations(Some(queue_configurations))
                .build(),
        )
        .send()
        .await
        .with_context(|| format!("put_bucket_notification_configuration {}", spec.name))?;
    Ok(())
}

fn already_exists<E: ProvideErrorMetadata>(e: &E) -> bool {
    matches!(
        e.code(),
        Some("ResourceAlreadyExistsException") | Some("ResourceExistsException")
    )
}

pub(crate) async fn ensure_event_bus(
    events: &aws_sdk_eventbridge::Client,
    spec: &EventBusSpec,
    account: &str,
    arn_of: &dyn Fn(&str) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let is_default = spec.name == "default";
    if spec.name.starts_with("aws.partner/") {
        // As the SaaS partner does: a partner event source for our account, then the bus.
        let exists = events
            .describe_event_source()
            .name(&spec.name)
            .send()
            .await
            .is_ok();
        if !exists {
            events
                .create_partner_event_source()
                .name(&spec.name)
                .account(account)
                .send()
                .await
                .with_context(|| format!("create_partner_event_source {}", spec.name))?;
        }
        create_bus(events, &spec.name, Some(&spec.name)).await?;
    } else if !is_default {
        create_bus(events, &spec.name, None).await?;
    }
    println!("bus     {}", spec.name);
    if let Some((_, last)) = spec.name.rsplit_once('/') {
        // moto keeps rules and PutEvents on the bus named after the last segment.
        create_bus(events, last, None).await?;
        println!("        (moto: rules and PutEvents for this bus live on bus {last:?})");
    }
    for rule in &spec.rules {
        let mut put = events
            .put_rule()
            .name(&rule.name)
            .event_bus_name(&spec.name)
            .event_pattern(rule.event_pattern.to_string())
            .state(aws_sdk_eventbridge::types::RuleState::Enabled);
        if let Some(description) = &rule.description {
            put = put.description(description);
        }
        put.send()
            .await
            .with_context(|| format!("put_rule {}", rule.name))?;
        let mut targets = Vec::new();
        for t in &rule.targets {
            targets.push(
                aws_sdk_eventbridge::types::Target::builder()
                    .id(&t.id)
                    .arn(arn_of(&t.queue)?)
                    .build()
                    .context("target")?,
            );
        }
        let out = events
            .put_targets()
            .rule(&rule.name)
            .event_bus_name(&spec.name)
            .set_targets(Some(targets))
            .send()
            .await
            .with_context(|| format!("put_targets {}", rule.name))?;
        if out.failed_entry_count() > 0 {
            bail!("put_targets {}: {:?}", rule.name, out.failed_entries());
        }
        let queues: Vec<&str> = rule.targets.iter().map(|t| t.queue.as_str()).collect();
        println!(
            "        rule {} {} -> queue {}",
            rule.name,
            rule.event_pattern,
            queues.join(",")
        );
    }
    Ok(())
}

async fn create_bus(
    events: &aws_sdk_eventbridge::Client,
    name: &str,
    event_source: Option<&str>,
) -> anyhow::Result<()> {
    match events
        .create_event_bus()
        .name(name)
        .set_event_source_name(event_source.map(str::to_owned))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if already_exists(&e) => Ok(()),
        Err(e) => Err(sdk(e)).with_context(|| format!("create_event_bus {name}")),
    }
}

pub(crate) async fn ensure_secret(
    secrets: &aws_sdk_secretsmanager::Client,
    spec: &SecretSpec,
) -> anyhow::Result<()> {
    let value = spec.secret_string();
    let created = secrets
        .create_secret()
        .name(&spec.name)
        .secret_string(&value)
        .set_description(spec.description.clone())
        .send()
        .await;
    match created {
        Ok(_) => println!("secret  {} (created)", spec.name),
        Err(e) if already_exists(&e) => {
            let current = secrets
                .get_secret_value()
                .secret_id(&spec.name)
                .send()
                .await;
            if current
                .ok()
                .and_then(|c| c.secret_string().map(str::to_owned))
                == Some(value.clone())
            {
                println!("secret  {} (unchanged)", spec.name);
                return Ok(());
            }
            secrets
                .put_secret_value()
                .secret_id(&spec.name)
                .secret_string(&value)
                .send()
                .await
                .with_context(|| format!("put_secret_value {}", spec.name))?;
            println!("secret  {} (value reset)", spec.name);
        }
        Err(e) => return Err(sdk(e)).with_context(|| format!("create_secret {}", spec.name)),
    }
    Ok(())
}
