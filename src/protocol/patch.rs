//! PATCH (RFC 7644 §3.5.2): the request is parsed once into typed operations, each naming one
//! attribute (path-less values are split into one operation per key); group `members` are then
//! taken out (`members::split`, storage applies them without reading the member list) and the
//! rest are applied to a copy of the stored attributes (`apply`). The service re-validates the
//! result with `resource::normalize_with`. Every step takes the [`SchemaSet`] as a value: which
//! URNs name a schema, which attributes exist and what they are come from it alone.
//!
//! Decisions, with the RFC 7644 text they rest on:
//! - Atomic: "A PATCH request, regardless of the number of operations, SHALL be treated as
//!   atomic. If a single operation encounters an error condition, the original SCIM resource MUST
//!   be restored" (§3.5.2). `apply` works on a copy and writes it back only when every operation
//!   succeeded.
//! - `add` on a single-valued attribute replaces it: "If the target location specifies a
//!   single-valued attribute, the existing value is replaced" (§3.5.2.1). On a multi-valued
//!   attribute it appends, and a value equal to one already there is not added again: "If the
//!   target location already contains the value specified, no changes SHOULD be made".
//! - `add` or `replace` on a complex attribute merges sub-attributes: "Sub-attributes that are not
//!   specified in the "value" parameter are left unchanged" (§3.5.2.3).
//! - `null`, and `""` for a string (attribute or sub-attribute), clear the target on `replace`
//!   (RFC 7643 §2.5: "Unassigned attributes, the null value, or empty array ... SHALL be
//!   considered to be equivalent in "state""). `add` of `null` adds nothing: a no-op. `add` of
//!   `""` to a single-valued string replaces it with nothing, i.e. clears it (add replaces there).
//! - A value filter that selects nothing is 400 `noTarget` for `replace` ("If the target location
//!   is a multi-valued attribute for which a value selection filter ("valuePath") has been
//!   supplied and no record match was made, the service provider SHALL indicate failure by
//!   returning HTTP status code 400 and a "scimType" error code of "noTarget"", §3.5.2.3) and for
//!   `remove` (§3.5.2.2 is silent, but §3.12 defines `noTarget` as: "The specified "path" did not
//!   yield an attribute or attribute value that could be operated on. This occurs when the
//!   specified "path" value contains a filter that yields no match.").
//!   Two exceptions create the value the path describes instead (Entra sets a work email or
//!   address that may not exist yet with `emails[type eq "work"].value`):
//!   - `add` with a filter made only of `eq` comparisons (`and`-ed) on sub-attributes, with or
//!     without a trailing sub-attribute: the new value holds those sub-attributes and the value
//!     ("If the target location does not exist, the attribute and value are added", §3.5.2.1);
//!   - `replace` whose filter is exactly `type eq "<string>"` and whose path ends in another
//!     sub-attribute (`addresses[type eq "work"].streetAddress`).
//!
//!   The created value must pass the filter (so `emails[value eq "a"].value` = "b" is still
//!   `noTarget`). Clearing such a path when nothing matches is a no-op.
//! - `remove` without a path: 400 `noTarget` ("If "path" is unspecified, the operation fails with
//!   HTTP status code 400 and a "scimType" error code of "noTarget"", §3.5.2.2). `remove` of a
//!   required attribute, or clearing one: 400 `mutability` ("If an attribute is removed or becomes
//!   unassigned and is defined as a required attribute or a read-only attribute, the server SHALL
//!   return ... a "scimType" error code of "mutability"", §3.5.2.2).
//! - `remove` of a multi-valued attribute with a `value` (Entra's
//!   `{"op":"Remove","path":"emails","value":[{"value":"x"}]}`, not in the RFC) removes only the
//!   values that have every listed sub-attribute; a listed value matching nothing is a no-op.
//!   On a single-valued attribute the `value` is ignored, as the RFC has no value for `remove`.
//! - `primary`: "a PATCH operation that sets a value's "primary" sub-attribute to "true" SHALL
//!   cause the server to automatically set "primary" to "false" for any other values in the
//!   array" (§3.5.2). An operation that makes two values primary is 400 `invalidValue` ("The
//!   primary attribute value "true" MUST appear no more than once", RFC 7643 §2.4).
//! - Read-only attributes (`id`, `meta`, `groups`, and read-only sub-attributes) named by a path
//!   or a path-less key: 400 `mutability` ("a client MUST NOT modify an attribute that has
//!   mutability "readOnly"", §3.5.2). One exception: `id` equal to the resource's own id is
//!   ignored, because Okta puts it in a group rename.
//! - IdP dialects: `op` in any case; `"True"`/`"False"` for booleans (also coerced by
//!   `normalize`); a bare string for a complex attribute with a `value` sub-attribute
//!   (`manager: "id"` becomes `{"value": "id"}`); path-less values with dotted, filtered and
//!   URN-qualified keys, and with `urn:…:User` objects for the extension or the core schema.
//! - Limits: at most `MAX_OPERATIONS` operations and `MAX_VALUES_PER_OPERATION` values in one
//!   operation's array (400 `invalidValue` past them; `tooMany` is defined in §3.12 for filters
//!   whose results are too many, not for requests).

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use serde_json::{Map, Value};

use super::error::ScimError;
use super::filter::{parse_patch_path, AttrPath, CompareOp, Filter, PatchPath};
use super::matcher::{matches_element, validate};
use super::resource::{resolve_with, ResourceKind};
use super::schema::{AttrType, AttributeDef, Index, Mutability, SchemaSet};

pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Most operations in one PATCH request, where each attribute of a path-less value counts as one
/// operation. Clients that sync memberships send up to 1,000 member changes in one request, one
/// operation each at worst.
pub const MAX_OPERATIONS: usize = 1000;

/// Most values one operation may give for a multi-valued attribute other than group `members`
/// (whose limit is `members::MAX_MEMBER_CHANGES`). It bounds the work of a `remove` that lists
/// the values to remove.
pub const MAX_VALUES_PER_OPERATION: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpKind {
    Add,
    Remove,
    Replace,
}

