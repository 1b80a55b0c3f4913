//! Photo evidence on cases: `POST/GET /api/v1/problems/{id}/photos` and
//! `GET /api/v1/photos/{sha256}[?size=thumb]`.

use super::error::{ApiError, ErrorBody, Refusals, UploadRefusals};
use super::guard::Caller;
use super::idempotency::IdempotencyKey;
use super::params::Params;
use super::present::{CasePhoto, ShownPointPhoto};
use super::{present, ApiContext};
use crate::app::evidence::attach::{AttachError, Evidence, Sent};
use crate::app::evidence::objects::Variant;
use crate::domain::access::{Action, Area};
use crate::domain::evidence::checks::Stage;
use crate::domain::evidence::Unaccepted;
use crate::domain::workflow::state::State as CaseState;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

/// Largest accepted file (the route's body limit adds room for the form around it).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// The upload form of a case's photo.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form `receive` reads
pub(super) struct CaseUpload {
    /// A JPEG, PNG or HEIC photo, or a PDF document.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Which moment of the case it shows (default report).
    stage: Option<Stage>,
    /// `true`: the reporter agrees that this report photo is shown to the public (Open311's
    /// `media_url`, a copy without EXIF). Only the case's reporter, only a picture at stage report.
    public: Option<bool>,
}

/// The upload form of an assessment point's photo.
#[derive(ToSchema)]
#[allow(dead_code)] // documents the form `receive` reads
pub(super) struct PointUpload {
    /// A JPEG, PNG or HEIC photo, or a PDF document.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// A criterion id of the point's checklist; leave out for the whole point.
    criterion: Option<String>,
    /// The id of the inspection (检查记录) of this point it was taken at; the inspection then lists it among its photos.
    inspection: Option<i64>,
}

/// A case's photos.
#[derive(Serialize, ToSchema)]
pub struct CasePhotos {
    problem_id: i64,
    /// Oldest first.
    photos: Vec<CasePhoto>,
}

/// An assessment point's photos.
#[derive(Serialize, ToSchema)]
pub struct PointPhotos {
    point: String,
    photos: Vec<ShownPointPhoto>,
}

/// The period's flagged photos, of cases and of points.
#[derive(Serialize, ToSchema)]
pub struct FlaggedPhotos {
    photos: Vec<FlaggedCasePhoto>,
    point_photos: Vec<FlaggedPointPhoto>,
}

/// A flagged photo of a case, with the case it belongs to.
#[derive(Serialize, ToSchema)]
pub struct FlaggedCasePhoto {
    #[serde(flatten)]
    photo: CasePhoto,
    case: FlaggedCase,
}

#[derive(Serialize, ToSchema)]
pub struct FlaggedCase {
    id: i64,
    status: CaseState,
    category_name: Option<String>,
    grid_code: Option<String>,
    responsible_unit: Option<String>,
}

/// A flagged photo of an assessment point, with the point.
#[derive(Serialize, ToSchema)]
pub struct FlaggedPointPhoto {
    #[serde(flatten)]
    photo: ShownPointPhoto,
    point: FlaggedPoint,
}

#[derive(Serialize, ToSchema)]
pub struct FlaggedPoint {
    code: String,
    name: String,
    responsible_unit: Option<String>,
}

/// A period of days.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `period` reads
pub(super) struct Period {
    /// The first day (YYYY-MM-DD, the city's time zone).
    #[param(format = Date)]
    from: String,
    /// The last day, at most a year after `from`.
    #[param(format = Date)]
    to: String,
}

/// An optional period of days.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameters `point_list` reads
pub(super) struct OptionalPeriod {
    /// The first day (YYYY-MM-DD); with `to`, only the photos of the period.
    #[param(format = Date)]
    from: Option<String>,
    #[param(format = Date)]
    to: Option<String>,
}

/// Which file of a photo.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)] // documents the parameter `download` reads
pub(super) struct SizeQuery {
    #[param(inline)]
    size: Option<Size>,
}

/// The file as sent, a JPEG thumbnail, or a HEIC photo's JPEG.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)]
pub(super) enum Size {
    Original,
    Thumb,
    Jpeg,
}

