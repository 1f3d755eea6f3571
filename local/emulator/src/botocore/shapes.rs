//! A botocore service model (`service-2.json`) read into types: the operations and the shapes
//! with the constraints a server enforces (`required`, `min`/`max`, `pattern`, `enum`,
//! `sensitive`, `union`, `sparse`, `timestampFormat`, member `location`/`locationName`).
//! Documentation, examples and client-side hints are kept only where a check needs them
//! (member documentation, for limits the model states in prose).

use std::collections::BTreeMap;
use std::fmt;

use anyhow::{anyhow, bail, Context as _};
use serde_json::{Map, Number, Value};

use super::java_regex::{self, JavaRegex};

/// One operation: its HTTP binding, input shape and the errors it declares.
#[derive(Debug, Clone)]
pub struct Operation {
    pub name: String,
    pub http_method: String,
    pub request_uri: String,
    pub input: Option<String>,
    /// Names of the error shapes, in model order.
    pub errors: Vec<String>,
}

/// What a shape is.
#[derive(Debug, Clone)]
pub enum Kind {
    Structure(Structure),
    List {
        member: String,
        sparse: bool,
    },
    Map {
        key: String,
        value: String,
        sparse: bool,
    },
    String,
    /// `byte`, `short`, `integer`, `long`: a JSON number without a fraction, within `bits`.
    Integer {
        bits: u32,
    },
    /// `float`, `double`: a JSON number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
    Float,
    /// `bigInteger`, `bigDecimal`: any JSON number.
    BigNumber,
    Boolean,
    Timestamp,
    Blob,
    /// A `structure` with `document: true`: any JSON value.
    Document,
}

/// A structure's members.
#[derive(Debug, Clone, Default)]
pub struct Structure {
    /// Members in model order.
    pub members: Vec<Member>,
    /// Names of the required members.
    pub required: Vec<String>,
    /// A union: exactly one member may be set.
    pub union: bool,
    /// The member bound to the whole HTTP payload, if any.
    pub payload: Option<String>,
}

/// A structure member.
#[derive(Debug, Clone)]
pub struct Member {
    pub name: String,
    pub shape: String,
    /// Where it travels: `None` for the JSON body, else `uri`, `querystring`, `header`, ...
    pub location: Option<String>,
    /// `locationName`: the JSON key (body members) or header/query name.
    pub location_name: Option<String>,
    /// A string holding JSON text.
    pub jsonvalue: bool,
    pub timestamp_format: Option<String>,
    pub documentation: String,
}

impl Member {
    /// The key of this member in a JSON body.
    pub fn json_key(&self) -> &str {
        match (&self.location, &self.location_name) {
            (None, Some(name)) => name,
            _ => &self.name,
        }
    }
}

/// One shape and its constraints.
#[derive(Debug, Clone)]
pub struct Shape {
    pub name: String,
    pub kind: Kind,
    /// `min`: length (strings: characters; blobs: bytes; lists and maps: entries) or value.
    pub min: Option<Number>,
    /// `max`, as `min`.
    pub max: Option<Number>,
    pub pattern: Option<JavaRegex>,
    pub enum_values: Vec<String>,
    pub sensitive: bool,
    pub timestamp_format: Option<String>,
}

/// A botocore service model.
#[derive(Debug, Clone)]
pub struct ServiceModel {
    /// Where it was read from.
    pub source: String,
    pub api_version: String,
    pub protocol: String,
    pub service_id: String,
    pub operations: BTreeMap<String, Operation>,
    pub shapes: BTreeMap<String, Shape>,
}

impl fmt::Display for ServiceModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} ({})",
            self.service_id, self.api_version, self.source
        )
    }
}