impl OpKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OpKind::Add => "add",
            OpKind::Remove => "remove",
            OpKind::Replace => "replace",
        }
    }
}

/// What one operation changes.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// An attribute, a sub-attribute, or values selected by a filter.
    Attribute(Box<ResolvedPath>),
    /// A whole extension object: only ever removed (a `remove` of its URN, or a `replace` of it
    /// with `null`). Adding to an extension becomes one `Attribute` operation per attribute.
    Extension(String),
}

/// A path with the definitions it names, resolved against the schemas once, when the request is
/// parsed: applying the operation (again, on every retry of a conflicting write) looks nothing up.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPath {
    pub path: PatchPath,
    /// The extension holding the attribute, by its canonical URN; `None` at the top level.
    pub extension: Option<String>,
    pub attr: AttributeDef,
    /// The sub-attribute the path names (`name.givenName`, `emails[…].value`), if any.
    pub sub: Option<AttributeDef>,
}

impl ResolvedPath {
    /// A group's `members` or a user's `groups`, in any form: what the membership items hold.
    pub fn is_membership(&self) -> bool {
        self.extension.is_none() && self.attr.index == Some(Index::Membership)
    }
}

impl std::fmt::Display for ResolvedPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.path.fmt(f)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PatchOp {
    /// The position of the operation in `Operations`, for error messages. A path-less operation
    /// becomes one `PatchOp` per key of its value, all with the same index.
    pub index: usize,
    pub op: OpKind,
    pub target: Target,
    /// Always `Some` for `add` and `replace` (possibly `Value::Null`); for `remove`, the values
    /// to remove when the client listed some.
    pub value: Option<Value>,
}

/// Parses a PatchOp request body for a resource of `kind`. Keys and `op` values are matched
/// case-insensitively (Entra sends `"op": "Replace"`). `schemas` says which URNs name a whole
/// schema (a path or a path-less key such as `urn:…:enterprise:2.0:User`), and every path is
/// resolved against the schemas of `kind` here, once: an unknown attribute or a bad [filter] is
/// refused before the resource is read.
pub fn parse_request(
    schemas: &SchemaSet,
    kind: ResourceKind,
    body: &Value,
) -> Result<Vec<PatchOp>, ScimError> {
    let body = body
        .as_object()
        .ok_or_else(|| ScimError::invalid_syntax("the PATCH body must be a JSON object"))?;
    let declares_schema = get_ci(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|u| {
                u.as_str()
                    .is_some_and(|u| u.eq_ignore_ascii_case(PATCH_OP_SCHEMA))
            })
        });
    if !declares_schema {
        return Err(ScimError::invalid_syntax(format!(
            "the PATCH body must list \"{PATCH_OP_SCHEMA}\" in \"schemas\""
        )));
    }
    let operations = get_ci(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::invalid_syntax("\"Operations\" must be a non-empty array of operations")
        })?;
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::invalid_value(format!(
            "{} operations in one PATCH; at most {MAX_OPERATIONS} are accepted",
            operations.len()
        )));
    }
    let mut out = Vec::with_capacity(operations.len());
    for (index, op) in operations.iter().enumerate() {
        parse_op(schemas, kind, index, op, &mut out)?;
        if out.len() > MAX_OPERATIONS {
            return Err(ScimError::invalid_value(format!(
                "Operations[{index}]: more than {MAX_OPERATIONS} operations in one PATCH, \
                 counting each attribute of a path-less value as one"
            )));
        }
    }
    Ok(out)
}

fn parse_op(
    schemas: &SchemaSet,
    kind: ResourceKind,
    index: usize,
    raw: &Value,
    out: &mut Vec<PatchOp>,
) -> Result<(), ScimError> {
    let at = |msg: String| ScimError::invalid_syntax(format!("Operations[{index}]: {msg}"));
    let obj = raw
        .as_object()
        .ok_or_else(|| at("each operation must be an object".into()))?;
    let op = match get_ci(obj, "op").and_then(Value::as_str) {
        Some(s) if s.eq_ignore_ascii_case("add") => OpKind::Add,
        Some(s) if s.eq_ignore_ascii_case("remove") => OpKind::Remove,
        Some(s) if s.eq_ignore_ascii_case("replace") => OpKind::Replace,
        other => {
            return Err(at(format!(
                "\"op\" must be \"add\", \"remove\" or \"replace\", got {}",
                other.map_or("nothing".to_string(), |s| format!("\"{s}\""))
            )))
        }
    };
    let value = get_ci(obj, "value").cloned();
    let path = match get_ci(obj, "path") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.trim().is_empty() => None,
        Some(Value::String(s)) => Some(s.trim()),
        Some(_) => return Err(at("\"path\" must be a string".into())),
    };
    let value = match (op, path, value) {
        (OpKind::Remove, None, _) => {
            return Err(ScimError::no_target(format!(
                "Operations[{index}]: \"remove\" needs a \"path\" (RFC 7644 §3.5.2.2)"
            )))
        }
        (OpKind::Add | OpKind::Replace, _, None) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{index}]: \"{}\" needs a \"value\"",
                op.as_str()
            )))
        }
        (_, _, value) => value,
    };
    let Some(path) = path else {
        let attributes = value.unwrap_or(Value::Null);
        return expand(schemas, kind, index, op, None, &attributes, out);
    };
    if let Some(urn) = schema_urn(schemas, path) {
        return match op {
            OpKind::Remove if is_core(schemas, urn) => Err(ScimError::invalid_path(format!(
                "Operations[{index}]: the core schema \"{urn}\" cannot be removed"
            ))),
            OpKind::Remove => {
                out.push(PatchOp {
                    index,
                    op,
                    target: extension_target(schemas, kind, urn).map_err(|e| at_op(index, e))?,
                    value: None,
                });
                Ok(())
            }
            _ => expand(
                schemas,
                kind,
                index,
                op,
                Some(urn),
                &value.unwrap_or(Value::Null),
                out,
            ),
        };
    }
    let path = parse_patch_path(path).map_err(|e| {
        ScimError::invalid_path(format!("Operations[{index}]: invalid path \"{path}\": {e}"))
    })?;
    let target = resolve_path(schemas, kind, path, value.as_ref()).map_err(|e| at_op(index, e))?;
    out.push(PatchOp {
        index,
        op,
        target: Target::Attribute(Box::new(target)),
        value,
    });
    Ok(())
}

