//! `localcloud deploy`: creates the stack in moto from the expanded template, as CloudFormation
//! would from what `sam deploy` submits: the resources whose condition holds, in dependency
//! order, with every `Ref`, `Fn::GetAtt` and `Fn::Sub` resolved to the local names and ARNs.
//!
//! What CloudFormation would create and the local cloud makes instead:
//! - **IAM roles and policies** are created in moto as written (inline policies, customer and
//!   AWS managed policies), so that moto, the emulator and the front door can enforce them.
//! - **Lambda functions** are registered in `stack.json` (binary, resolved `Environment`, role,
//!   timeout, memory, reserved concurrency, `EventInvokeConfig`): the front door runs them.
//! - **Event sources that invoke a function** (an S3 bucket's `LambdaConfigurations`, an
//!   EventBridge rule's Lambda targets) deliver to a relay queue of the local cloud with the same
//!   filter or pattern; the relay invokes the function asynchronously with the function's
//!   `EventInvokeConfig`. SQS event source mappings are relayed from the stack's own queue.
//! - **SNS topics** get one extra SQS subscription, the topic's inbox queue, where tests read
//!   what an e-mail subscription would receive.
//!
//! [`NOT_MAPPED`] names, in this one place, what has no local equivalent and why.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use serde_json::Value;

use crate::bootstrap::{self, Clients};
use crate::config::{
    BucketSpec, EventBusSpec, KeySpec, Mode, NotificationSpec, QueueSpec, Route, Routes, RuleSpec,
    SecretSpec, StateMachineSpec, SubscriptionSpec, TableSpec, TargetSpec, TopicSpec,
};
use crate::iam_query::{is_code, tag, QueryClient};
use crate::sigv4::Keys;
use crate::stack::{
    AdminCredentials, AsyncConfig, DeployedResource, FunctionDef, NotMapped, RoleDef, Stack,
    StateMachineDef,
};
use crate::template::{scalar, Physical, Pseudo, Resource, Template};

/// Resource types deployed without a local equivalent, and why. Everything else in the
/// expanded template is created (or, for functions, run) locally.
pub const NOT_MAPPED: &[(&str, &str)] = &[
    ("AWS::S3::BucketPolicy", "resource policies are not evaluated by moto; the stack's bucket policies only deny non-TLS access, and a Deny whose aws:SecureTransport condition moto ignores would deny everything"),
    ("AWS::SQS::QueuePolicy", "as bucket policies: TLS-only and service-principal statements whose conditions moto ignores"),
    ("AWS::Lambda::Permission", "resource-based policy for the invoking service: the relay plays S3, EventBridge and the event source mappings, and API Gateway is not emulated"),
    ("AWS::ApiGatewayV2::Api", "HTTP APIs with the IAM authorizer are not emulated: tests invoke the functions with API Gateway v2 payloads"),
    ("AWS::ApiGatewayV2::Stage", "see AWS::ApiGatewayV2::Api"),
    ("AWS::Logs::LogGroup", "function output goes to .localcloud/functions.log"),
    ("AWS::CloudWatch::Alarm", "no CloudWatch metrics locally"),
    ("AWS::SNS::Subscription#email", "e-mail cannot be delivered: every topic has an SQS inbox queue instead"),
    ("AWS::Events::Rule#RetryPolicy", "a rule's Lambda target delivers to a relay queue, which never fails, so the target's retry policy and dead-letter queue are not exercised"),
    ("AWS::Events::Partner", "the Genesys partner event source and its bus are created by the local cloud, as associating the partner source in the console does"),
];

/// What `deploy` needs.
pub struct Options {
    /// The expanded template (JSON).
    pub template: PathBuf,
    /// Parameter values (a JSON object; `$comment` keys are ignored).
    pub parameters: PathBuf,
    pub stack_name: String,
    pub region: String,
    pub account_id: String,
    /// Where relative artifact paths (state machine definitions) are read from.
    pub root: PathBuf,
    /// Secret values the operator stores after deploying (logical id -> value), as the README's
    /// `put-secret-value` step does.
    pub secret_values: BTreeMap<String, String>,
    /// Where to write the deployed stack.
    pub out: PathBuf,
}

