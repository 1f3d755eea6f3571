//! The expanded CloudFormation template (what the SAM translator makes of `template.yaml`,
//! written by `scripts/lib/expand_template.py`) read the way CloudFormation reads it:
//! parameters with their defaults and constraints, `Rules`, `Conditions`, the resources whose
//! condition holds in dependency order, and every intrinsic function the template uses.
//!
//! Pure: no I/O beyond reading the file. The physical names and attributes of resources come
//! from a [`Physical`] lookup that the deployer fills as it creates them.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{Map, Value};

/// `AWS::NoValue` as a resolved value: removed from the object or list that holds it.
const NO_VALUE: &str = "\u{0}AWS::NoValue";

/// The pseudo parameters of the stack.
#[derive(Debug, Clone)]
pub struct Pseudo {
    pub region: String,
    pub account_id: String,
    pub stack_name: String,
    /// `arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/UUID`.
    pub stack_id: String,
}

impl Pseudo {
    /// A stack id whose UUID is fixed by the stack name, so that names derived from it
    /// (`!Select [2, !Split ["/", !Ref AWS::StackId]]`) are the same on every local run.
    pub fn new(region: &str, account_id: &str, stack_name: &str) -> Self {
        let digest = fnv1a(stack_name.as_bytes());
        let hex = format!("{digest:016x}{:016x}", fnv1a(&digest.to_le_bytes()));
        let uuid = format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        );
        Self {
            region: region.to_owned(),
            account_id: account_id.to_owned(),
            stack_name: stack_name.to_owned(),
            stack_id: format!(
                "arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/{uuid}"
            ),
        }
    }
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Physical values of the resources created so far: what `Ref` and `Fn::GetAtt` return.
pub trait Physical {
    /// `Ref` of a resource.
    fn reference(&self, logical_id: &str) -> Option<String>;
    /// `Fn::GetAtt` of a resource.
    fn attribute(&self, logical_id: &str, attribute: &str) -> Option<String>;
}

/// One resource of the template.
#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub kind: String,
    pub properties: Value,
    pub metadata: Value,
}

/// The template with its parameter values bound and its conditions evaluated.
#[derive(Debug)]
pub struct Template {
    pub pseudo: Pseudo,
    /// Every parameter's value (given, else its default).
    pub parameters: BTreeMap<String, Value>,
    pub conditions: BTreeMap<String, bool>,
    mappings: Value,
    resources: BTreeMap<String, Value>,
    outputs: Map<String, Value>,
}

impl Template {
    /// Binds `values` to the template's parameters (checking `AllowedValues`, `AllowedPattern`,
    /// `MinValue`/`MaxValue`, `MinLength`/`MaxLength` as CloudFormation does), then evaluates the
    /// `Rules` and `Conditions`.
    pub fn new(
        template: &Value,
        values: &BTreeMap<String, String>,
        pseudo: Pseudo,
    ) -> anyhow::Result<Self> {
        let declared = template
            .get("Parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(unknown) = values.keys().find(|k| !declared.contains_key(*k)) {
            bail!("parameter {unknown} is not declared in the template");
        }
        let mut parameters = BTreeMap::new();
        for (name, spec) in &declared {
            let value = match values.get(name) {
                Some(v) => v.clone(),
                None => match spec.get("Default") {
                    Some(d) => scalar(d)
                        .with_context(|| format!("parameter {name}: default is not a scalar"))?,
                    None => bail!("parameter {name} has no value and no default"),
                },
            };
            check_parameter(name, spec, &value)?;
            let value = if spec.get("Type").and_then(Value::as_str) == Some("CommaDelimitedList") {
                Value::Array(
                    value
                        .split(',')
                        .map(|s| Value::String(s.trim().into()))
                        .collect(),
                )
            } else {
                Value::String(value)
            };
            parameters.insert(name.clone(), value);
        }
        let mut this = Self {
            pseudo,
            parameters,
            conditions: BTreeMap::new(),
            mappings: template.get("Mappings").cloned().unwrap_or(Value::Null),
            resources: template
                .get("Resources")
                .and_then(Value::as_object)
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default(),
            outputs: template
                .get("Outputs")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        };
        let conditions = template
            .get("Conditions")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut evaluating = BTreeSet::new();
        for name in conditions.keys() {
            let value = this.condition(name, &conditions, &mut evaluating)?;
            this.conditions.insert(name.clone(), value);
        }
        this.check_rules(template.get("Rules"))?;
        Ok(this)
    }