/// A path-less value (`{"active": false, "name.givenName": "Ann", "urn:…:User": {…}}`), or the
/// value of a path naming a whole schema: one operation per attribute it names.
fn expand(
    schemas: &SchemaSet,
    kind: ResourceKind,
    index: usize,
    op: OpKind,
    schema: Option<&str>,
    value: &Value,
    out: &mut Vec<PatchOp>,
) -> Result<(), ScimError> {
    let attributes = match (value, schema) {
        (Value::Object(attributes), _) => attributes,
        // `replace` of a whole extension with null removes it; `add` of null adds nothing.
        (Value::Null, Some(urn)) if !is_core(schemas, urn) => {
            if op == OpKind::Replace {
                out.push(PatchOp {
                    index,
                    op: OpKind::Remove,
                    target: extension_target(schemas, kind, urn).map_err(|e| at_op(index, e))?,
                    value: None,
                });
            }
            return Ok(());
        }
        (_, Some(urn)) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{index}]: the value for \"{urn}\" must be an object of its attributes"
            )))
        }
        (_, None) => {
            return Err(ScimError::invalid_value(format!(
                "Operations[{index}]: without a \"path\", \"value\" must be an object of attributes"
            )))
        }
    };
    for (key, v) in attributes {
        let key = key.trim();
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        if let (None, Some(urn)) = (schema, schema_urn(schemas, key)) {
            expand(schemas, kind, index, op, Some(urn), v, out)?;
            continue;
        }
        let mut path = parse_patch_path(key).map_err(|e| {
            ScimError::invalid_path(format!(
                "Operations[{index}]: invalid attribute \"{key}\" in \"value\": {e}"
            ))
        })?;
        if let Some(urn) = schema {
            if path.attr.uri.is_some() {
                return Err(ScimError::invalid_path(format!(
                    "Operations[{index}]: \"{key}\" inside \"{urn}\" must name an attribute \
                     without a schema URN"
                )));
            }
            path.attr.uri = Some(urn.to_string());
        }
        let target = resolve_path(schemas, kind, path, Some(v)).map_err(|e| at_op(index, e))?;
        out.push(PatchOp {
            index,
            op,
            target: Target::Attribute(Box::new(target)),
            value: Some(v.clone()),
        });
    }
    Ok(())
}

/// An error of the operation at `index`, saying so.
fn at_op(index: usize, e: ScimError) -> ScimError {
    ScimError {
        detail: format!("Operations[{index}]: {}", e.detail),
        ..e
    }
}

/// The removal of a whole extension object, which must be an extension of `kind`.
fn extension_target(
    schemas: &SchemaSet,
    kind: ResourceKind,
    urn: &str,
) -> Result<Target, ScimError> {
    match schemas.extension(kind, urn) {
        Some(extension) => Ok(Target::Extension(extension.id.clone())),
        None => Err(ScimError::invalid_path(format!(
            "\"{urn}\" is not a schema extension of {}",
            kind.name()
        ))),
    }
}

/// Resolves `path` against the schemas of `kind`, and checks what does not depend on the
/// resource: the attribute and sub-attribute exist, a [filter] is on a multi-valued complex
/// attribute and names its sub-attributes, and an array `value` is within the limit.
fn resolve_path(
    schemas: &SchemaSet,
    kind: ResourceKind,
    path: PatchPath,
    value: Option<&Value>,
) -> Result<ResolvedPath, ScimError> {
    let resolved = resolve_with(schemas, kind, &path.attr).ok_or_else(|| {
        ScimError::invalid_path(format!(
            "\"{}\" is not an attribute of {}",
            path.attr,
            kind.name()
        ))
    })?;
    let attr = resolved.attr;
    let extension = resolved.extension.map(str::to_string);
    if kind == ResourceKind::Group && extension.is_none() && attr.index == Some(Index::Membership) {
        // Group members: `members::split` takes these out, and refuses sub-attribute paths.
        return Ok(ResolvedPath {
            path,
            extension,
            attr: attr.clone(),
            sub: None,
        });
    }
    let sub = match (resolved.sub, &path.sub) {
        (Some(sub), None) => Some(sub),
        (None, None) => None,
        (None, Some(name)) => Some(attr.sub_attribute(name).ok_or_else(|| {
            ScimError::invalid_path(format!(
                "\"{name}\" is not a sub-attribute of \"{}\"",
                attr.name
            ))
        })?),
        (Some(_), Some(_)) => {
            return Err(ScimError::invalid_path(format!(
                "\"{path}\" names two sub-attributes"
            )))
        }
    };
    if let Some(filter) = &path.value_filter {
        if !(attr.multi_valued && attr.ty == AttrType::Complex) {
            return Err(ScimError::invalid_path(format!(
                "\"{}\" is not a multi-valued complex attribute, so it cannot take a [filter]",
                attr.name
            )));
        }
        let outer = AttrPath {
            uri: path.attr.uri.clone(),
            name: path.attr.name.clone(),
            sub: None,
        };
        validate(
            schemas,
            kind,
            &Filter::ValuePath(outer, Box::new(filter.clone())),
        )?;
    }
    if let Some(Value::Array(values)) = value {
        if values.len() > MAX_VALUES_PER_OPERATION {
            return Err(ScimError::invalid_value(format!(
                "{} values for \"{path}\" in one operation; at most {MAX_VALUES_PER_OPERATION} \
                 are accepted",
                values.len()
            )));
        }
    }
    Ok(ResolvedPath {
        extension,
        attr: attr.clone(),
        sub: sub.cloned(),
        path,
    })
}

