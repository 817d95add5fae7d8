//! Every error answer of both listeners is JSON with a stable code. Routes answer with
//! `NodeError`, but axum answers some requests itself, in plain text or with no body at all:
//! a method a route does not take, a path or query string its extractor rejects, a request
//! extension missing. This layer rewrites those answers, so no route, present or future, can
//! answer an error in anything but `{"error": {"code", "message"}}`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::json;

/// Longest plain-text answer kept as the message; axum's own are one line.
const MAX_TEXT: usize = 4096;

/// Whether a `Content-Type` says JSON (`application/json` or `application/*+json`).
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(media) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = media
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The code of an error answer that no `NodeError` produced, by its status.
fn code_for(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "api.bad_request",
        StatusCode::UNAUTHORIZED => "api.unauthorized",
        StatusCode::NOT_FOUND => "api.not_found",
        StatusCode::METHOD_NOT_ALLOWED => "http.method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "http.timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "http.too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "http.unsupported_media_type",
        StatusCode::SERVICE_UNAVAILABLE => "node.unavailable",
        s if s.is_server_error() => "node.internal",
        _ => "http.error",
    }
}

/// The middleware: answers that are errors and not JSON become JSON errors, keeping their
/// status and headers.
pub(crate) async fn json_errors(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_TEXT)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("{method} is not allowed on {path}: the route takes other methods")
        }
        StatusCode::NOT_FOUND if text.is_empty() => format!("no route {method} {path}"),
        _ if text.is_empty() => format!(
            "{} ({method} {path})",
            status.canonical_reason().unwrap_or("error")
        ),
        _ => text,
    };
    let body = json!({ "error": { "code": code_for(status), "message": message } }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