    fn condition(
        &self,
        name: &str,
        all: &Map<String, Value>,
        evaluating: &mut BTreeSet<String>,
    ) -> anyhow::Result<bool> {
        if let Some(value) = self.conditions.get(name) {
            return Ok(*value);
        }
        let expr = all
            .get(name)
            .with_context(|| format!("condition {name} is not declared"))?;
        if !evaluating.insert(name.to_owned()) {
            bail!("condition {name} refers to itself");
        }
        let value = self.boolean(expr, &|n, ev| self.condition(n, all, ev), evaluating);
        evaluating.remove(name);
        value.with_context(|| format!("condition {name}"))
    }

    /// `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or` and `{"Condition": name}`.
    fn boolean(
        &self,
        expr: &Value,
        named: &dyn Fn(&str, &mut BTreeSet<String>) -> anyhow::Result<bool>,
        evaluating: &mut BTreeSet<String>,
    ) -> anyhow::Result<bool> {
        let (function, args) = single_key(expr).context("a condition must be a function")?;
        let list = |n: usize| -> anyhow::Result<&Vec<Value>> {
            let list = args
                .as_array()
                .with_context(|| format!("{function} takes a list"))?;
            if n > 0 && list.len() != n {
                bail!("{function} takes {n} arguments");
            }
            Ok(list)
        };
        match function {
            "Condition" => named(args.as_str().context("Condition takes a name")?, evaluating),
            "Fn::Equals" => {
                let args = list(2)?;
                let a = self.resolve(&args[0], &NoResources)?;
                let b = self.resolve(&args[1], &NoResources)?;
                Ok(a == b)
            }
            "Fn::Not" => Ok(!self.boolean(&list(1)?[0], named, evaluating)?),
            "Fn::And" => {
                let mut all = true;
                for c in list(0)? {
                    all &= self.boolean(c, named, evaluating)?;
                }
                Ok(all)
            }
            "Fn::Or" => {
                let mut any = false;
                for c in list(0)? {
                    any |= self.boolean(c, named, evaluating)?;
                }
                Ok(any)
            }
            // Rules only: `[[values...], value]`, true when the value is one of the values.
            "Fn::Contains" => {
                let args = list(2)?;
                let values = self.resolve(&args[0], &NoResources)?;
                let value = self.resolve(&args[1], &NoResources)?;
                let values = values
                    .as_array()
                    .context("Fn::Contains takes a list first")?;
                Ok(values.contains(&value))
            }
            other => bail!("{other} is not a condition function"),
        }
    }

    /// `Rules`: each rule whose `RuleCondition` holds must have every `Assert` true, or the
    /// stack is refused with the assertion's description, as CloudFormation does.
    fn check_rules(&self, rules: Option<&Value>) -> anyhow::Result<()> {
        let Some(rules) = rules.and_then(Value::as_object) else {
            return Ok(());
        };
        let named = |n: &str, _: &mut BTreeSet<String>| {
            self.conditions
                .get(n)
                .copied()
                .with_context(|| format!("condition {n} is not declared"))
        };
        for (name, rule) in rules {
            if let Some(condition) = rule.get("RuleCondition") {
                if !self.boolean(condition, &named, &mut BTreeSet::new())? {
                    continue;
                }
            }
            for assertion in rule
                .get("Assertions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let holds = self
                    .boolean(&assertion["Assert"], &named, &mut BTreeSet::new())
                    .with_context(|| format!("rule {name}"))?;
                if !holds {
                    bail!(
                        "rule {name}: {}",
                        assertion
                            .get("AssertDescription")
                            .and_then(Value::as_str)
                            .unwrap_or("assertion failed")
                    );
                }
            }
        }
        Ok(())
    }

    /// Whether a resource or output with this `Condition` exists.
    fn holds(&self, item: &Value) -> anyhow::Result<bool> {
        match item.get("Condition").and_then(Value::as_str) {
            None => Ok(true),
            Some(name) => self
                .conditions
                .get(name)
                .copied()
                .with_context(|| format!("condition {name} is not declared")),
        }
    }

