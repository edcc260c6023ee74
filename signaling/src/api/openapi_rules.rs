//! What the OpenAPI document says that the handlers' annotations cannot:
//! unique operation ids, the patterns free text must match (the server
//! trims it and refuses control characters), and the links between
//! operations that let a client (or a fuzzer) follow one answer into the
//! next request: an enrollment code into `POST /enroll`, a device id into
//! the device's routes, a token id into its revocation.

use serde_json::{json, Value};
use utoipa::openapi::path::HttpMethod;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};
use utoipa::Modify;

/// No control characters, and no white space at either end.
pub const TEXT_PATTERN: &str =
    r"^[^\s\x00-\x1f\x7f-\x9f](?:[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$";

/// Schema fields that are free text kept as given.
const TEXT_FIELDS: &[(&str, &str)] = &[
    ("EnrollRequest", "name"),
    ("EnrollRequest", "os"),
    ("UpdateDevice", "name"),
    ("NewToken", "name"),
];

/// `(from path, method, status, link name, to path, method, parameters,
/// request body)`: what one answer lets a client do next.
type LinkRule = (
    &'static str,
    HttpMethod,
    &'static str,
    &'static str,
    &'static str,
    HttpMethod,
    &'static [(&'static str, &'static str)],
    Option<fn() -> serde_json::Value>,
);

const DEVICE_ID: &[(&str, &str)] = &[("id", "$response.body#/device_id")];
const SHARE: &[(&str, &str)] = &[
    ("id", "$request.path.id"),
    ("username", "$response.body#/username"),
];
/// The `id` of what was just created (a token, a webhook).
const TOKEN_ID: &[(&str, &str)] = &[("id", "$response.body#/id")];

fn enroll_body() -> serde_json::Value {
    json!({"code": "$response.body#/code"})
}

const LINKS: &[LinkRule] = &[
    (
        "/enrollment-codes",
        HttpMethod::Post,
        "201",
        "Enroll",
        "/enroll",
        HttpMethod::Post,
        &[],
        Some(enroll_body),
    ),
    (
        "/enroll",
        HttpMethod::Post,
        "201",
        "GetDevice",
        "/devices/{id}",
        HttpMethod::Get,
        DEVICE_ID,
        None,
    ),
    (
        "/enroll",
        HttpMethod::Post,
        "201",
        "RenameDevice",
        "/devices/{id}",
        HttpMethod::Patch,
        DEVICE_ID,
        None,
    ),
    (
        "/enroll",
        HttpMethod::Post,
        "201",
        "RemoveDevice",
        "/devices/{id}",
        HttpMethod::Delete,
        DEVICE_ID,
        None,
    ),
    (
        "/enroll",
        HttpMethod::Post,
        "201",
        "ListShares",
        "/devices/{id}/shares",
        HttpMethod::Get,
        DEVICE_ID,
        None,
    ),
    (
        "/enroll",
        HttpMethod::Post,
        "201",
        "Share",
        "/devices/{id}/shares",
        HttpMethod::Post,
        DEVICE_ID,
        None,
    ),
    (
        "/devices/{id}/shares",
        HttpMethod::Post,
        "201",
        "Revoke",
        "/devices/{id}/shares/{username}",
        HttpMethod::Delete,
        SHARE,
        None,
    ),
    (
        "/tokens",
        HttpMethod::Post,
        "201",
        "RevokeToken",
        "/tokens/{id}",
        HttpMethod::Delete,
        TOKEN_ID,
        None,
    ),
];

/// The modifier applied to [`super::openapi::ApiDoc`].
#[derive(Debug)]
pub struct Rules;

impl Modify for Rules {
    fn modify(&self, doc: &mut OpenApi) {
        operation_ids(doc);
        text_patterns(doc);
    }
}

fn method_name(m: &HttpMethod) -> &'static str {
    match m {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        HttpMethod::Put => "put",
        HttpMethod::Delete => "delete",
        HttpMethod::Options => "options",
        HttpMethod::Head => "head",
        HttpMethod::Patch => "patch",
        HttpMethod::Trace => "trace",
    }
}

/// `get_devices_id_shares` for `GET /api/v1/devices/{id}/shares`: unique,
/// stable, and readable in generated clients.
pub fn operation_id(method: &HttpMethod, path: &str) -> String {
    let rest = path.strip_prefix(super::PREFIX).unwrap_or(path);
    let words: Vec<String> = rest
        .split(['/', '-', '.'])
        .filter(|w| !w.is_empty())
        .map(|w| w.trim_matches(['{', '}']).to_string())
        .collect();
    format!("{}_{}", method_name(method), words.join("_"))
}