fn invalid(field: &str, reason: impl Into<String>) -> ApiError {
    let reason = reason.into();
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_upload", format!("{field}: {reason}"))
        .with_details(json!({"fields": [{"field": field, "reason": reason}]}))
}

/// A multipart upload as received: the file, its name, and the form's other fields.
struct Received {
    file: axum::body::Bytes,
    filename: Option<String>,
    /// The other fields sent (`stage` for cases; `criterion`, `inspection` for points).
    fields: std::collections::HashMap<String, String>,
}

/// Reads the form: `file` and, optionally, the fields named in `others`.
async fn receive(form: Result<Multipart, MultipartRejection>, others: &[&str]) -> Result<Received, ApiError> {
    let mut form = form.map_err(|e| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!("send multipart/form-data: {e}"),
        )
    })?;
    let (mut file, mut filename, mut fields) = (None, None, std::collections::HashMap::new());
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
            name if others.contains(&name) => {
                let name = name.to_string();
                let text = field.text().await.map_err(|e| too_large_or_unreadable(e.status(), e.body_text()))?;
                fields.insert(name, text.trim().to_string());
            }
            name => {
                return Err(invalid(name, format!("unknown field: send file and, optionally, {}", others.join(", "))))
            }
        }
    }
    let file = file.ok_or_else(|| invalid("file", "missing: send the photo or document as the form field 'file'"))?;
    if file.is_empty() {
        return Err(invalid("file", "is empty"));
    }
    Ok(Received { file, filename: filename.filter(|n| !n.is_empty()), fields })
}

/// How the evidence of this service is kept and judged.
fn evidence(ctx: &ApiContext) -> Evidence<'_> {
    Evidence {
        store: &ctx.store,
        blobs: &ctx.evidence.blobs,
        max_distance_m: ctx.evidence.max_distance_m,
        offset: ctx.calendar.offset,
    }
}