    /// The resources whose condition holds, each after the resources it refers to
    /// (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `DependsOn`). A cycle is an error naming its members.
    pub fn resources_in_order(&self) -> anyhow::Result<Vec<Resource>> {
        let mut present = BTreeMap::new();
        for (id, body) in &self.resources {
            if self.holds(body)? {
                present.insert(id.clone(), body);
            }
        }
        let mut edges: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        for (id, body) in &present {
            let mut deps = BTreeSet::new();
            self.collect_dependencies(body.get("Properties").unwrap_or(&Value::Null), &mut deps);
            match body.get("DependsOn") {
                Some(Value::String(d)) => {
                    deps.insert(d.clone());
                }
                Some(Value::Array(list)) => {
                    deps.extend(list.iter().filter_map(Value::as_str).map(str::to_owned))
                }
                _ => {}
            }
            deps.retain(|d| present.contains_key(d));
            deps.remove(id);
            edges.insert(id, deps);
        }
        let mut order = Vec::new();
        let mut done = BTreeSet::new();
        while done.len() < present.len() {
            let ready: Vec<&str> = edges
                .iter()
                .filter(|(id, deps)| {
                    !done.contains(**id) && deps.iter().all(|d| done.contains(d.as_str()))
                })
                .map(|(id, _)| *id)
                .collect();
            if ready.is_empty() {
                let cycle: Vec<&str> = edges
                    .keys()
                    .filter(|id| !done.contains(**id))
                    .copied()
                    .collect();
                bail!("circular dependency between {}", cycle.join(", "));
            }
            for id in ready {
                done.insert(id.to_owned());
                let body = present[id];
                order.push(Resource {
                    logical_id: id.to_owned(),
                    kind: body
                        .get("Type")
                        .and_then(Value::as_str)
                        .with_context(|| format!("resource {id} has no Type"))?
                        .to_owned(),
                    properties: body.get("Properties").cloned().unwrap_or(Value::Null),
                    metadata: body.get("Metadata").cloned().unwrap_or(Value::Null),
                });
            }
        }
        Ok(order)
    }

    fn collect_dependencies(&self, value: &Value, out: &mut BTreeSet<String>) {
        match value {
            Value::Object(map) => {
                if let Some((function, args)) = single_key(value) {
                    match function {
                        "Ref" => {
                            if let Some(name) = args.as_str() {
                                if self.resources.contains_key(name) {
                                    out.insert(name.to_owned());
                                }
                            }
                        }
                        "Fn::GetAtt" => {
                            if let Some(name) = getatt_target(args) {
                                out.insert(name.0);
                            }
                        }
                        "Fn::Sub" => {
                            let (text, vars) = match args {
                                Value::String(s) => (s.as_str(), None),
                                Value::Array(a) => {
                                    (a.first().and_then(Value::as_str).unwrap_or(""), a.get(1))
                                }
                                _ => ("", None),
                            };
                            for name in sub_names(text) {
                                let target = name.split('.').next().unwrap_or(name);
                                let local = vars.and_then(|v| v.get(target)).is_some();
                                if !local && self.resources.contains_key(target) {
                                    out.insert(target.to_owned());
                                }
                            }
                            if let Some(vars) = vars {
                                self.collect_dependencies(vars, out);
                            }
                        }
                        _ => {}
                    }
                }
                for v in map.values() {
                    self.collect_dependencies(v, out);
                }
            }
            Value::Array(list) => list.iter().for_each(|v| self.collect_dependencies(v, out)),
            _ => {}
        }
    }

    /// The outputs whose condition holds, resolved.
    pub fn outputs(&self, physical: &dyn Physical) -> anyhow::Result<BTreeMap<String, String>> {
        let mut out = BTreeMap::new();
        for (name, output) in &self.outputs {
            if !self.holds(output)? {
                continue;
            }
            let value = self
                .resolve(&output["Value"], physical)
                .with_context(|| format!("output {name}"))?;
            out.insert(
                name.clone(),
                scalar(&value).with_context(|| format!("output {name}"))?,
            );
        }
        Ok(out)
    }