/// The URN of a core or extension schema of the set, in its canonical spelling.
fn schema_urn<'s>(schemas: &'s SchemaSet, text: &str) -> Option<&'s str> {
    schemas.schema(text).map(|s| s.id.as_str())
}

/// Whether `urn` (canonical) is the core schema of a resource kind.
fn is_core(schemas: &SchemaSet, urn: &str) -> bool {
    [ResourceKind::User, ResourceKind::Group]
        .into_iter()
        .any(|k| schemas.core(k).id == urn)
}

/// Applies operations to a resource's stored (normalised) attributes, all or none: on an error
/// `doc` is left as it was. `resource_id` is the resource's own `id`, which a client may echo
/// (Okta does) but not change. Group `members` must have been taken out by `members::split`.
/// The operations' paths were resolved by `parse_request` for resources of `kind`.
pub fn apply(
    kind: ResourceKind,
    resource_id: &str,
    doc: &mut Map<String, Value>,
    ops: &[PatchOp],
) -> Result<(), ScimError> {
    let mut work = doc.clone();
    for op in ops {
        apply_op(kind, resource_id, &mut work, op).map_err(|e| at_op(op.index, e))?;
    }
    *doc = work;
    Ok(())
}

fn apply_op(
    kind: ResourceKind,
    resource_id: &str,
    doc: &mut Map<String, Value>,
    op: &PatchOp,
) -> Result<(), ScimError> {
    let target = match &op.target {
        Target::Extension(urn) => {
            remove_ci(doc, urn);
            return Ok(());
        }
        Target::Attribute(target) => target,
    };
    let (path, attr, sub) = (&target.path, &target.attr, target.sub.as_ref());
    if kind == ResourceKind::Group && target.is_membership() {
        return Err(ScimError::new(
            500,
            None,
            "group members reached the attribute PATCH; they go through members::split",
        ));
    }
    let read_only = attr.mutability == Mutability::ReadOnly
        || sub.is_some_and(|s| s.mutability == Mutability::ReadOnly);
    if read_only {
        let own_id = target.extension.is_none()
            && attr.name == "id"
            && sub.is_none()
            && path.value_filter.is_none()
            && op.op != OpKind::Remove
            && op
                .value
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|v| same_id(v, resource_id));
        if own_id {
            return Ok(());
        }
        return Err(ScimError::mutability(format!(
            "\"{path}\" is read-only (RFC 7644 §3.5.2)"
        )));
    }
    let step = Step {
        op: op.op,
        attr,
        sub,
        filter: path.value_filter.as_ref(),
        value: op.value.as_ref(),
        path,
    };
    if step.op == OpKind::Add && step.value.is_none_or(Value::is_null) {
        return Ok(());
    }
    let required = path.value_filter.is_none() && sub.map_or(attr.required, |s| s.required);
    if required && (step.op == OpKind::Remove || step.clears()) {
        return Err(ScimError::mutability(format!(
            "\"{path}\" is required: it cannot be removed or cleared (RFC 7644 §3.5.2.2)"
        )));
    }
    match &target.extension {
        None => step.apply_to(doc),
        Some(urn) => {
            let mut extension = match take_ci(doc, urn) {
                Some(Value::Object(obj)) => obj,
                _ => Map::new(),
            };
            step.apply_to(&mut extension)?;
            if !extension.is_empty() {
                doc.insert(urn.clone(), Value::Object(extension));
            }
            Ok(())
        }
    }
}

/// One resolved operation on one attribute.
struct Step<'a> {
    op: OpKind,
    attr: &'a AttributeDef,
    sub: Option<&'a AttributeDef>,
    filter: Option<&'a Filter>,
    value: Option<&'a Value>,
    path: &'a PatchPath,
}