/// A file not attached, as the API answers it.
fn not_attached(error: AttachError) -> ApiError {
    match error {
        AttachError::Unaccepted(e) => {
            let (status, code) = match e {
                Unaccepted::Broken(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_file"),
                Unaccepted::TooManyPixels { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "image_too_large"),
                Unaccepted::Type | Unaccepted::HeicConverterMissing => {
                    (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_file")
                }
            };
            ApiError::new(status, code, e.to_string()).with_details(json!({
                "accepted": ["image/jpeg", "image/png", "image/heic", "application/pdf"],
                "max_pixels": crate::app::evidence::MAX_PIXELS,
            }))
        }
        AttachError::AppReportsOnly => ApiError::new(StatusCode::FORBIDDEN, "forbidden", error.to_string()),
        AttachError::Invalid { field, reason } => invalid(field, reason),
        AttachError::Storage(e) => {
            tracing::error!(error = %e, "storing an upload failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the file could not be stored; try again",
            )
        }
        AttachError::Internal(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
        AttachError::Store(e) => e.into(),
    }
}

/// `POST /api/v1/problems/{id}/photos`: evidence for a case.
#[utoipa::path(post, path = "/api/v1/problems/{id}/photos", operation_id = "uploadProblemPhoto", tag = "evidence",
    summary = "Attach a photo (JPEG, PNG, HEIC) or document (PDF) to a case; EXIF time, GPS and device are checked",
    params(("id" = String, Path, description = "The case's id"), IdempotencyKey),
    request_body(content = CaseUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = CasePhoto, headers(("Location" = String))),
        (status = 200, description = "The same file was attached to this case before: the first upload", body = CasePhoto),
        (status = 403, description = "Not the caller's to attach (or a password change comes first)", body = ErrorBody),
        UploadRefusals,
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn upload(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::AttachEvidence)?;
    let problem = super::present::visible_case(&ctx, &caller, &id).await?;
    let received = receive(form, &["stage", "public"]).await?;
    let stage = match received.fields.get("stage").map(String::as_str) {
        None => Stage::Report,
        Some(text) => Stage::parse(text).ok_or_else(|| invalid("stage", "must be report, handling or verification"))?,
    };
    let public = match received.fields.get("public").map(String::as_str) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(invalid("public", "must be true or false")),
    };
    // Consent is the reporter's to give, for what they saw when they reported.
    if public && (stage != Stage::Report || problem.reported_by.as_deref() != Some(principal.name.as_str())) {
        return Err(invalid(
            "public",
            "only the case's reporter can publish a photo, and only one sent with the report",
        ));
    }
    if public && !super::open311::published(&problem) {
        return Err(invalid("public", "only a citizen app's report is published (Open311), and so its photos"));
    }
    let sent = Sent { bytes: received.file, filename: received.filename };
    let attached =
        evidence(&ctx).attach_to_case(&problem, stage, principal.role, caller.actor(), sent, ctx.clock.now()).await;
    let (stored, replayed) = attached.map_err(not_attached)?;
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    let mut shown = present::photo_to(&ctx, &Area::of(principal, &ctx.catalog.snapshot()), &stored).await?;
    if public {
        let token =
            evidence(&ctx).publish(&problem, &stored, &caller.actor(), ctx.clock.now()).await.map_err(not_attached)?;
        shown.public_url = Some(present::public_photo_path(&token));
    }
    Ok((status, [(header::LOCATION, format!("/api/v1/photos/{}", stored.file.sha256))], Json(shown)))
}

/// `POST /api/v1/points/{code}/photos`: an on-site photo of an assessment point (测评点位实景),
/// for one criterion of its checklist (`criterion`) or for the whole point, taken at one of its
/// inspections (`inspection`) or not.
#[utoipa::path(post, path = "/api/v1/points/{code}/photos", operation_id = "uploadPointPhoto", tag = "evidence",
    summary = "Attach an on-site photo (实景图片) to an assessment point, for one criterion of its checklist",
    params(("code" = String, Path, description = "The point's code"), IdempotencyKey),
    request_body(content = PointUpload, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Stored", body = ShownPointPhoto, headers(("Location" = String))),
        (status = 200, description = "The same file was attached to this point before: the first upload", body = ShownPointPhoto),
        (status = 403, description = "Not the caller's to attach (or a password change comes first)", body = ErrorBody),
        UploadRefusals,
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn upload_to_point(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(code): Path<String>,
    form: Result<Multipart, MultipartRejection>,
) -> Result<impl IntoResponse, ApiError> {
    let principal = caller.require(Action::RecordPatrol)?;
    let point = visible_point(&ctx, principal, &code).await?;
    let received = receive(form, &["criterion", "inspection"]).await?;
    let criterion = received.fields.get("criterion").cloned().unwrap_or_default();
    let inspection = match received.fields.get("inspection") {
        None => None,
        Some(text) => {
            let id = text.parse::<i64>().ok().filter(|id| *id > 0);
            Some(id.ok_or_else(|| invalid("inspection", "must be an inspection id"))?)
        }
    };
    let sent = Sent { bytes: received.file, filename: received.filename };
    let attached =
        evidence(&ctx).attach_to_point(&point, criterion, inspection, caller.actor(), sent, ctx.clock.now()).await;
    let (stored, replayed) = attached.map_err(not_attached)?;
    let status = if replayed { StatusCode::OK } else { StatusCode::CREATED };
    let shown = present::photo_to(&ctx, &Area::of(principal, &ctx.catalog.snapshot()), &stored).await?;
    Ok((status, [(header::LOCATION, format!("/api/v1/photos/{}", stored.file.sha256))], Json(shown)))
}

/// `GET /api/v1/points/{code}/photos[?from=&to=]`: a point's photos, newest first per criterion.
#[utoipa::path(get, path = "/api/v1/points/{code}/photos", operation_id = "listPointPhotos", tag = "evidence",
    summary = "An assessment point's on-site photos, with their tamper-check flags",
    params(("code" = String, Path, description = "The point's code"), OptionalPeriod),
    responses(
        (status = 200, description = "The point's photos", body = PointPhotos),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such point in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn point_list(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(code): Path<String>,
    params: Params,
) -> Result<Json<PointPhotos>, ApiError> {
    let principal = caller.require(Action::ReadPatrols)?;
    params.only_documented::<OptionalPeriod>()?;
    let point = visible_point(&ctx, principal, &code).await?;
    let (from, to) = match (params.text("from"), params.text("to")) {
        (None, None) => (i64::MIN, i64::MAX),
        _ => {
            let (start, end) = period(&ctx, &params)?;
            (start.unix_timestamp(), end.unix_timestamp())
        }
    };
    let photos = ctx.store.point_photos(Some(point.code.clone()), from, to).await?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    Ok(Json(PointPhotos { photos: present::photos_to(&ctx, &area, &photos).await?, point: point.code }))
}

/// A point the caller may see; any other looks absent (404).
async fn visible_point(
    ctx: &ApiContext,
    principal: &crate::domain::auth::Principal,
    code: &str,
) -> Result<crate::domain::patrol::StoredPoint, ApiError> {
    let not_found = || ApiError::not_found(format!("no assessment point {code:?}"));
    if code.is_empty() || code.chars().count() > 100 || code.contains('\0') {
        return Err(not_found());
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    ctx.store.point(code.to_string()).await?.filter(|p| area.sees_point(p)).ok_or_else(not_found)
}

fn too_large_or_unreadable(status: StatusCode, message: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(status, "payload_too_large", format!("the upload is too large: {message}"))
            .with_details(json!({"max_bytes": MAX_UPLOAD_BYTES}))
    } else {
        ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", format!("the form cannot be read: {message}"))
    }
}

#[utoipa::path(get, path = "/api/v1/problems/{id}/photos", operation_id = "listProblemPhotos", tag = "evidence",
    summary = "Photos and documents attached to a case, with their tamper-check flags (佐证材料)",
    params(("id" = String, Path, description = "The case's id")),
    responses(
        (status = 200, description = "The case's photos, oldest first", body = CasePhotos),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such case in the caller's area", body = ErrorBody),
        Refusals,
    ))]
pub async fn list(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CasePhotos>, ApiError> {
    let problem = super::present::visible_case(&ctx, &caller, &id).await?;
    let photos = ctx.store.photos_of(problem.id).await?;
    let area = Area::of(caller.require(Action::ReadProblems)?, &ctx.catalog.snapshot());
    let published = ctx.store.public_photos_of(problem.id).await?;
    let mut shown = present::photos_to(&ctx, &area, &photos).await?;
    for photo in &mut shown {
        photo.public_url = published.get(&photo.photo.file.sha256).map(|token| present::public_photo_path(token));
    }
    Ok(Json(CasePhotos { problem_id: problem.id, photos: shown }))
}

/// The file itself, to callers who may see a case or an assessment point it belongs to.
#[utoipa::path(get, path = "/api/v1/photos/{sha256}", operation_id = "getPhoto", tag = "evidence",
    summary = "A photo or document by its SHA-256, or its thumbnail (size=thumb), to callers who may see a case or point it is attached to",
    params(("sha256" = String, Path, description = "The file's SHA-256, hex"), SizeQuery),
    responses(
        (status = 200, description = "The file as sent (or a JPEG)", content(
            (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/heic"), (Vec<u8> = "application/pdf"))),
        (status = 400, description = "An unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "A password change comes first", body = ErrorBody),
        (status = 404, description = "No such file the caller may see", body = ErrorBody),
        Refusals,
    ))]
pub async fn download(
    State(ctx): State<ApiContext>,
    caller: Caller,
    Path(sha256): Path<String>,
    params: Params,
) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadProblems)?;
    params.only_documented::<SizeQuery>()?;
    let variant = match params.text("size") {
        None | Some("original") => Variant::Original,
        Some("thumb") => Variant::Thumbnail,
        Some("jpeg") => Variant::Jpeg,
        Some(_) => return Err(ApiError::bad_request("invalid_parameter", "size must be original, thumb or jpeg")),
    };
    let not_found = || ApiError::not_found(format!("no photo {sha256}"));
    if crate::app::evidence::objects::object_name(&sha256, variant).is_none() {
        return Err(not_found());
    }
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let mut media = None;
    for (holder, kind) in ctx.store.photo_holders(sha256.clone()).await? {
        if present::sees_holder(&ctx, &area, &holder).await? {
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
    // Only pictures show inline; a document (PDF) is downloaded, never run in the API's origin.
    let disposition = if mime.starts_with("image/") { "inline" } else { "attachment" };
    Ok((
        [
            (header::CONTENT_DISPOSITION, format!("{disposition}; filename=\"{sha256}.{}\"", extension_of(mime))),
            (header::CONTENT_TYPE, mime.to_string()),
            (header::ETAG, format!("\"{sha256}\"")),
            // Content-addressed: the bytes under this name never change.
            (header::CACHE_CONTROL, "private, max-age=31536000, immutable".to_string()),
        ],
        bytes,
    )
        .into_response())
}

/// The file name extension of a media type this service stores.
fn extension_of(mime: &str) -> &'static str {
    match mime {
        "image/png" => "png",
        "image/heic" => "heic",
        "application/pdf" => "pdf",
        _ => "jpg",
    }
}

/// `from` and `to` (dates in the city's time zone, both included, at most a year apart) as the
/// instants [start, end).
fn period(ctx: &ApiContext, params: &Params) -> Result<(time::OffsetDateTime, time::OffsetDateTime), ApiError> {
    let day = |name: &str| -> Result<time::Date, ApiError> {
        let text = params.text(name).ok_or_else(|| ApiError::parameter(name, "is required: a date YYYY-MM-DD"))?;
        time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|_| ApiError::parameter(name, "must be a date YYYY-MM-DD"))
    };
    let (from, to) = (day("from")?, day("to")?);
    if to < from || (to - from).whole_days() > 366 {
        return Err(ApiError::parameter("to", "must be on or after from, at most a year later"));
    }
    let offset = ctx.calendar.offset;
    Ok((from.midnight().assume_offset(offset), to.next_day().unwrap_or(to).midnight().assume_offset(offset)))
}

/// A file for the archive (a HEIC photo's JPEG); `None`, logged, when its file is missing.
async fn archived_file(
    ctx: &ApiContext,
    sha256: &str,
    media: crate::domain::evidence::Media,
) -> Result<Option<Vec<u8>>, ApiError> {
    let (blobs, sha) = (ctx.evidence.blobs.clone(), sha256.to_string());
    let variant = if media == crate::domain::evidence::Media::Heic { Variant::Jpeg } else { Variant::Original };
    let bytes = tokio::task::spawn_blocking(move || blobs.get(&sha, variant))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
    if bytes.is_none() {
        tracing::warn!(sha256, "a photo's file is missing; left out of the archive");
    }
    Ok(bytes)
}

/// Flagged photos listed at most, of cases and of points each.
pub const MAX_FLAGGED: i64 = 500;

/// `GET /api/v1/evidence/flagged?from=&to=`: the photos of the period that failed a tamper check,
/// within the caller's area, newest first: for the office's review (照片核验).
#[utoipa::path(get, path = "/api/v1/evidence/flagged", operation_id = "listFlaggedPhotos", tag = "evidence",
    summary = "The period's photos that failed a tamper check (照片核验), of cases and of assessment points, within the caller's area, newest first (at most 500 of each)",
    params(Period),
    responses(
        (status = 200, description = "Flagged photos", body = FlaggedPhotos),
        (status = 400, description = "A missing, unknown or malformed parameter", body = ErrorBody),
        (status = 403, description = "Only the office and dispatchers; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn flagged(
    State(ctx): State<ApiContext>,
    caller: Caller,
    params: Params,
) -> Result<Json<FlaggedPhotos>, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<Period>()?;
    let (start, end) = period(&ctx, &params)?;
    let area = Area::of(principal, &ctx.catalog.snapshot());
    let flagged = ctx.store.flagged_photos(start.unix_timestamp(), end.unix_timestamp(), MAX_FLAGGED).await?;
    let (cases, points) = (flagged.cases, flagged.points);
    let mut of_cases = Vec::new();
    for photo in &cases {
        if let Some(problem) = ctx.store.problem(photo.problem_id).await?.filter(|p| area.sees_problem(p)) {
            let case = FlaggedCase {
                id: problem.id,
                status: problem.status,
                category_name: problem.class.map(|c| c.category_name),
                grid_code: problem.grid_code,
                responsible_unit: problem.responsible_unit,
            };
            of_cases.push(FlaggedCasePhoto { photo: present::photo_to(&ctx, &area, photo).await?, case });
        }
    }
    let mut of_points = Vec::new();
    for photo in &points {
        if let Some(point) = ctx.store.point(photo.point_code.clone()).await?.filter(|p| area.sees_point(p)) {
            let point = FlaggedPoint { code: point.code, name: point.name, responsible_unit: point.responsible_unit };
            of_points.push(FlaggedPointPhoto { photo: present::photo_to(&ctx, &area, photo).await?, point });
        }
    }
    Ok(Json(FlaggedPhotos { photos: of_cases, point_photos: of_points }))
}

/// Cases in one archive at most: an office asks per month or per assessment period.
pub const MAX_ARCHIVE_CASES: i64 = 5_000;

/// `GET /api/v1/evidence/archive?from=YYYY-MM-DD&to=YYYY-MM-DD`: the evidence archive (网上申报材料)
/// of the cases closed in `[from, to]` within the caller's area, as a ZIP.
#[utoipa::path(get, path = "/api/v1/evidence/archive", operation_id = "getEvidenceArchive", tag = "evidence",
    summary = "The evidence archive (网上申报材料) as a ZIP with index.html and index.xlsx",
    description = "Cases closed in [from, to] within the caller's area, with their before and after photos and check status; and the area's assessment points with their inspections and on-site photos of the period.",
    params(Period),
    responses(
        (status = 200, description = "The archive", content_type = "application/zip", body = Vec<u8>),
        (status = 400, description = "A missing, unknown or malformed parameter; too many cases", body = ErrorBody),
        (status = 403, description = "Only the office and dispatchers; or a password change comes first", body = ErrorBody),
        Refusals,
    ))]
