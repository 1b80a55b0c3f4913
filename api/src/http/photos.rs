//! Photo evidence on cases: `POST/GET /api/v1/problems/{id}/photos` and
//! `GET /api/v1/photos/{sha256}[?size=thumb]`.

use super::error::ApiError;
use super::guard::Caller;
use super::params::Params;
use super::ApiContext;
use crate::access::{Action, Area};
use crate::auth::Role;
use crate::evidence::blobs::Variant;
use crate::evidence::checks::{self, Stage};
use crate::store::photos::{NewPhoto, Photo};
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

/// Largest accepted file (the route's body limit adds room for the form around it).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_upload", format!("{field}: {reason}"))
        .with_details(json!({"fields": [{"field": field, "reason": reason}]}))
}

/// A photo as the API shows it: with where to fetch it and its thumbnail.
pub fn present(photo: &Photo) -> Value {
    let mut v = serde_json::to_value(photo).unwrap_or(Value::Null);
    if let Value::Object(map) = &mut v {
        map.insert("url".into(), json!(format!("/api/v1/photos/{}", photo.sha256)));
        let thumb = photo.media.is_image().then(|| format!("/api/v1/photos/{}?size=thumb", photo.sha256));
        map.insert("thumbnail_url".into(), json!(thumb));
        // A HEIC original also comes as JPEG, for browsers and printing.
        let jpeg =
            (photo.media == crate::evidence::Media::Heic).then(|| format!("/api/v1/photos/{}?size=jpeg", photo.sha256));
        map.insert("jpeg_url".into(), json!(jpeg));
        map.insert("flagged".into(), json!(!photo.flags.is_empty()));
    }
    v
}

pub async fn upload(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::AttachEvidence)?;
    let problem = super::cases::visible(&ctx, &caller, &id).await?;
    let mut form = form.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send multipart/form-data: {e}"),
        )
    })?;
    let (mut file, mut filename, mut stage) = (None, None, Stage::Report);
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(too_large_or_unreadable(e.status(), e.body_text())),
        };
        match field.name().unwrap_or("") {
            "file" if file.is_none() => {
                filename =
                    field.file_name().map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect::<String>());
                let bytes = field.bytes().await.map_err(|e| too_large_or_unreadable(e.status(), e.body_text()))?;
                if bytes.len() > MAX_UPLOAD_BYTES {
                    return Err(too_large_or_unreadable(StatusCode::PAYLOAD_TOO_LARGE, "the file is too large".into()));
                }
                file = Some(bytes);
            }
            "file" => return Err(invalid("file", "send one file per request")),
            "stage" => {
                let text = field.text().await.map_err(|e| too_large_or_unreadable(e.status(), e.body_text()))?;
                stage = Stage::parse(text.trim())
                    .ok_or_else(|| invalid("stage", "must be report, handling or verification"))?;
            }
            other => return Err(invalid(other, "unknown field: send file and, optionally, stage")),
        }
    }
    let file = file.ok_or_else(|| invalid("file", "missing: send the photo or document as the form field 'file'"))?;
    if file.is_empty() {
        return Err(invalid("file", "is empty"));
    }
    if principal.role == Role::App && stage != Stage::Report {
        return Err(ApiError::new(StatusCode::FORBIDDEN, "forbidden", "a citizen app attaches report photos only"));
    }
    // Decoding a 20-megapixel photo takes a while: off the request threads.
    let bytes = file.clone();
    let upload = tokio::task::spawn_blocking(move || crate::evidence::accept(&bytes))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| {
            let status = match e {
                crate::evidence::Unaccepted::Broken(_) => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            };
            ApiError::new(status, "unsupported_file", e.to_string())
                .with_details(json!({"accepted": ["image/jpeg", "image/png", "image/heic", "application/pdf"]}))
        })?;
    let exif = if upload.media.is_image() {
        crate::evidence::exif::read(&file, ctx.calendar.offset).or_else(|| {
            upload.converted.as_deref().and_then(|jpeg| crate::evidence::exif::read(jpeg, ctx.calendar.offset))
        })
    } else {
        None
    };
    let elsewhere = ctx.store.photo_matches(upload.sha256.clone(), problem.id).await?;
    let case = checks::Case { lon: problem.lon, lat: problem.lat, reported_at: problem.created_at };
    let flags = if upload.media.is_image() {
        checks::check(
            exif.as_ref(),
            stage,
            &case,
            ctx.evidence.max_distance_m,
            &upload.sha256,
            upload.dhash,
            &elsewhere,
        )
    } else {
        Vec::new()
    };
    // Files first, then the row that names them: a crash in between leaves an unnamed file,
    // never a row without its file.
    let blobs = ctx.evidence.blobs.clone();
    let (sha, thumbnail, converted) = (upload.sha256.clone(), upload.thumbnail.clone(), upload.converted.clone());
    let bytes = file.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        blobs.put(&sha, Variant::Original, &bytes)?;
        if let Some(thumb) = thumbnail {
            blobs.put(&sha, Variant::Thumbnail, &thumb)?;
        }
        if let Some(jpeg) = converted {
            blobs.put(&sha, Variant::Jpeg, &jpeg)?;
        }
        Ok(())
    })
    .await
    .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
    .map_err(|e| {
        tracing::error!(error = %e, "storing an upload failed");
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "the file could not be stored; try again")
    })?;
    let photo = NewPhoto {
        problem_id: problem.id,
        stage,
        sha256: upload.sha256,
        media: upload.media,
        bytes: file.len() as i64,
        filename: filename.filter(|n| !n.is_empty()),
        dhash: upload.dhash,
        exif,
        flags,
        uploaded_at: ctx.clock.now(),
    };
    let (stored, replayed) = ctx.store.add_photo(photo, caller.actor()).await?;
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    Ok((status, [(header::LOCATION, format!("/api/v1/photos/{}", stored.sha256))], Json(present(&stored))))
}