impl<'a> Step<'a> {
    /// The definition the value is for: the sub-attribute, or the attribute (one value of it).
    fn leaf(&self) -> &'a AttributeDef {
        self.sub.unwrap_or(self.attr)
    }

    /// An `add`/`replace` whose value unassigns its target.
    fn clears(&self) -> bool {
        if self.op == OpKind::Remove {
            return false;
        }
        let whole_multi = self.attr.multi_valued && self.sub.is_none() && self.filter.is_none();
        match self.value {
            None | Some(Value::Null) => true,
            Some(Value::String(s)) => s.is_empty() && !whole_multi && is_text(self.leaf()),
            Some(Value::Array(items)) => {
                items.is_empty() && whole_multi && self.op == OpKind::Replace
            }
            Some(_) => false,
        }
    }

    fn apply_to(&self, container: &mut Map<String, Value>) -> Result<(), ScimError> {
        let current = take_ci(container, &self.attr.name);
        let updated = if self.attr.multi_valued {
            self.multi(current)?
        } else {
            self.single(current)
        };
        if let Some(v) = updated {
            container.insert(self.attr.name.clone(), v);
        }
        Ok(())
    }

    /// A single-valued attribute, or a sub-attribute of a single-valued complex attribute.
    fn single(&self, current: Option<Value>) -> Option<Value> {
        let value = self.value.map(|v| canonical(self.leaf(), v));
        match (self.sub, self.op) {
            (None, OpKind::Remove) => None,
            (None, _) if self.clears() => None,
            (None, _) => match (current, value) {
                (Some(Value::Object(mut existing)), Some(Value::Object(new))) => {
                    merge(&mut existing, new, self.attr);
                    non_empty(existing)
                }
                (_, Some(Value::Object(new))) => {
                    let mut fresh = Map::new();
                    merge(&mut fresh, new, self.attr);
                    non_empty(fresh)
                }
                (_, value) => value,
            },
            (Some(sub), op) => {
                let mut obj = match current {
                    Some(Value::Object(obj)) => obj,
                    _ => Map::new(),
                };
                remove_ci(&mut obj, &sub.name);
                if op != OpKind::Remove && !self.clears() {
                    if let Some(v) = value {
                        obj.insert(sub.name.clone(), v);
                    }
                }
                non_empty(obj)
            }
        }
    }

    /// A multi-valued attribute. Each value carries whether this operation touched it, for the
    /// `primary` rule.
    fn multi(&self, current: Option<Value>) -> Result<Option<Value>, ScimError> {
        let mut items: Vec<(Value, bool)> = match current {
            Some(Value::Array(items)) => items.into_iter().map(|v| (v, false)).collect(),
            None | Some(Value::Null) => Vec::new(),
            Some(other) => vec![(other, false)],
        };
        let attr = self.attr;
        let clears = self.clears();
        match (self.op, self.filter, self.sub) {
            (OpKind::Remove, None, None) => match self.value {
                None | Some(Value::Null) => return Ok(None),
                Some(listed) => {
                    let selectors: Vec<Filter> =
                        elements(attr, listed).iter().filter_map(selector).collect();
                    items.retain(|(item, _)| !selectors.iter().any(|s| selects(attr, s, item)));
                }
            },
            (OpKind::Remove, None, Some(sub)) => {
                for (item, _) in &mut items {
                    if let Value::Object(obj) = item {
                        remove_ci(obj, &sub.name);
                    }
                }
            }
            (OpKind::Remove, Some(filter), None) => {
                let before = items.len();
                items.retain(|(item, _)| !matches_element(attr, filter, item));
                if items.len() == before {
                    return Err(self.no_target());
                }
            }
            (OpKind::Remove, Some(filter), Some(sub)) => {
                let mut matched = false;
                for (item, _) in &mut items {
                    if matches_element(attr, filter, item) {
                        matched = true;
                        if let Value::Object(obj) = item {
                            remove_ci(obj, &sub.name);
                        }
                    }
                }
                if !matched {
                    return Err(self.no_target());
                }
            }
            (_, None, None) => {
                if clears {
                    return Ok(None);
                }
                let new = self.value.map_or_else(Vec::new, |v| elements(attr, v));
                if self.op == OpKind::Replace {
                    items.clear();
                }
                // A value already there is not added again: `finish` keeps the first of equal
                // values, marked as touched.
                items.extend(new.into_iter().map(|element| (element, true)));
            }
            (_, None, Some(sub)) => {
                let value = self.value.map(|v| canonical(sub, v));
                if items.is_empty() && !clears {
                    if let Some(v) = value {
                        items.push((Value::Object(Map::from_iter([(sub.name.clone(), v)])), true));
                    }
                } else {
                    for (item, touched) in &mut items {
                        set_sub(item, sub, if clears { None } else { value.clone() });
                        *touched = true;
                    }
                }
            }
            (_, Some(filter), sub) => {
                let value = self.value.map(|v| canonical(self.leaf(), v));
                if sub.is_none() && !clears && !value.as_ref().is_some_and(Value::is_object) {
                    return Err(ScimError::invalid_value(format!(
                        "\"{}\" selects values of \"{}\": the value must be one object of its \
                         sub-attributes",
                        self.path, attr.name
                    )));
                }
                let mut matched = false;
                for (item, touched) in &mut items {
                    if !matches_element(attr, filter, item) {
                        continue;
                    }
                    matched = true;
                    *touched = true;
                    match (sub, &value) {
                        (Some(sub), _) => set_sub(item, sub, value.clone().filter(|_| !clears)),
                        // `replace` with null unassigns the selected values.
                        (None, _) if clears => *item = Value::Null,
                        (None, Some(Value::Object(new))) if self.op == OpKind::Add => {
                            if let Value::Object(obj) = item {
                                merge(obj, new.clone(), attr);
                            }
                        }
                        (None, Some(new)) => *item = element(attr, new),
                        (None, None) => {}
                    }
                }
                if !matched {
                    match self.created(filter, value.as_ref()) {
                        Some(_) if clears => {}
                        Some(created) => items.push((created, true)),
                        None => return Err(self.no_target()),
                    }
                }
            }
        }
        finish(attr, items)
    }

    /// The value a filtered `add` (or Entra's `replace` of `attr[type eq "x"].sub`) creates when
    /// no value matched; `None` when this operation may not create one.
    fn created(&self, filter: &Filter, value: Option<&Value>) -> Option<Value> {
        let mut element = match self.op {
            OpKind::Add => eq_constraints(self.attr, filter)?,
            OpKind::Replace if self.sub.is_some() => match filter {
                Filter::Compare(path, CompareOp::Eq, v @ Value::String(_))
                    if path.uri.is_none()
                        && path.sub.is_none()
                        && path.name.eq_ignore_ascii_case("type") =>
                {
                    let def = self.attr.sub_attribute("type")?;
                    Map::from_iter([(def.name.to_string(), v.clone())])
                }
                _ => return None,
            },
            OpKind::Replace | OpKind::Remove => return None,
        };
        match (self.sub, value) {
            (Some(sub), Some(v)) => {
                if element.keys().any(|k| *k == sub.name) {
                    return None;
                }
                element.insert(sub.name.clone(), v.clone());
            }
            (None, Some(Value::Object(new))) => merge(&mut element, new.clone(), self.attr),
            _ => {}
        }
        let element = Value::Object(element);
        // What is created must be what the path selects.
        matches_element(self.attr, filter, &element).then_some(element)
    }

    fn no_target(&self) -> ScimError {
        ScimError::no_target(format!(
            "no value of \"{}\" matches \"{}\"",
            self.attr.name, self.path
        ))
    }
}