/// Creates the local administrator (while moto still lets requests through unauthenticated:
/// `INITIAL_NO_AUTH_ACTION_COUNT`), or reuses the one of an earlier deploy that moto still knows.
pub async fn admin(
    endpoint: &str,
    region: &str,
    previous: Option<&AdminCredentials>,
) -> anyhow::Result<AdminCredentials> {
    if let Some(previous) = previous {
        let sts = QueryClient::new(endpoint, region, keys(previous))?;
        if sts.call("sts", "GetCallerIdentity", &[]).await.is_ok() {
            return Ok(previous.clone());
        }
    }
    let anonymous = Keys {
        access_key_id: "localcloud-bootstrap".into(),
        secret_access_key: "localcloud-bootstrap".into(),
        session_token: None,
    };
    let iam = QueryClient::new(endpoint, region, anonymous)?;
    let name = "localcloud-admin";
    let user = iam
        .call("iam", "CreateUser", &[("UserName", name)])
        .await
        .context(
        "creating the local administrator (moto must start with INITIAL_NO_AUTH_ACTION_COUNT=3)",
    )?;
    let everything = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}).to_string();
    iam.call(
        "iam",
        "PutUserPolicy",
        &[
            ("UserName", name),
            ("PolicyName", "everything"),
            ("PolicyDocument", &everything),
        ],
    )
    .await
    .context("the local administrator's policy")?;
    let key = iam
        .call("iam", "CreateAccessKey", &[("UserName", name)])
        .await
        .context("the local administrator's access key")?;
    Ok(AdminCredentials {
        arn: tag(&user, "Arn").context("CreateUser answered no Arn")?,
        access_key_id: tag(&key, "AccessKeyId").context("no AccessKeyId")?,
        secret_access_key: tag(&key, "SecretAccessKey").context("no SecretAccessKey")?,
    })
}

/// The administrator's keys.
pub fn keys(admin: &AdminCredentials) -> Keys {
    Keys {
        access_key_id: admin.access_key_id.clone(),
        secret_access_key: admin.secret_access_key.clone(),
        session_token: None,
    }
}

/// Physical values of the resources created so far.
#[derive(Default)]
struct Deployed(BTreeMap<String, DeployedResource>);

impl Physical for Deployed {
    fn reference(&self, logical_id: &str) -> Option<String> {
        self.0.get(logical_id).map(|r| r.physical_id.clone())
    }
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String> {
        self.0.get(logical_id)?.attributes.get(attribute).cloned()
    }
}

impl Deployed {
    fn put(&mut self, r: &Resource, physical_id: String, attributes: &[(&str, String)]) {
        self.0.insert(
            r.logical_id.clone(),
            DeployedResource {
                kind: r.kind.clone(),
                physical_id,
                attributes: attributes
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            },
        );
    }
}

/// An event source of a function, collected while deploying; routes are made at the end, when
/// every `EventInvokeConfig` is known.
struct Source {
    queue: String,
    function: String,
    mode: Mode,
    batch_size: i32,
    report_batch_item_failures: bool,
}

struct Deployer<'a> {
    clients: &'a Clients,
    iam: QueryClient,
    options: &'a Options,
    deployed: Deployed,
    queues: BTreeMap<String, String>,
    functions: Vec<FunctionDef>,
    sources: Vec<Source>,
    async_configs: BTreeMap<String, AsyncConfig>,
    state_machines: Vec<StateMachineDef>,
    roles: BTreeMap<String, RoleDef>,
    inboxes: BTreeMap<String, String>,
    not_mapped: Vec<NotMapped>,
}

/// Deploys the template into moto and writes `options.out`.
pub async fn run(
    options: &Options,
    sdk: &aws_config::SdkConfig,
    endpoint: &str,
    admin: AdminCredentials,
) -> anyhow::Result<Stack> {
    let text = std::fs::read_to_string(&options.template)
        .with_context(|| format!("reading {}", options.template.display()))?;
    let expanded: Value = serde_json::from_str(&text)
        .with_context(|| format!("parsing {}", options.template.display()))?;
    let values: BTreeMap<String, Value> = crate::config::load(&options.parameters)?;
    let values: BTreeMap<String, String> = values
        .into_iter()
        .filter(|(k, _)| !k.starts_with('$'))
        .map(|(k, v)| {
            Ok((
                k.clone(),
                scalar(&v).with_context(|| format!("parameter {k}"))?,
            ))
        })
        .collect::<anyhow::Result<_>>()?;
    let pseudo = Pseudo::new(&options.region, &options.account_id, &options.stack_name);
    let template = Template::new(&expanded, &values, pseudo)?;
    let order = template.resources_in_order()?;

    let clients = Clients::new(sdk);
    let mut deployer = Deployer {
        clients: &clients,
        iam: QueryClient::new(endpoint, &options.region, keys(&admin))?,
        options,
        deployed: Deployed::default(),
        queues: BTreeMap::new(),
        functions: Vec::new(),
        sources: Vec::new(),
        async_configs: BTreeMap::new(),
        state_machines: Vec::new(),
        roles: BTreeMap::new(),
        inboxes: BTreeMap::new(),
        not_mapped: Vec::new(),
    };
    println!(
        "deploying {} resource(s) of {} as stack {}",
        order.len(),
        options.template.display(),
        options.stack_name
    );
    for resource in &order {
        let properties = template
            .resolve(&resource.properties, &deployer.deployed)
            .with_context(|| format!("resource {}", resource.logical_id))?;
        deployer
            .create(resource, &properties)
            .await
            .with_context(|| format!("creating {} ({})", resource.logical_id, resource.kind))?;
    }
    let outputs = template.outputs(&deployer.deployed)?;
    let routes = deployer.routes()?;
    let stack = Stack {
        stack_name: options.stack_name.clone(),
        stack_id: template.pseudo.stack_id.clone(),
        region: options.region.clone(),
        account_id: options.account_id.clone(),
        parameters: template
            .parameters
            .iter()
            .map(|(k, v)| (k.clone(), scalar(v).unwrap_or_else(|_| v.to_string())))
            .collect(),
        outputs,
        resources: deployer.deployed.0,
        functions: deployer.functions,
        routes,
        state_machines: deployer.state_machines,
        inboxes: deployer.inboxes,
        not_mapped: deployer.not_mapped,
        roles: deployer.roles,
        admin,
    };
    stack.save(&options.out)?;
    println!("deploy done: {}", options.out.display());
    Ok(stack)
}

