//! Files in messages: the upload, a multipart body read as a stream and refused where it
//! crosses the limit, and the download, with the headers that keep a file from ever acting as
//! one of our pages.

use actix_multipart::{Field, Multipart};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use futures_util::StreamExt;

use crate::auth::CurrentUser;
use crate::chat::{Chat, Upload};
use crate::domain::{ClientId, FileName, MessageText, human_size};
use crate::errors::AppError;
use crate::json::MessageAnswer;
use crate::models::attachment::{Content, Form};

/// What an upload's other fields (the text, the client's id) and the multipart framing may
/// add to its file: a request declaring more than the file limit plus this is refused unread.
const FORM_ALLOWANCE: usize = 64 * 1024;
/// The most bytes one of the other fields may hold: a message's 2000 characters in UTF-8.
const FIELD_LIMIT: usize = 4 * 2000;

/// POST /api/rooms/{id}/attachments (multipart: `file`, optional `text` and `client_id`): 201
/// with the message that carries the file. A body declared larger than the limit is refused
/// with 413 before any of it is read; one that turns out larger, where it crosses the limit.
pub async fn upload(
    user: CurrentUser,
    room_id: web::Path<i32>,
    req: HttpRequest,
    payload: Multipart,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let max = chat.attachment_max_bytes();
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    if declared.is_some_and(|len| len > max.saturating_add(FORM_ALLOWANCE)) {
        return Err(too_large(max));
    }
    let message = chat
        .upload(&user, room_id.into_inner(), read_upload(payload, max))
        .await?;
    Ok(HttpResponse::Created().json(MessageAnswer::from(&message)))
}

fn too_large(max: usize) -> AppError {
    AppError::PayloadTooLarge(format!(
        "The file is too large: at most {} can be sent.",
        human_size(max as u64)
    ))
}

/// Reads the upload's fields: exactly one `file`, perhaps `text` and `client_id`.
async fn read_upload(mut payload: Multipart, max: usize) -> Result<Upload, AppError> {
    let malformed = |_| AppError::BadRequest("The upload must be multipart/form-data.".into());
    let mut file: Option<(FileName, Vec<u8>)> = None;
    let mut text = String::new();
    let mut client_id = None;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(malformed)?;
        match field.name().unwrap_or_default() {
            "file" if file.is_some() => {
                return Err(AppError::BadRequest("One file per upload.".into()));
            }
            "file" => {
                let name = FileName::parse(&given_name(&field));
                let bytes = read_field(&mut field, max)
                    .await?
                    .ok_or_else(|| too_large(max))?;
                file = Some((name, bytes));
            }
            "text" => text = text_field(&mut field, "text").await?,
            "client_id" => {
                client_id = Some(ClientId::parse(
                    &text_field(&mut field, "client_id").await?,
                )?);
            }
            other => {
                return Err(AppError::BadRequest(format!(
                    "Unknown field {other:?}: send `file`, and perhaps `text` and `client_id`."
                )));
            }
        }
    }
    let Some((name, bytes)) = file else {
        return Err(AppError::BadRequest("Choose a file to send.".into()));
    };
    if bytes.is_empty() {
        return Err(AppError::BadRequest("The file is empty.".into()));
    }
    Ok(Upload {
        name,
        bytes,
        text: MessageText::caption(&text)?,
        client_id,
    })
}

/// The file name the client gave (`filename`, or RFC 5987's `filename*`), or "file".
fn given_name(field: &Field) -> String {
    let Some(disposition) = field.content_disposition() else {
        return String::new();
    };
    match (disposition.get_filename(), disposition.get_filename_ext()) {
        (_, Some(ext)) => String::from_utf8_lossy(&ext.value).into_owned(),
        (Some(name), None) => name.to_owned(),
        (None, None) => String::new(),
    }
}

/// A field's bytes; `None` once they pass `limit`, where they pass it.
async fn read_field(field: &mut Field, limit: usize) -> Result<Option<Vec<u8>>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(|_| AppError::BadRequest("The upload was cut short.".into()))?;
        if bytes.len() + chunk.len() > limit {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

async fn text_field(field: &mut Field, name: &str) -> Result<String, AppError> {
    let bytes = read_field(field, FIELD_LIMIT)
        .await?
        .ok_or_else(|| AppError::PayloadTooLarge(format!("`{name}` is too long.")))?;
    String::from_utf8(bytes).map_err(|_| AppError::BadRequest(format!("`{name}` is not UTF-8.")))
}

/// GET /attachments/{id}: the file, for whoever may read its room (404 for anyone else).
pub async fn download(
    user: CurrentUser,
    id: web::Path<i32>,
    req: HttpRequest,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let content = chat
        .attachment(&user, id.into_inner(), Form::Original)
        .await?;
    Ok(serve(&req, content))
}

/// GET /attachments/{id}/thumbnail: an image's thumbnail (the image itself when it is small).
pub async fn thumbnail(
    user: CurrentUser,
    id: web::Path<i32>,
    req: HttpRequest,
    chat: web::Data<Chat>,
) -> Result<HttpResponse, AppError> {
    let content = chat
        .attachment(&user, id.into_inner(), Form::Thumbnail)
        .await?;
    Ok(serve(&req, content))
}

/// A file can never act as a page of ours: no scripts, no plugins, no frames (the sandbox
/// gives it an origin of its own even when opened directly).
const FILE_POLICY: &str = "default-src 'none'; sandbox";

/// The answer for a stored file: inline for an image the page shows, else a download; always
/// `nosniff`, the sandboxing policy and `Cache-Control: private`; 304 for a matching
/// If-None-Match, 206 for one satisfiable byte range, 416 for an unsatisfiable one.
fn serve(req: &HttpRequest, content: Content) -> HttpResponse {
    let Content {
        bytes,
        content_type,
        name,
        etag,
        inline,
    } = content;
    let headers = |answer: &mut actix_web::HttpResponseBuilder| {
        answer
            .insert_header((header::CONTENT_SECURITY_POLICY, FILE_POLICY))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CACHE_CONTROL, "private"))
            .insert_header((header::ETAG, etag.as_str()))
            .insert_header((header::ACCEPT_RANGES, "bytes"));
    };
    if matches_etag(req.headers().get(header::IF_NONE_MATCH), &etag) {
        let mut answer = HttpResponse::NotModified();
        headers(&mut answer);
        return answer.finish();
    }
    let mut answer = HttpResponse::Ok();
    headers(&mut answer);
    answer
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_DISPOSITION, disposition(inline, &name)));
    let total = bytes.len();
    // A Range whose If-Range names another version gets the whole file.
    let current = req
        .headers()
        .get(header::IF_RANGE)
        .is_none_or(|v| v.as_bytes() == etag.as_bytes());
    match req.headers().get(header::RANGE).filter(|_| current) {
        None => answer.body(bytes),
        Some(range) => match byte_range(range, total) {
            Ranged::Whole => answer.body(bytes),
            Ranged::Part(start, end) => answer
                .status(actix_web::http::StatusCode::PARTIAL_CONTENT)
                .insert_header((
                    header::CONTENT_RANGE,
                    format!("bytes {start}-{end}/{total}"),
                ))
                .body(bytes[start..=end].to_vec()),
            Ranged::Unsatisfiable => answer
                .status(actix_web::http::StatusCode::RANGE_NOT_SATISFIABLE)
                .insert_header((header::CONTENT_RANGE, format!("bytes */{total}")))
                .finish(),
        },
    }
}