/// Drops unassigned values and duplicates, applies the `primary` rule, and returns the new
/// attribute value (`None` when no value is left).
fn finish(attr: &AttributeDef, items: Vec<(Value, bool)>) -> Result<Option<Value>, ScimError> {
    let mut kept: Vec<(Value, bool)> = Vec::with_capacity(items.len());
    let mut seen: HashMap<u64, Vec<usize>> = HashMap::new();
    for (item, touched) in items {
        let item = match item {
            Value::Object(obj) => match non_empty(obj) {
                Some(v) => v,
                None => continue,
            },
            Value::Null => continue,
            other => other,
        };
        let same = seen.entry(fingerprint(&item)).or_default();
        match same
            .iter()
            .find(|&&i| kept.get(i).is_some_and(|(k, _)| *k == item))
        {
            Some(&i) => {
                if let Some((_, t)) = kept.get_mut(i) {
                    *t |= touched;
                }
            }
            None => {
                same.push(kept.len());
                kept.push((item, touched));
            }
        }
    }
    if let Some(primary) = attr.sub_attribute("primary") {
        let is_primary = |v: &Value| {
            v.as_object()
                .and_then(|o| get_ci(o, &primary.name))
                .is_some_and(|p| as_bool(p) == Some(true))
        };
        let made_primary = kept.iter().filter(|(v, t)| *t && is_primary(v)).count();
        if made_primary > 1 {
            return Err(ScimError::invalid_value(format!(
                "this operation makes {made_primary} values of \"{}\" primary; at most one may be \
                 (RFC 7643 §2.4)",
                attr.name
            )));
        }
        if made_primary == 1 {
            for (v, touched) in &mut kept {
                if !*touched && is_primary(v) {
                    if let Value::Object(obj) = v {
                        set_ci(obj, &primary.name, Value::Bool(false));
                    }
                }
            }
        }
    }
    Ok(if kept.is_empty() {
        None
    } else {
        Some(Value::Array(kept.into_iter().map(|(v, _)| v).collect()))
    })
}

/// A hash of a JSON value that does not depend on the order of object keys (equal values have
/// equal fingerprints).
fn fingerprint(value: &Value) -> u64 {
    fn feed(value: &Value, h: &mut DefaultHasher) {
        match value {
            Value::Null => 0u8.hash(h),
            Value::Bool(b) => (1u8, b).hash(h),
            Value::Number(n) => (2u8, n.to_string()).hash(h),
            Value::String(s) => (3u8, s).hash(h),
            Value::Array(items) => {
                (4u8, items.len()).hash(h);
                items.iter().for_each(|v| feed(v, h));
            }
            Value::Object(obj) => {
                (5u8, obj.len()).hash(h);
                let mut entries: Vec<_> = obj.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                for (k, v) in entries {
                    k.hash(h);
                    feed(v, h);
                }
            }
        }
    }
    let mut h = DefaultHasher::new();
    feed(value, &mut h);
    h.finish()
}

/// Sets (`Some`) or unassigns (`None`) a sub-attribute of one value of a multi-valued attribute.
fn set_sub(item: &mut Value, sub: &AttributeDef, value: Option<Value>) {
    if let Value::Object(obj) = item {
        remove_ci(obj, &sub.name);
        if let Some(v) = value.filter(|v| !unassigned(sub, v)) {
            obj.insert(sub.name.clone(), v);
        }
    }
}

/// Merges sub-attributes into a complex value: `null` or `""` unassigns, the rest replace.
fn merge(target: &mut Map<String, Value>, new: Map<String, Value>, attr: &AttributeDef) {
    for (key, v) in new {
        let def = attr.sub_attribute(&key);
        remove_ci(target, &key);
        if !def.is_some_and(|d| unassigned(d, &v)) && !v.is_null() {
            target.insert(def.map_or(key, |d| d.name.to_string()), v);
        }
    }
}

/// The values a multi-valued `value` holds: an array, or one value alone.
fn elements(attr: &AttributeDef, value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.iter().map(|v| element(attr, v)).collect(),
        single => vec![element(attr, single)],
    }
}

/// One value of a multi-valued attribute, canonical, without unassigned sub-attributes.
fn element(attr: &AttributeDef, value: &Value) -> Value {
    match canonical(attr, value) {
        Value::Object(obj) => Value::Object(
            obj.into_iter()
                .filter(|(k, v)| {
                    !v.is_null() && !attr.sub_attribute(k).is_some_and(|d| unassigned(d, v))
                })
                .collect(),
        ),
        other => other,
    }
}

/// A value in the shape the schema names, as far as that needs no judgement: canonical
/// sub-attribute names, `"True"`/`"False"` as booleans, a bare value of a complex attribute with
/// a `value` sub-attribute as `{"value": …}` (Entra's `manager: "id"`). Anything else is left for
/// `normalize` to accept or refuse.
fn canonical(def: &AttributeDef, value: &Value) -> Value {
    match (def.ty, value) {
        (AttrType::Complex, Value::Object(obj)) => Value::Object(
            obj.iter()
                .map(|(k, v)| match def.sub_attribute(k) {
                    Some(sub) => (sub.name.to_string(), canonical(sub, v)),
                    None => (k.clone(), v.clone()),
                })
                .collect(),
        ),
        (AttrType::Complex, Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            match def.sub_attribute("value") {
                Some(sub) => Value::Object(Map::from_iter([(
                    sub.name.to_string(),
                    canonical(sub, value),
                )])),
                None => value.clone(),
            }
        }
        (AttrType::Boolean, v) => as_bool(v).map_or_else(|| v.clone(), Value::Bool),
        _ => value.clone(),
    }
}

/// A value that stands for "no value" for `def`: null, or `""` for a string.
fn unassigned(def: &AttributeDef, value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty() && is_text(def),
        _ => false,
    }
}

fn is_text(def: &AttributeDef) -> bool {
    matches!(
        def.ty,
        AttrType::String | AttrType::Reference | AttrType::Binary
    )
}

fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn non_empty(obj: Map<String, Value>) -> Option<Value> {
    (!obj.is_empty()).then_some(Value::Object(obj))
}

/// The filter a listed value of an Entra-style `remove` stands for: every sub-attribute it gives,
/// `and`-ed (`{"value": "x"}` is `value eq "x"`). `None` for a value that selects nothing.
fn selector(listed: &Value) -> Option<Filter> {
    let obj = listed.as_object()?;
    let mut filters = obj.iter().map(|(k, v)| match v {
        Value::String(_) | Value::Number(_) | Value::Bool(_) => Some(Filter::Compare(
            AttrPath {
                uri: None,
                name: k.clone(),
                sub: None,
            },
            CompareOp::Eq,
            v.clone(),
        )),
        _ => None,
    });
    let first = filters.next()??;
    filters.try_fold(first, |acc, f| {
        Some(Filter::And(Box::new(acc), Box::new(f?)))
    })
}