fn text(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(|v| scalar(v).ok())
}

fn number<T: std::str::FromStr>(value: &Value, key: &str) -> anyhow::Result<Option<T>> {
    match text(value, key) {
        None => Ok(None),
        Some(t) => t
            .parse()
            .map(Some)
            .map_err(|_| anyhow::anyhow!("{key}={t:?} is not a number")),
    }
}

/// `NAME` of `arn:aws:sqs:REGION:ACCOUNT:NAME`.
fn queue_name_of(arn: &str) -> anyhow::Result<String> {
    match arn.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "sqs", _, _, name] => Ok((*name).to_owned()),
        _ => bail!("{arn} is not an SQS queue ARN"),
    }
}

/// Function name of a name or ARN (`FunctionName` properties take either).
fn function_name_of(value: &str) -> String {
    crate::lambda::function_name(value).unwrap_or_else(|| value.to_owned())
}

/// CloudFormation's generated name, without the random suffix so that every local run
/// deploys the same names.
fn generated(stack: &str, logical_id: &str, max: usize) -> String {
    let mut name = format!("{stack}-{logical_id}");
    name.truncate(max);
    name
}

impl Deployer<'_> {
    fn stack(&self) -> &str {
        &self.options.stack_name
    }

    fn arn(&self, service: &str, resource: &str) -> String {
        format!(
            "arn:aws:{service}:{}:{}:{resource}",
            self.options.region, self.options.account_id
        )
    }

    /// The ARN of a queue deployed so far, by name.
    fn queue_arns(&self) -> impl Fn(&str) -> anyhow::Result<String> + '_ {
        |queue| {
            self.queues
                .get(queue)
                .cloned()
                .with_context(|| format!("queue {queue} is not deployed"))
        }
    }

    fn not_mapped(&mut self, r: &Resource, key: &str) {
        let why = NOT_MAPPED
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, why)| (*why).to_owned())
            .unwrap_or_else(|| "no local equivalent".to_owned());
        self.not_mapped.push(NotMapped {
            logical_id: r.logical_id.clone(),
            kind: r.kind.clone(),
            why,
        });
    }

    async fn create(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        match r.kind.as_str() {
            "AWS::IAM::Role" => self.role(r, p).await,
            "AWS::IAM::ManagedPolicy" => self.managed_policy(r, p).await,
            "AWS::SQS::Queue" => self.queue(r, p).await,
            "AWS::S3::Bucket" => self.bucket(r, p).await,
            "AWS::DynamoDB::Table" => self.table(r, p).await,
            "AWS::SNS::Topic" => self.topic(r, p).await,
            "AWS::SNS::Subscription" => self.subscription(r, p).await,
            "AWS::SecretsManager::Secret" => self.secret(r, p).await,
            "AWS::Lambda::Function" => self.function(r, p),
            "AWS::Lambda::EventInvokeConfig" => self.event_invoke_config(p),
            "AWS::Lambda::EventSourceMapping" => self.event_source_mapping(p),
            "AWS::Events::Rule" => self.rule(r, p).await,
            "AWS::StepFunctions::StateMachine" => self.state_machine(r, p).await,
            "AWS::Logs::LogGroup" => {
                let name = text(p, "LogGroupName")
                    .unwrap_or_else(|| generated(self.stack(), &r.logical_id, 512));
                let arn = self.arn("logs", &format!("log-group:{name}:*"));
                self.deployed.put(r, name, &[("Arn", arn)]);
                self.not_mapped(r, &r.kind);
                Ok(())
            }
            "AWS::ApiGatewayV2::Api" => {
                // An API id: ten lower-case characters, fixed by the logical id.
                let id: String = format!("{:x}", md5ish(&r.logical_id))
                    .chars()
                    .take(10)
                    .collect();
                self.deployed.put(r, id.clone(), &[("ApiId", id)]);
                self.not_mapped(r, &r.kind);
                Ok(())
            }
            other => {
                self.deployed.put(r, format!("local-{}", r.logical_id), &[]);
                self.not_mapped(r, other);
                Ok(())
            }
        }
    }

    async fn role(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name =
            text(p, "RoleName").unwrap_or_else(|| generated(self.stack(), &r.logical_id, 64));
        let path = text(p, "Path").unwrap_or_else(|| "/".into());
        let trust = p
            .get("AssumeRolePolicyDocument")
            .context("AssumeRolePolicyDocument")?;
        let trust = trust.to_string();
        match self
            .iam
            .call(
                "iam",
                "CreateRole",
                &[
                    ("RoleName", &name),
                    ("Path", &path),
                    ("AssumeRolePolicyDocument", &trust),
                ],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, "EntityAlreadyExists") => {}
            Err(e) => return Err(e).context("CreateRole"),
        }
        let mut policies = Vec::new();
        for policy in p
            .get("Policies")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let policy_name = text(policy, "PolicyName").context("PolicyName")?;
            let document = &versioned(policy.get("PolicyDocument").context("PolicyDocument")?);
            self.iam
                .call(
                    "iam",
                    "PutRolePolicy",
                    &[
                        ("RoleName", &name),
                        ("PolicyName", &policy_name),
                        ("PolicyDocument", &document.to_string()),
                    ],
                )
                .await
                .with_context(|| format!("PutRolePolicy {policy_name}"))?;
            policies.push(document.clone());
        }
        for arn in p
            .get("ManagedPolicyArns")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.iam
                .call("iam", "AttachRolePolicy", &[("RoleName", &name), ("PolicyArn", arn)])
                .await
                .with_context(|| format!("AttachRolePolicy {arn} (moto loads AWS managed policies only with MOTO_IAM_LOAD_MANAGED_POLICIES=true)"))?;
            policies.push(self.policy_document(arn).await?);
        }
        let arn = format!(
            "arn:aws:iam::{}:role{}{name}",
            self.options.account_id,
            if path.ends_with('/') {
                path.clone()
            } else {
                format!("{path}/")
            }
        );
        println!("role    {name} ({} policies)", policies.len());
        self.roles.insert(
            arn.clone(),
            RoleDef {
                logical_id: r.logical_id.clone(),
                name: name.clone(),
                policies,
            },
        );
        self.deployed.put(
            r,
            name,
            &[
                ("Arn", arn),
                ("RoleId", format!("AROA{}", r.logical_id.to_uppercase())),
            ],
        );
        Ok(())
    }

    /// The default version's document of a managed policy.
    async fn policy_document(&self, arn: &str) -> anyhow::Result<Value> {
        let policy = self
            .iam
            .call("iam", "GetPolicy", &[("PolicyArn", arn)])
            .await?;
        let version = tag(&policy, "DefaultVersionId").unwrap_or_else(|| "v1".into());
        let out = self
            .iam
            .call(
                "iam",
                "GetPolicyVersion",
                &[("PolicyArn", arn), ("VersionId", &version)],
            )
            .await?;
        let document = tag(&out, "Document").with_context(|| format!("{arn} has no document"))?;
        // IAM answers documents URL-encoded.
        let decoded = urlencoding::decode(&document)
            .map(|d| d.into_owned())
            .unwrap_or(document);
        serde_json::from_str(&decoded).with_context(|| format!("{arn}: the document is not JSON"))
    }

    async fn managed_policy(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name = text(p, "ManagedPolicyName")
            .unwrap_or_else(|| generated(self.stack(), &r.logical_id, 128));
        let document = &versioned(p.get("PolicyDocument").context("PolicyDocument")?);
        let arn = format!("arn:aws:iam::{}:policy/{name}", self.options.account_id);
        match self
            .iam
            .call(
                "iam",
                "CreatePolicy",
                &[
                    ("PolicyName", &name),
                    ("PolicyDocument", &document.to_string()),
                ],
            )
            .await
        {
            Ok(_) => {}
            Err(e) if is_code(&e, "EntityAlreadyExists") => {}
            Err(e) => return Err(e).context("CreatePolicy"),
        }
        for role in p
            .get("Roles")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            self.iam
                .call(
                    "iam",
                    "AttachRolePolicy",
                    &[("RoleName", role), ("PolicyArn", &arn)],
                )
                .await
                .context("AttachRolePolicy")?;
            if let Some(def) = self.roles.values_mut().find(|d| d.name == role) {
                def.policies.push(document.clone());
            }
        }
        println!("policy  {name}");
        self.deployed.put(r, arn.clone(), &[("PolicyArn", arn)]);
        Ok(())
    }

    async fn queue(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let fifo = text(p, "FifoQueue").as_deref() == Some("true");
        let name = text(p, "QueueName").unwrap_or_else(|| {
            let mut n = generated(self.stack(), &r.logical_id, if fifo { 75 } else { 80 });
            if fifo {
                n.push_str(".fifo");
            }
            n
        });
        let mut attributes = BTreeMap::new();
        for key in [
            "VisibilityTimeout",
            "MessageRetentionPeriod",
            "DelaySeconds",
            "MaximumMessageSize",
            "ReceiveMessageWaitTimeSeconds",
            "SqsManagedSseEnabled",
            "KmsMasterKeyId",
            "KmsDataKeyReusePeriodSeconds",
            "FifoQueue",
            "ContentBasedDeduplication",
            "DeduplicationScope",
            "FifoThroughputLimit",
        ] {
            if let Some(v) = text(p, key) {
                attributes.insert(key.to_owned(), v);
            }
        }
        for key in ["RedrivePolicy", "RedriveAllowPolicy"] {
            if let Some(v) = p.get(key) {
                attributes.insert(
                    key.to_owned(),
                    if v.is_string() {
                        scalar(v)?
                    } else {
                        v.to_string()
                    },
                );
            }
        }
        let (url, arn) = self.make_queue(&name, attributes).await?;
        self.deployed.put(
            r,
            url.clone(),
            &[("Arn", arn), ("QueueName", name), ("QueueUrl", url)],
        );
        Ok(())
    }

    async fn make_queue(
        &mut self,
        name: &str,
        attributes: BTreeMap<String, String>,
    ) -> anyhow::Result<(String, String)> {
        let spec = QueueSpec {
            name: name.to_owned(),
            attributes,
        };
        let (url, arn) = bootstrap::ensure_queue(&self.clients.sqs, &spec).await?;
        println!("queue   {name}");
        self.queues.insert(name.to_owned(), arn.clone());
        Ok((url, arn))
    }

    /// A queue of the local cloud that stands between an event source and a function.
    async fn relay_queue(&mut self, function_arn: &str, source: &str) -> anyhow::Result<String> {
        let function = function_name_of(function_arn);
        let def = self
            .functions
            .iter()
            .find(|f| f.name == function)
            .with_context(|| format!("{function_arn} is not a function of this stack"))?;
        let mut name = format!("{}-to-{}-{source}", self.stack(), def.logical_id);
        name.truncate(80);
        self.make_queue(
            &name,
            BTreeMap::from([("VisibilityTimeout".to_owned(), "60".to_owned())]),
        )
        .await?;
        self.sources.push(Source {
            queue: name.clone(),
            function,
            mode: Mode::Async,
            batch_size: 1,
            report_batch_item_failures: false,
        });
        Ok(name)
    }

    async fn bucket(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name = text(p, "BucketName")
            .unwrap_or_else(|| generated(self.stack(), &r.logical_id.to_lowercase(), 63));
        let mut notifications = Vec::new();
        let config = p
            .get("NotificationConfiguration")
            .cloned()
            .unwrap_or(Value::Null);
        let filters = |c: &Value| {
            let mut prefix = None;
            let mut suffix = None;
            for rule in c
                .pointer("/Filter/S3Key/Rules")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                match text(rule, "Name").map(|n| n.to_lowercase()).as_deref() {
                    Some("prefix") => prefix = text(rule, "Value"),
                    Some("suffix") => suffix = text(rule, "Value"),
                    _ => {}
                }
            }
            (prefix, suffix)
        };
        let lambda_configs = config
            .get("LambdaConfigurations")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        for (n, c) in lambda_configs.iter().enumerate() {
            let function = text(c, "Function").context("LambdaConfigurations[].Function")?;
            let queue = self.relay_queue(&function, &format!("s3-{n}")).await?;
            let (prefix, suffix) = filters(c);
            notifications.push(NotificationSpec {
                id: format!("lambda-{n}"),
                queue,
                events: vec![text(c, "Event").context("Event")?],
                prefix,
                suffix,
            });
        }
        for (n, c) in config
            .get("QueueConfigurations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let queue = queue_name_of(&text(c, "Queue").context("QueueConfigurations[].Queue")?)?;
            let (prefix, suffix) = filters(c);
            notifications.push(NotificationSpec {
                id: format!("queue-{n}"),
                queue,
                events: vec![text(c, "Event").context("Event")?],
                prefix,
                suffix,
            });
        }
        bootstrap::ensure_bucket(
            &self.clients.s3,
            &BucketSpec {
                name: name.clone(),
                notifications,
            },
            &self.queue_arns(),
        )
        .await?;
        let arn = format!("arn:aws:s3:::{name}");
        self.deployed.put(
            r,
            name.clone(),
            &[
                ("Arn", arn),
                ("DomainName", format!("{name}.s3.amazonaws.com")),
                (
                    "RegionalDomainName",
                    format!("{name}.s3.{}.amazonaws.com", self.options.region),
                ),
            ],
        );
        Ok(())
    }

    async fn table(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name =
            text(p, "TableName").unwrap_or_else(|| generated(self.stack(), &r.logical_id, 255));
        let types: BTreeMap<String, String> = p
            .get("AttributeDefinitions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|d| Some((text(d, "AttributeName")?, text(d, "AttributeType")?)))
            .collect();
        let key = |kind: &str| -> Option<KeySpec> {
            p.get("KeySchema")?
                .as_array()?
                .iter()
                .find(|k| text(k, "KeyType").as_deref() == Some(kind))
                .and_then(|k| text(k, "AttributeName"))
                .map(|name| KeySpec {
                    kind: types.get(&name).cloned().unwrap_or_else(|| "S".into()),
                    name,
                })
        };
        let ttl = p
            .get("TimeToLiveSpecification")
            .filter(|t| text(t, "Enabled").as_deref() == Some("true"))
            .and_then(|t| text(t, "AttributeName"));
        if p.get("GlobalSecondaryIndexes").is_some() || p.get("LocalSecondaryIndexes").is_some() {
            bail!("secondary indexes are not created by the local cloud yet");
        }
        let spec = TableSpec {
            name: name.clone(),
            partition_key: key("HASH").context("KeySchema has no HASH key")?,
            sort_key: key("RANGE"),
            ttl_attribute: ttl,
        };
        bootstrap::ensure_table(&self.clients.dynamodb, &spec).await?;
        let arn = self.arn("dynamodb", &format!("table/{name}"));
        self.deployed.put(r, name, &[("Arn", arn)]);
        Ok(())
    }

    async fn topic(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name =
            text(p, "TopicName").unwrap_or_else(|| generated(self.stack(), &r.logical_id, 256));
        let inbox = generated(self.stack(), &format!("{}-inbox", r.logical_id), 80);
        self.make_queue(&inbox, BTreeMap::new()).await?;
        let spec = TopicSpec {
            name: name.clone(),
            subscriptions: vec![SubscriptionSpec {
                queue: inbox.clone(),
                raw: false,
            }],
        };
        bootstrap::ensure_topic(&self.clients.sns, &spec, &self.queue_arns()).await?;
        self.inboxes.insert(r.logical_id.clone(), inbox);
        let arn = self.arn("sns", &name);
        self.deployed
            .put(r, arn.clone(), &[("TopicArn", arn), ("TopicName", name)]);
        Ok(())
    }

    async fn subscription(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let protocol = text(p, "Protocol").unwrap_or_default();
        let topic = text(p, "TopicArn").context("TopicArn")?;
        let endpoint = text(p, "Endpoint").unwrap_or_default();
        let arn = format!("{topic}:{}", r.logical_id);
        if protocol == "sqs" {
            self.clients
                .sns
                .subscribe()
                .topic_arn(&topic)
                .protocol("sqs")
                .endpoint(&endpoint)
                .send()
                .await
                .context("subscribe")?;
        } else {
            self.not_mapped(r, &format!("{}#{protocol}", r.kind));
        }
        self.deployed.put(r, arn, &[]);
        Ok(())
    }

    async fn secret(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name = text(p, "Name").unwrap_or_else(|| format!("{}/{}", self.stack(), r.logical_id));
        let value = match self.options.secret_values.get(&r.logical_id) {
            Some(v) => Value::String(v.clone()),
            None => match (text(p, "SecretString"), p.get("GenerateSecretString")) {
                (Some(s), _) => Value::String(s),
                (None, Some(g)) => {
                    let mut object: Value = text(g, "SecretStringTemplate")
                        .map(|t| serde_json::from_str(&t))
                        .transpose()?
                        .unwrap_or_else(|| serde_json::json!({}));
                    let generated = crate::ids::uuid_v4().replace('-', "");
                    match text(g, "GenerateStringKey") {
                        Some(key) => {
                            object[key] = Value::String(generated);
                            object
                        }
                        None => Value::String(generated),
                    }
                }
                (None, None) => Value::String(String::new()),
            },
        };
        bootstrap::ensure_secret(
            &self.clients.secrets,
            &SecretSpec {
                name: name.clone(),
                description: text(p, "Description"),
                value,
            },
        )
        .await?;
        let arn = self
            .clients
            .secrets
            .describe_secret()
            .secret_id(&name)
            .send()
            .await
            .context("describe_secret")?
            .arn()
            .unwrap_or_default()
            .to_owned();
        self.deployed.put(r, arn.clone(), &[("Id", arn)]);
        Ok(())
    }

    fn function(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name =
            text(p, "FunctionName").unwrap_or_else(|| generated(self.stack(), &r.logical_id, 64));
        let binary = r
            .metadata
            .pointer("/BuildProperties/Binary")
            .and_then(Value::as_str)
            .context("Metadata.BuildProperties.Binary names the cargo binary to run")?
            .to_owned();
        let environment = p
            .pointer("/Environment/Variables")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| {
                Ok((
                    k.clone(),
                    scalar(v).with_context(|| format!("Environment.Variables.{k}"))?,
                ))
            })
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        let arn = self.arn("lambda", &format!("function:{name}"));
        self.functions.push(FunctionDef {
            logical_id: r.logical_id.clone(),
            name: name.clone(),
            arn: arn.clone(),
            binary,
            role_arn: text(p, "Role").context("Role")?,
            environment,
            timeout_seconds: number(p, "Timeout")?.unwrap_or(3),
            memory_mb: number(p, "MemorySize")?.unwrap_or(128),
            reserved_concurrency: number(p, "ReservedConcurrentExecutions")?,
            async_config: AsyncConfig::default(),
        });
        println!("lambda  {name}");
        self.deployed.put(r, name, &[("Arn", arn)]);
        Ok(())
    }

    fn event_invoke_config(&mut self, p: &Value) -> anyhow::Result<()> {
        let function = function_name_of(&text(p, "FunctionName").context("FunctionName")?);
        let on_failure = match p
            .pointer("/DestinationConfig/OnFailure/Destination")
            .and_then(Value::as_str)
        {
            None => None,
            Some(arn) if arn.contains(":sqs:") => Some(queue_name_of(arn)?),
            Some(arn) => {
                bail!("on-failure destination {arn}: only SQS destinations are relayed locally")
            }
        };
        let defaults = AsyncConfig::default();
        self.async_configs.insert(
            function,
            AsyncConfig {
                maximum_retry_attempts: number(p, "MaximumRetryAttempts")?
                    .unwrap_or(defaults.maximum_retry_attempts),
                maximum_event_age_seconds: number(p, "MaximumEventAgeInSeconds")?
                    .unwrap_or(defaults.maximum_event_age_seconds),
                on_failure_queue: on_failure,
            },
        );
        Ok(())
    }

    fn event_source_mapping(&mut self, p: &Value) -> anyhow::Result<()> {
        let source = text(p, "EventSourceArn").context("EventSourceArn")?;
        if !source.contains(":sqs:") {
            bail!("event source {source}: only SQS event source mappings are relayed locally");
        }
        let reports = p
            .get("FunctionResponseTypes")
            .and_then(Value::as_array)
            .is_some_and(|t| {
                t.iter()
                    .any(|v| v.as_str() == Some("ReportBatchItemFailures"))
            });
        self.sources.push(Source {
            queue: queue_name_of(&source)?,
            function: function_name_of(&text(p, "FunctionName").context("FunctionName")?),
            mode: Mode::Sqs,
            batch_size: number(p, "BatchSize")?.unwrap_or(10),
            report_batch_item_failures: reports,
        });
        Ok(())
    }

    async fn rule(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name = text(p, "Name").unwrap_or_else(|| generated(self.stack(), &r.logical_id, 64));
        let bus = text(p, "EventBusName").unwrap_or_else(|| "default".into());
        let pattern = p
            .get("EventPattern")
            .cloned()
            .context("EventPattern (schedules are not relayed locally)")?;
        let mut targets = Vec::new();
        for (n, t) in p
            .get("Targets")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let arn = text(t, "Arn").context("Targets[].Arn")?;
            let id = text(t, "Id").unwrap_or_else(|| format!("target-{n}"));
            let queue = if arn.contains(":lambda:") {
                if t.get("RetryPolicy").is_some() || t.get("DeadLetterConfig").is_some() {
                    self.not_mapped(r, "AWS::Events::Rule#RetryPolicy");
                }
                self.relay_queue(&arn, &format!("events-{n}")).await?
            } else if arn.contains(":sqs:") {
                queue_name_of(&arn)?
            } else {
                bail!("target {arn}: only Lambda and SQS targets are relayed locally");
            };
            targets.push(TargetSpec { id, queue });
        }
        if bus.starts_with("aws.partner/") {
            self.not_mapped(r, "AWS::Events::Partner");
        }
        let spec = EventBusSpec {
            name: bus.clone(),
            rules: vec![RuleSpec {
                name: name.clone(),
                description: text(p, "Description"),
                event_pattern: pattern,
                targets,
            }],
        };
        bootstrap::ensure_event_bus(
            &self.clients.events,
            &spec,
            &self.options.account_id,
            &self.queue_arns(),
        )
        .await?;
        let arn = if bus == "default" {
            self.arn("events", &format!("rule/{name}"))
        } else {
            self.arn("events", &format!("rule/{bus}/{name}"))
        };
        self.deployed.put(r, name, &[("Arn", arn)]);
        Ok(())
    }

    async fn state_machine(&mut self, r: &Resource, p: &Value) -> anyhow::Result<()> {
        let name = text(p, "StateMachineName")
            .unwrap_or_else(|| generated(self.stack(), &r.logical_id, 80));
        let role_arn = text(p, "RoleArn").context("RoleArn")?;
        let definition_file = match (p.pointer("/DefinitionS3Location/Key"), p.get("DefinitionString")) {
            (Some(key), _) => scalar(key)?,
            (None, Some(_)) => bail!("inline DefinitionString is not deployed locally: give the state machine a DefinitionUri"),
            _ => bail!("the state machine has no definition"),
        };
        let substitutions = p
            .get("DefinitionSubstitutions")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| Ok((k.clone(), scalar(v)?)))
            .collect::<anyhow::Result<BTreeMap<_, _>>>()?;
        let spec = StateMachineSpec {
            name: name.clone(),
            definition_file,
            substitutions,
        };
        let arn = bootstrap::ensure_state_machine(
            &self.clients.sfn,
            &spec,
            &role_arn,
            &self.options.account_id,
            &self.options.root,
        )
        .await?;
        self.state_machines.push(StateMachineDef {
            logical_id: r.logical_id.clone(),
            arn: arn.clone(),
            role_arn,
        });
        self.deployed
            .put(r, arn.clone(), &[("Arn", arn), ("Name", name)]);
        Ok(())
    }

    /// The relay's routes: every event source with its function's asynchronous invocation
    /// configuration.
    fn routes(&mut self) -> anyhow::Result<Routes> {
        for f in &mut self.functions {
            if let Some(config) = self.async_configs.get(&f.name) {
                f.async_config = config.clone();
            }
        }
        let mut routes = Vec::new();
        for s in &self.sources {
            let function = self
                .functions
                .iter()
                .find(|f| f.name == s.function)
                .with_context(|| {
                    format!(
                        "event source {}: function {} is not in the stack",
                        s.queue, s.function
                    )
                })?;
            let config = &function.async_config;
            routes.push(Route {
                name: Some(format!("{} -> {}", s.queue, function.logical_id)),
                queue: s.queue.clone(),
                function: function.name.clone(),
                mode: s.mode,
                timeout_seconds: function.timeout_seconds + 5,
                maximum_retry_attempts: config.maximum_retry_attempts,
                retry_delays_ms: local_retry_delays_ms(),
                maximum_event_age_seconds: config.maximum_event_age_seconds,
                on_failure: config.on_failure_queue.clone(),
                concurrency: function
                    .reserved_concurrency
                    .map(|c| c as usize)
                    .unwrap_or(4)
                    .max(1),
                batch_size: s.batch_size,
                report_batch_item_failures: s.report_batch_item_failures,
            });
        }
        let routes = Routes {
            _comment: None,
            region: self.options.region.clone(),
            account_id: self.options.account_id.clone(),
            routes,
        };
        if !routes.routes.is_empty() {
            routes.validate()?;
        }
        Ok(routes)
    }
}