/// Whether If-None-Match names this version (or `*`).
fn matches_etag(header: Option<&HeaderValue>, etag: &str) -> bool {
    let Some(value) = header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    value
        .split(',')
        .map(str::trim)
        .any(|tag| tag == "*" || tag == etag || tag.strip_prefix("W/") == Some(etag))
}

/// `inline` or `attachment`, with the name as ASCII (others replaced) and in full as UTF-8
/// (RFC 6266).
fn disposition(inline: bool, name: &str) -> String {
    let kind = if inline { "inline" } else { "attachment" };
    let ascii: String = name
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// What a Range header asks of a file of `total` bytes.
#[derive(Debug, PartialEq, Eq)]
enum Ranged {
    /// Serve it all: no byte range we serve (several ranges, another unit, nonsense).
    Whole,
    /// The bytes from the first to the last, both included.
    Part(usize, usize),
    /// 416: a single range that starts past the end.
    Unsatisfiable,
}

fn byte_range(header: &HeaderValue, total: usize) -> Ranged {
    let Some(spec) = header
        .to_str()
        .ok()
        .and_then(|v| v.trim().strip_prefix("bytes="))
    else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let number = |s: &str| s.trim().parse::<usize>().ok();
    match (first.trim().is_empty(), number(first), number(last)) {
        // "bytes=-N": the last N bytes.
        (true, _, Some(0)) => Ranged::Unsatisfiable,
        (true, _, Some(n)) if total > 0 => Ranged::Part(total.saturating_sub(n), total - 1),
        (true, _, _) => Ranged::Unsatisfiable,
        (false, Some(start), _) if start >= total => Ranged::Unsatisfiable,
        (false, Some(start), None) if last.trim().is_empty() => Ranged::Part(start, total - 1),
        (false, Some(start), Some(end)) if end >= start => Ranged::Part(start, end.min(total - 1)),
        _ => Ranged::Whole,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(value: &'static str, total: usize) -> Ranged {
        byte_range(&HeaderValue::from_static(value), total)
    }

    #[test]
    fn byte_ranges_are_read_as_rfc_9110_says() {
        assert_eq!(range("bytes=0-99", 1000), Ranged::Part(0, 99));
        assert_eq!(range("bytes=900-", 1000), Ranged::Part(900, 999));
        assert_eq!(range("bytes=-100", 1000), Ranged::Part(900, 999));
        assert_eq!(range("bytes=-5000", 1000), Ranged::Part(0, 999));
        assert_eq!(range("bytes=500-5000", 1000), Ranged::Part(500, 999));
        assert_eq!(range("bytes=1000-", 1000), Ranged::Unsatisfiable);
        assert_eq!(range("bytes=-0", 1000), Ranged::Unsatisfiable);
        assert_eq!(range("bytes=0-1,5-6", 1000), Ranged::Whole);
        assert_eq!(range("bytes=9-3", 1000), Ranged::Whole);
        assert_eq!(range("items=0-1", 1000), Ranged::Whole);
    }

    #[test]
    fn a_name_is_given_as_ascii_and_in_full_as_utf_8() {
        assert_eq!(
            disposition(false, "résumé \"final\".pdf"),
            "attachment; filename=\"r_sum_ _final_.pdf\"; \
             filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.pdf"
        );
        assert!(disposition(true, "a.png").starts_with("inline; "));
    }

    #[test]
    fn if_none_match_matches_its_tag_a_weak_copy_or_a_star() {
        let tag = "\"abc\"";
        let check = |v: &'static str| matches_etag(Some(&HeaderValue::from_static(v)), tag);
        assert!(check("\"abc\""));
        assert!(check("\"x\", W/\"abc\""));
        assert!(check("*"));
        assert!(!check("\"abcd\""));
        assert!(!matches_etag(None, tag));
    }
}