fn operation_ids(doc: &mut OpenApi) {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            (HttpMethod::Get, item.get.as_mut()),
            (HttpMethod::Post, item.post.as_mut()),
            (HttpMethod::Put, item.put.as_mut()),
            (HttpMethod::Patch, item.patch.as_mut()),
            (HttpMethod::Delete, item.delete.as_mut()),
        ];
        for (m, op) in ops {
            if let Some(op) = op {
                op.operation_id = Some(operation_id(&m, path));
            }
        }
    }
}

fn text_patterns(doc: &mut OpenApi) {
    let Some(components) = doc.components.as_mut() else {
        return;
    };
    for (schema, field) in TEXT_FIELDS {
        let prop = components.schemas.get_mut(*schema).and_then(|s| match s {
            RefOr::T(Schema::Object(o)) => o.properties.get_mut(*field),
            _ => None,
        });
        if let Some(RefOr::T(Schema::Object(p))) = prop {
            p.pattern = Some(TEXT_PATTERN.to_string());
        }
    }
}

/// The feed's `since` query parameters take what
/// [`crate::feed::filter::Since::parse`] takes (one pattern for both
/// endpoints, beside the parser).
pub fn since_patterns(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params
            .iter_mut()
            .filter(|p| p["in"] == "query" && p["name"] == "since")
        {
            p["schema"]["pattern"] = Value::from(crate::feed::filter::SINCE_PATTERN);
        }
    }
}

/// A header is absent or has a value: utoipa 5.5 documents an optional
/// header as nullable, which would tell clients to send `null`.
pub fn headers_not_null(doc: &mut Value) {
    let Some(paths) = doc["paths"].as_object_mut() else {
        return;
    };
    for op in paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|i| i.values_mut())
    {
        let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) else {
            continue;
        };
        for p in params.iter_mut().filter(|p| p["in"] == "header") {
            if let Some(types) = p["schema"]["type"].as_array_mut() {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    p["schema"]["type"] = types[0].clone();
                }
            }
        }
    }
}

/// Add [`LINKS`] to the document as JSON (utoipa 5.5 writes a link's
/// `operationId` as `operation_id`, which no client understands).
pub fn add_links(doc: &mut Value) {
    for (from, fm, status, name, to, tm, params, body) in LINKS {
        let target = operation_id(tm, &format!("{}{to}", super::PREFIX));
        let mut link = json!({ "operationId": target });
        if !params.is_empty() {
            let p: serde_json::Map<String, Value> = params
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            link["parameters"] = Value::Object(p);
        }
        if let Some(b) = body {
            link["requestBody"] = b();
        }
        let path = format!("{}{from}", super::PREFIX);
        let response = &mut doc["paths"][&path][method_name(fm)]["responses"][*status];
        if response.is_object() {
            response["links"][*name] = link;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_ids_follow_method_and_path() {
        assert_eq!(
            operation_id(&HttpMethod::Get, "/api/v1/devices/{id}/shares"),
            "get_devices_id_shares"
        );
        assert_eq!(
            operation_id(&HttpMethod::Post, "/api/v1/enrollment-codes"),
            "post_enrollment_codes"
        );
        assert_eq!(
            operation_id(&HttpMethod::Get, "/api/v1/openapi.json"),
            "get_openapi_json"
        );
    }

    #[test]
    fn every_link_and_text_field_lands_in_the_document() {
        let doc = super::super::openapi::document();
        let ids: Vec<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .values()
            .flat_map(|item| item.as_object().expect("item").values())
            .filter_map(|op| op["operationId"].as_str().map(str::to_string))
            .collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "operation ids repeat: {ids:?}");
        for (from, fm, status, name, _, _, _, _) in LINKS {
            let path = format!("/api/v1{from}");
            let link = &doc["paths"][&path][method_name(fm)]["responses"][status]["links"][name];
            assert!(link.is_object(), "link {name} from {path} is missing");
            let target = link["operationId"].as_str().expect("target");
            assert!(
                ids.iter().any(|i| i == target),
                "link {name} points at {target}"
            );
        }
        let stream = &doc["paths"]["/api/v1/events/stream"]["get"]["parameters"];
        let header = stream
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["in"] == "header"))
            .expect("Last-Event-ID is documented");
        assert_eq!(header["schema"]["type"], "integer", "{header}");
        for path in ["/api/v1/events", "/api/v1/events/stream"] {
            let since = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == "since"))
                .expect("since is documented");
            assert_eq!(
                since["schema"]["pattern"],
                crate::feed::filter::SINCE_PATTERN
            );
        }
        let enroll = &doc["paths"]["/api/v1/accounts"]["post"];
        assert!(
            enroll.get("parameters").is_none_or(Value::is_array),
            "{enroll}"
        );
        for (schema, field) in TEXT_FIELDS {
            let p = &doc["components"]["schemas"][schema]["properties"][field]["pattern"];
            assert_eq!(p, TEXT_PATTERN, "{schema}.{field}");
        }
    }
}