/// Lambda retries a failed asynchronous invocation after about one, then two minutes. Locally
/// the waits are `LOCALCLOUD_ASYNC_RETRY_DELAYS_MS` (default `1000,2000`) so tests finish.
fn local_retry_delays_ms() -> Vec<u64> {
    std::env::var("LOCALCLOUD_ASYNC_RETRY_DELAYS_MS")
        .ok()
        .map(|v| {
            v.split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect::<Vec<u64>>()
        })
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| vec![1000, 2000])
}

/// The document with a `Version`: IAM takes a document without one (as the policies SAM
/// generates for `EventInvokeConfig` destinations are), moto refuses it.
fn versioned(document: &Value) -> Value {
    let mut document = document.clone();
    if let Some(object) = document.as_object_mut() {
        object
            .entry("Version")
            .or_insert_with(|| Value::String("2012-10-17".into()));
    }
    document
}

/// A stable 64-bit digest of a string (FNV-1a), for made-up ids.
fn md5ish(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_and_arns() {
        assert_eq!(
            queue_name_of("arn:aws:sqs:us-east-1:123456789012:q-1").unwrap(),
            "q-1"
        );
        assert!(queue_name_of("arn:aws:sns:us-east-1:123456789012:t").is_err());
        assert_eq!(
            function_name_of("arn:aws:lambda:us-east-1:123456789012:function:f:$LATEST"),
            "f"
        );
        assert_eq!(function_name_of("f"), "f");
        assert_eq!(generated("stack", "LogicalId", 80), "stack-LogicalId");
        assert_eq!(generated("stack", "LogicalId", 8), "stack-Lo");
    }

    #[test]
    fn documents_get_a_version() {
        let bare = json!({"Statement": []});
        assert_eq!(versioned(&bare)["Version"], "2012-10-17");
        let dated = json!({"Version": "2008-10-17", "Statement": []});
        assert_eq!(versioned(&dated)["Version"], "2008-10-17");
    }

    #[test]
    fn every_not_mapped_reason_is_given() {
        for (kind, why) in NOT_MAPPED {
            assert!(kind.starts_with("AWS::"), "{kind}");
            assert!(why.len() > 20, "{kind}: {why}");
        }
    }
}