    /// Resolves every intrinsic function in `value`; `AWS::NoValue` members disappear.
    pub fn resolve(&self, value: &Value, physical: &dyn Physical) -> anyhow::Result<Value> {
        let resolved = self.resolve_inner(value, physical)?;
        if resolved.as_str() == Some(NO_VALUE) {
            return Ok(Value::Null);
        }
        Ok(resolved)
    }

    fn resolve_inner(&self, value: &Value, physical: &dyn Physical) -> anyhow::Result<Value> {
        match value {
            Value::Object(map) => {
                if let Some((function, args)) = single_key(value) {
                    if function == "Ref" || function.starts_with("Fn::") {
                        return self
                            .function(function, args, physical)
                            .with_context(|| format!("{function} {}", compact(args)));
                    }
                }
                let mut out = Map::new();
                for (k, v) in map {
                    let v = self.resolve_inner(v, physical)?;
                    if v.as_str() != Some(NO_VALUE) {
                        out.insert(k.clone(), v);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(list) => {
                let mut out = Vec::with_capacity(list.len());
                for v in list {
                    let v = self.resolve_inner(v, physical)?;
                    if v.as_str() != Some(NO_VALUE) {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other.clone()),
        }
    }

    fn function(
        &self,
        function: &str,
        args: &Value,
        physical: &dyn Physical,
    ) -> anyhow::Result<Value> {
        let list = |n: usize| -> anyhow::Result<&Vec<Value>> {
            match args.as_array() {
                Some(l) if l.len() == n => Ok(l),
                _ => bail!("takes a list of {n}"),
            }
        };
        match function {
            "Ref" => self.reference(args.as_str().context("takes a name")?, physical),
            "Fn::GetAtt" => {
                let (id, attribute) = getatt_target(args).context("takes [resource, attribute]")?;
                physical
                    .attribute(&id, &attribute)
                    .map(Value::String)
                    .ok_or_else(|| anyhow!("{id}.{attribute} is not known (is {id} deployed?)"))
            }
            "Fn::Sub" => {
                let (text, vars) = match args {
                    Value::String(s) => (s.as_str(), None),
                    Value::Array(a) if a.len() == 2 => (
                        a[0].as_str().context("the first argument is the string")?,
                        Some(self.resolve_inner(&a[1], physical)?),
                    ),
                    _ => bail!("takes a string or [string, variables]"),
                };
                self.sub(text, vars.as_ref(), physical).map(Value::String)
            }
            "Fn::Join" => {
                let args = list(2)?;
                let delimiter = args[0].as_str().context("the delimiter is a string")?;
                let items = self.resolve_inner(&args[1], physical)?;
                let items = items.as_array().context("joins a list")?;
                let parts: anyhow::Result<Vec<String>> = items.iter().map(scalar).collect();
                Ok(Value::String(parts?.join(delimiter)))
            }
            "Fn::Select" => {
                let args = list(2)?;
                let index = scalar(&self.resolve_inner(&args[0], physical)?)?
                    .parse::<usize>()
                    .context("the index is a number")?;
                let items = self.resolve_inner(&args[1], physical)?;
                items
                    .as_array()
                    .and_then(|l| l.get(index).cloned())
                    .with_context(|| format!("no item {index}"))
            }
            "Fn::Split" => {
                let args = list(2)?;
                let delimiter = args[0].as_str().context("the delimiter is a string")?;
                let text = scalar(&self.resolve_inner(&args[1], physical)?)?;
                Ok(Value::Array(
                    text.split(delimiter)
                        .map(|s| Value::String(s.into()))
                        .collect(),
                ))
            }
            "Fn::If" => {
                let args = list(3)?;
                let name = args[0].as_str().context("the condition is a name")?;
                let holds = self
                    .conditions
                    .get(name)
                    .copied()
                    .with_context(|| format!("condition {name} is not declared"))?;
                self.resolve_inner(&args[if holds { 1 } else { 2 }], physical)
            }
            "Fn::Base64" => {
                use base64::Engine as _;
                let text = scalar(&self.resolve_inner(args, physical)?)?;
                Ok(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(text),
                ))
            }
            "Fn::FindInMap" => {
                let args = list(3)?;
                let keys: anyhow::Result<Vec<String>> = args
                    .iter()
                    .map(|a| scalar(&self.resolve_inner(a, physical)?))
                    .collect();
                let keys = keys?;
                self.mappings
                    .get(&keys[0])
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .with_context(|| format!("no mapping {}", keys.join(".")))
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => {
                let named = |n: &str, _: &mut BTreeSet<String>| {
                    self.conditions
                        .get(n)
                        .copied()
                        .with_context(|| format!("condition {n} is not declared"))
                };
                let mut expr = Map::new();
                expr.insert(function.to_owned(), args.clone());
                Ok(Value::Bool(self.boolean(
                    &Value::Object(expr),
                    &named,
                    &mut BTreeSet::new(),
                )?))
            }
            other => bail!("{other} is not supported by the local cloud"),
        }
    }

    fn reference(&self, name: &str, physical: &dyn Physical) -> anyhow::Result<Value> {
        let p = &self.pseudo;
        let value = match name {
            "AWS::NoValue" => NO_VALUE.to_owned(),
            "AWS::Region" => p.region.clone(),
            "AWS::AccountId" => p.account_id.clone(),
            "AWS::StackName" => p.stack_name.clone(),
            "AWS::StackId" => p.stack_id.clone(),
            "AWS::Partition" => "aws".to_owned(),
            "AWS::URLSuffix" => "amazonaws.com".to_owned(),
            "AWS::NotificationARNs" => return Ok(Value::Array(Vec::new())),
            _ => {
                if let Some(value) = self.parameters.get(name) {
                    return Ok(value.clone());
                }
                if !self.resources.contains_key(name) {
                    bail!("{name} is neither a parameter nor a resource");
                }
                physical
                    .reference(name)
                    .with_context(|| format!("{name} is not known (is it deployed?)"))?
            }
        };
        Ok(Value::String(value))
    }

    fn sub(
        &self,
        text: &str,
        vars: Option<&Value>,
        physical: &dyn Physical,
    ) -> anyhow::Result<String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').context("unterminated ${")?;
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
                continue;
            }
            if let Some(value) = vars.and_then(|v| v.get(name)) {
                out.push_str(&scalar(value)?);
                continue;
            }
            let value = match name.split_once('.') {
                Some((id, attribute)) if !name.starts_with("AWS::") => physical
                    .attribute(id, attribute)
                    .with_context(|| format!("{id}.{attribute} is not known"))?,
                _ => scalar(&self.reference(name, physical)?)?,
            };
            out.push_str(&value);
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// A `Ref`-less lookup for conditions, which may name parameters only.
struct NoResources;

impl Physical for NoResources {
    fn reference(&self, _: &str) -> Option<String> {
        None
    }
    fn attribute(&self, _: &str, _: &str) -> Option<String> {
        None
    }
}

/// The one key of an intrinsic-function object.
fn single_key(value: &Value) -> Option<(&str, &Value)> {
    let map = value.as_object()?;
    if map.len() != 1 {
        return None;
    }
    map.iter().next().map(|(k, v)| (k.as_str(), v))
}

fn getatt_target(args: &Value) -> Option<(String, String)> {
    match args {
        Value::Array(a) if a.len() == 2 => {
            Some((a[0].as_str()?.to_owned(), a[1].as_str()?.to_owned()))
        }
        Value::String(s) => s.split_once('.').map(|(a, b)| (a.to_owned(), b.to_owned())),
        _ => None,
    }
}

/// The `${Name}` placeholders of a `Fn::Sub` string (not the `${!Literal}` ones).
fn sub_names(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.starts_with('!') {
            names.push(name);
        }
        rest = &after[end + 1..];
    }
    names
}

/// A string, number or boolean as CloudFormation turns it into text.
pub fn scalar(value: &Value) -> anyhow::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => bail!("expected a string, got {}", compact(other)),
    }
}

fn compact(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 120 {
        format!("{}...", &text[..text.floor_char_boundary(117)])
    } else {
        text
    }
}

/// CloudFormation's parameter constraints.
fn check_parameter(name: &str, spec: &Value, value: &str) -> anyhow::Result<()> {
    let why = spec
        .get("ConstraintDescription")
        .and_then(Value::as_str)
        .unwrap_or("constraint not met");
    if let Some(allowed) = spec.get("AllowedValues").and_then(Value::as_array) {
        let allowed: Vec<String> = allowed.iter().filter_map(|v| scalar(v).ok()).collect();
        if !allowed.iter().any(|a| a == value) {
            bail!(
                "parameter {name}={value:?}: must be one of {}",
                allowed.join(", ")
            );
        }
    }
    if let Some(pattern) = spec.get("AllowedPattern").and_then(Value::as_str) {
        let anchored = format!("^(?:{pattern})$");
        let re = regex::Regex::new(&anchored)
            .with_context(|| format!("parameter {name}: AllowedPattern is not a regex"))?;
        if !re.is_match(value) {
            bail!("parameter {name}: {why}");
        }
    }
    let number = |key: &str| {
        spec.get(key)
            .and_then(|v| scalar(v).ok()?.parse::<f64>().ok())
    };
    if spec.get("Type").and_then(Value::as_str) == Some("Number") {
        let n: f64 = value
            .parse()
            .with_context(|| format!("parameter {name}={value:?} is not a number"))?;
        if number("MinValue").is_some_and(|min| n < min)
            || number("MaxValue").is_some_and(|max| n > max)
        {
            bail!("parameter {name}={value}: out of range");
        }
    }
    let length = value.chars().count() as f64;
    if number("MinLength").is_some_and(|min| length < min)
        || number("MaxLength").is_some_and(|max| length > max)
    {
        bail!("parameter {name}: length {length} out of range ({why})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Fixed(BTreeMap<String, String>);
    impl Physical for Fixed {
        fn reference(&self, id: &str) -> Option<String> {
            self.0.get(id).cloned()
        }
        fn attribute(&self, id: &str, attribute: &str) -> Option<String> {
            self.0.get(&format!("{id}.{attribute}")).cloned()
        }
    }

    fn sample() -> Value {
        json!({
            "Parameters": {
                "Bus": {"Type": "String", "Default": "", "AllowedPattern": "^$|^aws\\.partner/.+$"},
                "Size": {"Type": "Number", "Default": 5, "MinValue": 1, "MaxValue": 10},
                "Mode": {"Type": "String", "Default": "a", "AllowedValues": ["a", "b"]}
            },
            "Rules": {
                "SizeWithBus": {
                    "RuleCondition": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Bus"}, ""]}]},
                    "Assertions": [{"Assert": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Mode"}, "b"]}]}, "AssertDescription": "mode b needs no bus"}]
                },
                "ModeBRegions": {
                    "RuleCondition": {"Fn::Equals": [{"Ref": "Mode"}, "b"]},
                    "Assertions": [{"Assert": {"Fn::Contains": [["us-east-1", "us-west-2"], {"Ref": "AWS::Region"}]}, "AssertDescription": "mode b is offered in us-east-1 and us-west-2 only"}]
                }
            },
            "Conditions": {
                "HasBus": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Bus"}, ""]}]},
                "BusAndA": {"Fn::And": [{"Condition": "HasBus"}, {"Fn::Equals": ["a", {"Ref": "Mode"}]}]}
            },
            "Resources": {
                "Queue": {"Type": "AWS::SQS::Queue"},
                "Fn": {"Type": "AWS::Lambda::Function", "Condition": "HasBus", "Properties": {
                    "Environment": {"Variables": {
                        "Q": {"Ref": "Queue"},
                        "ARN": {"Fn::GetAtt": ["Queue", "Arn"]},
                        "S": {"Fn::Sub": "${AWS::StackName}-${Queue.QueueName}-${!Lit}"},
                        "V": {"Fn::Sub": ["x-${Suffix}", {"Suffix": {"Fn::Select": [0, {"Fn::Split": ["-", {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}]}]}}]},
                        "GONE": {"Fn::If": ["BusAndA", {"Ref": "AWS::NoValue"}, "kept"]}
                    }},
                    "List": [{"Fn::If": ["HasBus", {"Ref": "AWS::NoValue"}, 1]}, 2]
                }},
                "Rule": {"Type": "AWS::Events::Rule", "Condition": "HasBus", "Properties": {"Targets": [{"Arn": {"Fn::GetAtt": "Fn.Arn"}}]}}
            },
            "Outputs": {
                "QueueUrl": {"Value": {"Ref": "Queue"}},
                "FnArn": {"Condition": "HasBus", "Value": {"Fn::GetAtt": ["Fn", "Arn"]}}
            }
        })
    }

    fn pseudo() -> Pseudo {
        Pseudo::new("us-east-1", "123456789012", "stack")
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn order(t: &Template) -> Vec<String> {
        t.resources_in_order()
            .unwrap()
            .into_iter()
            .map(|r| r.logical_id)
            .collect()
    }

    #[test]
    fn defaults_conditions_and_order() {
        let t = Template::new(&sample(), &values(&[]), pseudo()).unwrap();
        assert_eq!(t.parameters["Size"], json!("5"));
        assert!(!t.conditions["HasBus"]);
        assert_eq!(order(&t), ["Queue"]);

        let t = Template::new(&sample(), &values(&[("Bus", "aws.partner/x")]), pseudo()).unwrap();
        assert!(t.conditions["HasBus"] && t.conditions["BusAndA"]);
        assert_eq!(order(&t), ["Queue", "Fn", "Rule"]);
    }

    #[test]
    fn constraints_and_rules_refuse() {
        let err = |pairs: &[(&str, &str)]| {
            Template::new(&sample(), &values(pairs), pseudo())
                .unwrap_err()
                .to_string()
        };
        assert!(err(&[("Bus", "nope")]).contains("Bus"));
        assert!(err(&[("Size", "11")]).contains("out of range"));
        assert!(err(&[("Mode", "c")]).contains("one of a, b"));
        assert!(err(&[("Nope", "1")]).contains("not declared"));
        assert!(err(&[("Bus", "aws.partner/x"), ("Mode", "b")]).contains("mode b needs no bus"));
        // Fn::Contains over a pseudo parameter
        assert!(Template::new(&sample(), &values(&[("Mode", "b")]), pseudo()).is_ok());
        let elsewhere = Pseudo::new("eu-west-1", "123456789012", "stack");
        let e = Template::new(&sample(), &values(&[("Mode", "b")]), elsewhere)
            .unwrap_err()
            .to_string();
        assert!(e.contains("offered in us-east-1 and us-west-2 only"), "{e}");
    }

    #[test]
    fn intrinsics() {
        let t = Template::new(&sample(), &values(&[("Bus", "aws.partner/x")]), pseudo()).unwrap();
        let physical = Fixed(
            [
                ("Queue", "http://q/stack-Queue"),
                (
                    "Queue.Arn",
                    "arn:aws:sqs:us-east-1:123456789012:stack-Queue",
                ),
                ("Queue.QueueName", "stack-Queue"),
                ("Fn.Arn", "arn:fn"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
        );
        let order = t.resources_in_order().unwrap();
        let f = order.iter().find(|r| r.logical_id == "Fn").unwrap();
        let props = t.resolve(&f.properties, &physical).unwrap();
        let env = &props["Environment"]["Variables"];
        assert_eq!(env["Q"], "http://q/stack-Queue");
        assert_eq!(env["ARN"], "arn:aws:sqs:us-east-1:123456789012:stack-Queue");
        assert_eq!(env["S"], "stack-stack-Queue-${Lit}");
        let suffix = t
            .pseudo
            .stack_id
            .rsplit('/')
            .next()
            .unwrap()
            .split('-')
            .next()
            .unwrap();
        assert_eq!(env["V"], format!("x-{suffix}"));
        assert!(env.get("GONE").is_none());
        assert_eq!(props["List"], json!([2]));
        let outputs = t.outputs(&physical).unwrap();
        assert_eq!(outputs["FnArn"], "arn:fn");
        assert_eq!(outputs["QueueUrl"], "http://q/stack-Queue");
        // A stable stack id: the same names on every run.
        assert_eq!(
            Pseudo::new("us-east-1", "1", "stack").stack_id,
            Pseudo::new("us-east-1", "1", "stack").stack_id
        );
    }

    #[test]
    fn cycles_are_named() {
        let template = json!({"Resources": {
            "A": {"Type": "T", "Properties": {"X": {"Ref": "B"}}},
            "B": {"Type": "T", "Properties": {"X": {"Fn::Sub": "${A.Arn}"}}},
            "C": {"Type": "T"}
        }});
        let t = Template::new(&template, &values(&[]), pseudo()).unwrap();
        let err = t.resources_in_order().unwrap_err().to_string();
        assert!(err.contains("A, B"), "{err}");
    }
}