fn selects(attr: &AttributeDef, selector: &Filter, item: &Value) -> bool {
    attr.ty == AttrType::Complex && matches_element(attr, selector, item)
}

/// `type eq "work" and primary eq true` → `{"type":"work","primary":true}`; `None` for any other
/// shape (the value to create would be a guess).
fn eq_constraints(attr: &AttributeDef, filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, v) if path.uri.is_none() && path.sub.is_none() => {
            let def = attr.sub_attribute(&path.name)?;
            if v.is_null() {
                return None;
            }
            Some(Map::from_iter([(def.name.to_string(), v.clone())]))
        }
        Filter::And(a, b) => {
            let mut left = eq_constraints(attr, a)?;
            for (k, v) in eq_constraints(attr, b)? {
                if left.get(&k).is_some_and(|old| *old != v) {
                    return None;
                }
                left.insert(k, v);
            }
            Some(left)
        }
        _ => None,
    }
}

/// Resource ids are ULIDs, whose letters are case-insensitive; anything else compares exactly.
fn same_id(a: &str, b: &str) -> bool {
    match (ulid::Ulid::from_string(a), ulid::Ulid::from_string(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

pub fn get_ci<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

fn set_ci(map: &mut Map<String, Value>, name: &str, value: Value) {
    remove_ci(map, name);
    map.insert(name.into(), value);
}

fn remove_ci(map: &mut Map<String, Value>, name: &str) {
    map.retain(|k, _| !k.eq_ignore_ascii_case(name));
}

/// Takes the value stored under `name` in any letter case (the exact spelling first).
fn take_ci(map: &mut Map<String, Value>, name: &str) -> Option<Value> {
    let exact = map.remove(name);
    let mut other = None;
    map.retain(|k, v| {
        if k.eq_ignore_ascii_case(name) {
            other.get_or_insert_with(|| v.take());
            false
        } else {
            true
        }
    });
    exact.or(other)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::schema::CORE_USER;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    fn parsed(ops: Value) -> Result<Vec<PatchOp>, ScimError> {
        parse_request(
            SchemaSet::standard(),
            ResourceKind::User,
            &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": ops}),
        )
    }

    fn targets(ops: &[PatchOp]) -> Vec<String> {
        ops.iter()
            .map(|op| match &op.target {
                Target::Attribute(p) => format!("{} {p}", op.op.as_str()),
                Target::Extension(u) => format!("{} {u}", op.op.as_str()),
            })
            .collect()
    }

    #[test]
    fn paths_are_resolved_once_when_parsed_and_unknown_ones_refused_there() {
        let ops = parsed(json!([
            {"op": "replace", "path": "NAME.GIVENNAME", "value": "Ann"},
            {"op": "add", "path": format!("{ENT}:manager.value"), "value": "m"},
            {"op": "remove", "path": "emails[type eq \"work\"]"},
        ]))
        .unwrap();
        let resolved: Vec<(Option<&str>, &str, Option<&str>)> = ops
            .iter()
            .map(|op| match &op.target {
                Target::Attribute(t) => (
                    t.extension.as_deref(),
                    t.attr.name.as_str(),
                    t.sub.as_ref().map(|s| s.name.as_str()),
                ),
                Target::Extension(u) => panic!("{u}"),
            })
            .collect();
        assert_eq!(
            resolved,
            [
                (None, "name", Some("givenName")),
                (Some(ENT), "manager", Some("value")),
                (None, "emails", None),
            ]
        );
        for (ops, scim_type) in [
            (
                json!([{"op": "add", "path": "shoeSize", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "add", "path": "name.nope", "value": 1}]),
                "invalidPath",
            ),
            (
                json!([{"op": "remove", "path": "title[value eq \"x\"]"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "remove", "path": "emails[nope eq \"x\"]"}]),
                "invalidFilter",
            ),
            (
                json!([{"op": "add", "value": {"members": []}}]),
                "invalidPath",
            ),
        ] {
            let err = parsed(ops.clone()).unwrap_err();
            assert_eq!(err.scim_type.map(|t| t.as_str()), Some(scim_type), "{ops}");
            assert!(err.detail.starts_with("Operations[0]: "), "{}", err.detail);
        }
        // A group's extension is not a user's: refused when parsed for a group.
        let err = parse_request(
            SchemaSet::standard(),
            ResourceKind::Group,
            &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": [{"op": "remove", "path": ENT}]}),
        )
        .unwrap_err();
        assert_eq!(err.scim_type.map(|t| t.as_str()), Some("invalidPath"));
    }

    #[test]
    fn a_pathless_value_becomes_one_operation_per_attribute() {
        let ops = parsed(json!([{"op": "Replace", "value": {
            "schemas": [], "active": false, "name.givenName": "A",
            ENT: {"department": "D", "manager.value": "m"},
            format!("{ENT}:costCenter"): "7",
            CORE_USER: {"title": "T"}}}]))
        .unwrap();
        let mut got = targets(&ops);
        got.sort();
        let mut want = vec![
            "replace active".to_string(),
            "replace name.givenName".into(),
            format!("replace {ENT}:department"),
            format!("replace {ENT}:manager.value"),
            format!("replace {ENT}:costCenter"),
            format!("replace {CORE_USER}:title"),
        ];
        want.sort();
        assert_eq!(got, want);
        assert!(ops.iter().all(|op| op.index == 0));
    }

    #[test]
    fn whole_extension_paths_and_nulls() {
        let ops = parsed(json!([
            {"op": "remove", "path": ENT},
            {"op": "replace", "path": ENT, "value": null},
            {"op": "add", "path": ENT, "value": null},
            {"op": "replace", "value": {ENT: null}}
        ]))
        .unwrap();
        assert_eq!(
            targets(&ops),
            [
                format!("remove {ENT}"),
                format!("remove {ENT}"),
                format!("remove {ENT}")
            ]
        );
        let err = parsed(json!([{"op": "remove", "path": CORE_USER}])).unwrap_err();
        assert_eq!(err.scim_type, Some(crate::protocol::ScimType::InvalidPath));
        let err =
            parsed(json!([{"op": "add", "value": {ENT: {format!("{ENT}:department"): "x"}}}]))
                .unwrap_err();
        assert_eq!(err.scim_type, Some(crate::protocol::ScimType::InvalidPath));
    }

    #[test]
    fn null_value_is_kept_apart_from_a_missing_one() {
        let ops = parsed(json!([{"op": "replace", "path": "title", "value": null}])).unwrap();
        assert_eq!(ops[0].value, Some(Value::Null));
        let err = parsed(json!([{"op": "add", "path": "title"}])).unwrap_err();
        assert_eq!(err.scim_type, Some(crate::protocol::ScimType::InvalidValue));
    }

    #[test]
    fn body_without_patch_op_schema_is_invalid_syntax() {
        let err = parse_request(
            SchemaSet::standard(),
            ResourceKind::User,
            &json!({"Operations": [{"op": "add", "value": {}}]}),
        )
        .unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(crate::protocol::ScimType::InvalidSyntax)
        );
        let err = parse_request(
            SchemaSet::standard(),
            ResourceKind::User,
            &json!({"schemas": [PATCH_OP_SCHEMA], "Operations": []}),
        )
        .unwrap_err();
        assert_eq!(
            err.scim_type,
            Some(crate::protocol::ScimType::InvalidSyntax)
        );
    }

    #[test]
    fn canonical_values_use_schema_names_booleans_and_value_objects() {
        let emails = SchemaSet::standard()
            .core(ResourceKind::User)
            .attribute("emails")
            .unwrap();
        assert_eq!(
            canonical(emails, &json!({"VALUE": "a", "Primary": "TRUE", "x": 1})),
            json!({"value": "a", "primary": true, "x": 1})
        );
        assert_eq!(canonical(emails, &json!("a@x")), json!({"value": "a@x"}));
        let name = SchemaSet::standard()
            .core(ResourceKind::User)
            .attribute("name")
            .unwrap();
        assert_eq!(canonical(name, &json!("Ann")), json!("Ann"));
    }

    #[test]
    fn only_type_eq_lets_replace_create() {
        let emails = SchemaSet::standard()
            .core(ResourceKind::User)
            .attribute("emails")
            .unwrap();
        let value_def = emails.sub_attribute("value");
        let path = parse_patch_path("emails[type eq \"work\"].value").unwrap();
        let created = |op, f: &str| {
            let filter = super::super::filter::parse_filter(f).unwrap();
            let step = Step {
                op,
                attr: emails,
                sub: value_def,
                filter: Some(&filter),
                value: None,
                path: &path,
            };
            step.created(&filter, Some(&json!("v")))
        };
        assert_eq!(
            created(OpKind::Replace, "type eq \"work\""),
            Some(json!({"type": "work", "value": "v"}))
        );
        assert_eq!(created(OpKind::Replace, "display eq \"w\""), None);
        assert_eq!(
            created(OpKind::Replace, "type eq \"work\" and display eq \"w\""),
            None
        );
        assert_eq!(
            created(OpKind::Add, "type eq \"work\" and display eq \"w\""),
            Some(json!({"type": "work", "display": "w", "value": "v"}))
        );
        assert_eq!(
            created(OpKind::Add, "type eq \"work\" and type eq \"home\""),
            None
        );
        assert_eq!(created(OpKind::Add, "type ne \"work\""), None);
        assert_eq!(created(OpKind::Add, "value eq \"other\""), None);
        assert_eq!(created(OpKind::Remove, "type eq \"work\""), None);
    }

    #[test]
    fn fingerprints_ignore_key_order_and_separate_types() {
        let a: Value =
            serde_json::from_str(r#"{"type":"work","value":"x","n":[1,{"b":2,"a":1}]}"#).unwrap();
        let b: Value =
            serde_json::from_str(r#"{"n":[1,{"a":1,"b":2}],"value":"x","type":"work"}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&json!("1")), fingerprint(&json!(1)));
        assert_ne!(fingerprint(&json!([[], []])), fingerprint(&json!([[[]]])));
    }

    #[test]
    fn finish_keeps_the_first_of_equal_values_and_merges_touched() {
        let emails = SchemaSet::standard()
            .core(ResourceKind::User)
            .attribute("emails")
            .unwrap();
        let out = finish(
            emails,
            vec![
                (json!({"value": "a", "primary": true}), false),
                (json!({"value": "b"}), false),
                (json!({"value": "c", "primary": true}), true),
                (json!({"primary": true, "value": "c"}), true),
                (json!({}), true),
                (Value::Null, true),
            ],
        )
        .unwrap();
        assert_eq!(
            out,
            Some(json!([{"value": "a", "primary": false}, {"value": "b"},
                        {"value": "c", "primary": true}]))
        );
    }

    #[test]
    fn ids_compare_as_ulids() {
        assert!(same_id(
            "01arz3ndektsv4rrffq69g5fav",
            "01ARZ3NDEKTSV4RRFFQ69G5FAV"
        ));
        assert!(!same_id("abc", "ABC"));
        assert!(same_id("abc", "abc"));
    }

    #[test]
    fn take_ci_finds_any_spelling_once() {
        let mut m: Map<String, Value> =
            serde_json::from_value(json!({"Title": 1, "x": 2})).unwrap();
        assert_eq!(take_ci(&mut m, "title"), Some(json!(1)));
        assert_eq!(
            m,
            serde_json::from_value::<Map<String, Value>>(json!({"x": 2})).unwrap()
        );
        let mut m: Map<String, Value> =
            serde_json::from_value(json!({"title": 1, "TITLE": 2})).unwrap();
        assert_eq!(take_ci(&mut m, "title"), Some(json!(1)));
        assert!(m.is_empty());
    }
}