impl ServiceModel {
    /// Reads a model from its JSON text; every pattern must translate to a Rust regex.
    pub fn from_json(source: &str, text: &str) -> anyhow::Result<Self> {
        let root: Value =
            serde_json::from_str(text).with_context(|| format!("{source}: not JSON"))?;
        let metadata = root
            .get("metadata")
            .and_then(Value::as_object)
            .ok_or_else(|| anyhow!("{source}: no metadata"))?;
        let text_of = |key: &str| {
            metadata
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let mut operations = BTreeMap::new();
        for (name, op) in object(&root, "operations", source)? {
            operations.insert(name.clone(), operation(name, op));
        }
        let mut shapes = BTreeMap::new();
        for (name, value) in object(&root, "shapes", source)? {
            let shape = shape(name, value).with_context(|| format!("{source}: shape {name}"))?;
            shapes.insert(name.clone(), shape);
        }
        let model = Self {
            source: source.to_owned(),
            api_version: text_of("apiVersion"),
            protocol: text_of("protocol"),
            service_id: text_of("serviceId"),
            operations,
            shapes,
        };
        model.check_references()?;
        Ok(model)
    }

    /// The operation named `name` (as in the API reference, e.g. `PutEvents`).
    pub fn operation(&self, name: &str) -> Option<&Operation> {
        self.operations.get(name)
    }

    /// The shape named `name`.
    pub fn shape(&self, name: &str) -> Option<&Shape> {
        self.shapes.get(name)
    }

    /// Member `member` of structure `structure`.
    pub fn member(&self, structure: &str, member: &str) -> Option<&Member> {
        match &self.shape(structure)?.kind {
            Kind::Structure(s) => s.members.iter().find(|m| m.name == member),
            _ => None,
        }
    }

    /// Every shape a member, list or map names exists (so checking never meets a dangling
    /// name).
    fn check_references(&self) -> anyhow::Result<()> {
        let known = |name: &str, from: &str| {
            if self.shapes.contains_key(name) {
                Ok(())
            } else {
                Err(anyhow!(
                    "{}: {from} names shape {name}, which the model lacks",
                    self.source
                ))
            }
        };
        for shape in self.shapes.values() {
            match &shape.kind {
                Kind::Structure(s) => {
                    for m in &s.members {
                        known(&m.shape, &format!("{}.{}", shape.name, m.name))?;
                    }
                }
                Kind::List { member, .. } => known(member, &shape.name)?,
                Kind::Map { key, value, .. } => {
                    known(key, &shape.name)?;
                    known(value, &shape.name)?;
                }
                _ => {}
            }
        }
        for op in self.operations.values() {
            if let Some(input) = &op.input {
                known(input, &op.name)?;
            }
        }
        Ok(())
    }
}

fn object<'a>(root: &'a Value, key: &str, source: &str) -> anyhow::Result<&'a Map<String, Value>> {
    root.get(key)
        .and_then(Value::as_object)
        .ok_or_else(|| anyhow!("{source}: no {key}"))
}

fn str_of(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn flag(value: &Value, key: &str) -> bool {
    value.get(key).and_then(Value::as_bool).unwrap_or(false)
}

fn shape_ref(value: &Value, key: &str) -> Option<String> {
    value.get(key).and_then(|r| str_of(r, "shape"))
}

fn operation(name: &str, op: &Value) -> Operation {
    let http = op.get("http").cloned().unwrap_or(Value::Null);
    Operation {
        name: name.to_owned(),
        http_method: str_of(&http, "method").unwrap_or_default(),
        request_uri: str_of(&http, "requestUri").unwrap_or_default(),
        input: shape_ref(op, "input"),
        errors: op
            .get("errors")
            .and_then(Value::as_array)
            .map(|errors| errors.iter().filter_map(|e| str_of(e, "shape")).collect())
            .unwrap_or_default(),
    }
}

fn shape(name: &str, value: &Value) -> anyhow::Result<Shape> {
    let Some(kind_name) = value.get("type").and_then(Value::as_str) else {
        bail!("no type");
    };
    let kind = match kind_name {
        "structure" if flag(value, "document") => Kind::Document,
        "structure" => Kind::Structure(structure(value)?),
        "list" => Kind::List {
            member: shape_ref(value, "member").ok_or_else(|| anyhow!("list without member"))?,
            sparse: flag(value, "sparse"),
        },
        "map" => Kind::Map {
            key: shape_ref(value, "key").ok_or_else(|| anyhow!("map without key"))?,
            value: shape_ref(value, "value").ok_or_else(|| anyhow!("map without value"))?,
            sparse: flag(value, "sparse"),
        },
        "string" => Kind::String,
        "byte" => Kind::Integer { bits: 8 },
        "short" => Kind::Integer { bits: 16 },
        "integer" => Kind::Integer { bits: 32 },
        "long" => Kind::Integer { bits: 64 },
        "float" | "double" => Kind::Float,
        "bigInteger" | "bigDecimal" => Kind::BigNumber,
        "boolean" => Kind::Boolean,
        "timestamp" => Kind::Timestamp,
        "blob" => Kind::Blob,
        other => bail!("unknown type {other}"),
    };
    let number = |key: &str| match value.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => Ok(Some(n.clone())),
        Some(_) => Err(anyhow!("{key} is not a number")),
    };
    let pattern = match value.get("pattern").and_then(Value::as_str) {
        Some(p) => Some(java_regex::compile(p)?),
        None => None,
    };
    Ok(Shape {
        name: name.to_owned(),
        kind,
        min: number("min")?,
        max: number("max")?,
        pattern,
        enum_values: value
            .get("enum")
            .and_then(Value::as_array)
            .map(|values| {
                values
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        sensitive: flag(value, "sensitive"),
        timestamp_format: str_of(value, "timestampFormat"),
    })
}

fn structure(value: &Value) -> anyhow::Result<Structure> {
    let mut members = Vec::new();
    if let Some(map) = value.get("members").and_then(Value::as_object) {
        for (name, m) in map {
            members.push(Member {
                name: name.clone(),
                shape: str_of(m, "shape").ok_or_else(|| anyhow!("member {name}: no shape"))?,
                location: str_of(m, "location"),
                location_name: str_of(m, "locationName"),
                jsonvalue: flag(m, "jsonvalue"),
                timestamp_format: str_of(m, "timestampFormat"),
                documentation: str_of(m, "documentation").unwrap_or_default(),
            });
        }
    }
    Ok(Structure {
        members,
        required: value
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default(),
        union: flag(value, "union"),
        payload: str_of(value, "payload"),
    })
}