fn too_large_or_unreadable(status: StatusCode, message: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "payload_too_large", format!("the upload is too large: {message}"))
            .with_details(json!({"max_bytes": MAX_UPLOAD_BYTES}))
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", format!("the form cannot be read: {message}"))
    }
}

pub async fn list(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let problem = super::cases::visible(&ctx, &caller, &id).await?;
    let photos = ctx.store.photos_of(problem.id).await?;
    Ok(Json(json!({"problem_id": problem.id, "photos": photos.iter().map(present).collect::<Vec<_>>()})))
}

/// The file itself, to callers who may see a case it is attached to.
pub async fn download(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(sha256): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only(&["size"])?;
    let variant = match params.text("size") {
        None | Some("original") => Variant::Original,
        Some("thumb") => Variant::Thumbnail,
        Some("jpeg") => Variant::Jpeg,
        Some(_) => return Err(ApiError::bad_request("invalid_parameter", "size must be original, thumb or jpeg")),
    };
    let not_found = || ApiError::not_found(format!("no photo {sha256}"));
    if crate::evidence::blobs::object_name(&sha256, variant).is_none() {
        return Err(not_found());
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let mut media = None;
    for (id, kind) in ctx.store.photo_holders(sha256.clone()).await? {
        if ctx.store.problem(id).await?.is_some_and(|p| area.sees_problem(&p)) {
            media = Some(kind);
            break;
        }
    }
    let media = media.ok_or_else(not_found)?;
    let blobs = ctx.evidence.blobs.clone();
    let key = sha256.clone();
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&key, variant))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?
        .ok_or_else(not_found)?;
    let mime = if variant == Variant::Original { media.mime() } else { "image/jpeg" };
    Ok((
        [
            (header::CONTENT_TYPE, mime.to_string()),
            (header::ETAG, format!("\"{sha256}\"")),
            // Content-addressed: the bytes under this name never change.
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// Cases in one archive at most: an office asks per month or per assessment period.
pub const MAX_ARCHIVE_CASES: i64 = 5_000;

/// `GET /api/v1/evidence/archive?from=YYYY-MM-DD&to=YYYY-MM-DD`: the evidence archive (网上申报材料)
/// of the cases closed in `[from, to]` within the caller's area, as a ZIP.
pub async fn archive(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only(&["from", "to"])?;
    let offset = ctx.calendar.offset;
    let day = |name: &str| -> Result<time::Date, ApiError> {
        let text = params.text(name).ok_or_else(|| ApiError::parameter(name, "is required: a date YYYY-MM-DD"))?;
        time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::parameter(name, "must be a date YYYY-MM-DD"))
    };
    let (from, to) = (day("from")?, day("to")?);
    if to < from || (to - from).whole_days() > 366 {
        return Err(ApiError::parameter("to", "must be on or after from, at most a year later"));
    }
    let start = from.midnight().assume_offset(offset);
    let end = to.next_day().unwrap_or(to).midnight().assume_offset(offset);
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let query = crate::store::ProblemQuery {
        area: area.filter(),
        statuses: Some(vec!["closed".to_string()]),
        closed_from: Some(start),
        closed_to: Some(end),
        limit: MAX_ARCHIVE_CASES + 1,
        ..Default::default()
    };
    let (closed, _) = ctx.store.query_problems(&query).await?;
    let in_period: Vec<_> = closed.into_iter().filter(|p| p.case.merged_into.is_none()).collect();
    if in_period.len() as i64 > MAX_ARCHIVE_CASES {
        return Err(ApiError::parameter(
            "to",
            format!("more than {MAX_ARCHIVE_CASES} cases: ask for a shorter period"),
        ));
    }
    let mut cases = Vec::with_capacity(in_period.len());
    for problem in in_period {
        let mut photos = Vec::new();
        for photo in ctx.store.photos_of(problem.id).await? {
            let (blobs, sha) = (ctx.evidence.blobs.clone(), photo.sha256.clone());
            let variant = if photo.media == crate::evidence::Media::Heic { Variant::Jpeg } else { Variant::Original };
            let bytes = tokio::task::spawn_blocking(move || blobs.get(&sha, variant))
                .await
                .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
                .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
            match bytes {
                Some(bytes) => photos.push((photo, bytes)),
                None => {
                    tracing::warn!(photo = photo.id, sha256 = %photo.sha256, "a photo's file is missing; left out of the archive")
                }
            }
        }
        cases.push(crate::evidence::archive::ArchivedCase { problem, photos });
    }
    let title = format!("佐证材料 evidence archive {from} – {to}");
    let zip = tokio::task::spawn_blocking(move || crate::evidence::archive::build(&title, &cases))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "archive_failed", e))?;
    Ok(super::download("application/zip", &format!("gridwatch-evidence-{from}-{to}.zip"), zip))
}