pub async fn archive(State(ctx): State<ApiContext>, caller: Caller, params: Params) -> Result<Response, ApiError> {
    let principal = caller.require(Action::ReadReports)?;
    params.only_documented::<Period>()?;
    let (start, end) = period(&ctx, &params)?;
    let (from, to) = (params.text("from").unwrap_or_default(), params.text("to").unwrap_or_default());
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
            if let Some(bytes) = archived_file(&ctx, &photo.file.sha256, photo.file.media).await? {
                photos.push((photo, bytes));
            }
        }
        cases.push(crate::app::evidence::archive::ArchivedCase { problem, photos });
    }
    // The points of the area with inspections or on-site photos in the period.
    let (from_unix, to_unix) = (start.unix_timestamp(), end.unix_timestamp());
    let inspections = ctx.store.inspections(from_unix, to_unix).await?;
    let point_photos = ctx.store.point_photos(None, from_unix, to_unix).await?;
    // Each point's inspections and photos, gathered in one pass over the period's.
    let mut by_point: std::collections::BTreeMap<String, (Vec<_>, Vec<_>)> = std::collections::BTreeMap::new();
    for inspection in inspections {
        by_point.entry(inspection.point_code.clone()).or_default().0.push(inspection);
    }
    for photo in point_photos {
        by_point.entry(photo.point_code.clone()).or_default().1.push(photo);
    }
    let mut points = Vec::new();
    for (code, (inspections, point_photos)) in by_point {
        let Some(point) = ctx.store.point(code).await?.filter(|p| area.sees_point(p)) else { continue };
        let mut photos = Vec::new();
        for photo in point_photos {
            if let Some(bytes) = archived_file(&ctx, &photo.file.sha256, photo.file.media).await? {
                photos.push((photo, bytes));
            }
        }
        points.push(crate::app::evidence::archive::ArchivedPoint { point, inspections, photos });
    }
    let title = format!("佐证材料 evidence archive {from} – {to}");
    let zip = tokio::task::spawn_blocking(move || crate::app::evidence::archive::build(&title, &cases, &points))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "archive_failed", e))?;
    Ok(super::download("application/zip", &format!("gridwatch-evidence-{from}-{to}.zip"), zip))
}
