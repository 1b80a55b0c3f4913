//! Attaching a photo or document to a case or an assessment point: who may attach what, the
//! file examined (type, size, hashes, EXIF) at most two at a time, the tamper checks against the
//! case and every other photo, and the files kept **before** the row that names them (a crash in
//! between leaves an unnamed file, never a row without its file). Shared by the HTTP API and the
//! command line.

use super::blobs::Blobs;
use super::objects::Variant;
use super::{accept, Upload};
use crate::domain::auth::Actor;
use crate::domain::auth::Role;
use crate::domain::evidence::checks::{self, Holder, Stage};
use crate::domain::evidence::exif::{self, Taken};
use crate::domain::evidence::Unaccepted;
use crate::domain::patrol::StoredPoint;
use crate::domain::problem::Problem;
use crate::store::photos::{NewPhoto, NewPointPhoto, Photo, PhotoFile, PointPhoto};
use crate::store::{Store, StoreError};
use bytes::Bytes;
use time::{OffsetDateTime, UtcOffset};

/// Why a file was not attached.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// Not a JPEG, PNG, HEIC or PDF, unreadable, or too many pixels.
    #[error("{0}")]
    Unaccepted(Unaccepted),
    /// A citizen app attaches report photos only.
    #[error("a citizen app attaches report photos only")]
    AppReportsOnly,
    /// A form field that does not fit the point (`criterion`, `inspection`).
    #[error("{field}: {reason}")]
    Invalid { field: &'static str, reason: String },
    /// The files could not be written: nothing was stored.
    #[error("the file could not be stored: {0}")]
    Storage(std::io::Error),
    #[error("examining the file failed: {0}")]
    Internal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A file as it arrived.
pub struct Sent {
    pub bytes: Bytes,
    /// The name the sender gave it, if any.
    pub filename: Option<String>,
}

/// Where evidence goes and how it is judged.
pub struct Evidence<'a> {
    pub store: &'a Store,
    pub blobs: &'a Blobs,
    /// A photo taken farther than this from its case is flagged (metres).
    pub max_distance_m: f64,
    /// The city's offset, for EXIF times written without one.
    pub offset: UtcOffset,
}

/// Decoding a 20-megapixel photo takes a while and up to 200 MB: off the request threads, and
/// at most this many at a time whoever sends them (the rest wait their turn).
const DECODES: usize = 2;
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(DECODES);

impl Evidence<'_> {
    /// Attaches `sent` to `problem` at `stage` for `actor` (whose role is `role`); the same file on
    /// the same case again returns the first and `true`.
    pub async fn attach_to_case(
        &self,
        problem: &Problem,
        stage: Stage,
        role: Role,
        actor: Actor,
        sent: Sent,
        now: OffsetDateTime,
    ) -> Result<(Photo, bool), AttachError> {
        if role == Role::App && stage != Stage::Report {
            return Err(AttachError::AppReportsOnly);
        }
        let (upload, taken) = self.examine(&sent.bytes).await?;
        let case = checks::Case { lon: problem.lon, lat: problem.lat, reported_at: problem.created_at };
        let file = self.checked_file(sent, upload, taken, stage, &case, Holder::Problem(problem.id), now).await?;
        Ok(self.store.add_photo(NewPhoto { problem_id: problem.id, stage, file }, actor).await?)
    }

    /// Publishes a report photo of `problem` its reporter agreed to show (Open311's `media_url`):
    /// keeps its public rendition (no EXIF) and returns the unguessable token that names it; the
    /// same photo again keeps its first token.
    pub async fn publish(
        &self,
        problem: &Problem,
        photo: &Photo,
        actor: &Actor,
        now: OffsetDateTime,
    ) -> Result<String, AttachError> {
        if photo.stage != Stage::Report || !photo.file.media.is_image() {
            let reason = "only a picture sent with the report can be made public".to_string();
            return Err(AttachError::Invalid { field: "public", reason });
        }
        let _turn = DECODING.acquire().await.map_err(|e| AttachError::Internal(e.to_string()))?;
        let (blobs, sha) = (self.blobs.clone(), photo.file.sha256.clone());
        tokio::task::spawn_blocking(move || -> Result<(), AttachError> {
            if blobs.get(&sha, Variant::Public).map_err(AttachError::Storage)?.is_some() {
                return Ok(());
            }
            let original = blobs.get(&sha, Variant::Original).map_err(AttachError::Storage)?;
            let original = original.ok_or_else(|| AttachError::Internal(format!("photo {sha} has no file")))?;
            let converted = blobs.get(&sha, Variant::Jpeg).map_err(AttachError::Storage)?;
            let shown = super::public_rendition(&original, converted.as_deref()).map_err(AttachError::Unaccepted)?;
            blobs.put(&sha, Variant::Public, &shown).map_err(AttachError::Storage)
        })
        .await
        .map_err(|e| AttachError::Internal(e.to_string()))??;
        let token = crate::domain::auth::new_token().map_err(AttachError::Internal)?;
        let token = token.trim_start_matches("gw_").to_string();
        Ok(self.store.publish_photo(problem.id, &photo.file.sha256, &token, now, actor).await?)
    }

    /// Attaches `sent` to `point`, for one criterion of its checklist (empty: the whole point),
    /// taken at one of its inspections or not; the same file again returns the first and `true`.
    pub async fn attach_to_point(
        &self,
        point: &StoredPoint,
        criterion: String,
        inspection: Option<i64>,
        actor: Actor,
        sent: Sent,
        now: OffsetDateTime,
    ) -> Result<(PointPhoto, bool), AttachError> {
        if let Some(id) = inspection {
            if self.store.inspection_point(id).await?.as_deref() != Some(point.code.as_str()) {
                let reason = format!("no inspection {id} of point {}", point.code);
                return Err(AttachError::Invalid { field: "inspection", reason });
            }
        }
        if !criterion.is_empty() && !point.criteria.iter().any(|c| c.id == criterion) {
            let known: Vec<&str> = point.criteria.iter().map(|c| c.id.as_str()).collect();
            let reason = format!("{criterion:?} is not on point {}'s checklist ({})", point.code, known.join(", "));
            return Err(AttachError::Invalid { field: "criterion", reason });
        }
        let (upload, taken) = self.examine(&sent.bytes).await?;
        // Far away means far from the point's own shape: a street or a market is checked from its
        // nearest part, not its middle.
        let near = taken
            .as_ref()
            .and_then(|t| Some(geo::Point::new(t.lon?, t.lat?)))
            .and_then(|p| nearest_on(&point.geometry, p))
            .or_else(|| geo::InteriorPoint::interior_point(&point.geometry))
            .ok_or_else(|| AttachError::Invalid { field: "point", reason: "has an empty geometry".into() })?;
        // A point has no report time: a photo of it is judged like a report photo (time not compared).
        let case = checks::Case { lon: near.x(), lat: near.y(), reported_at: now };
        let holder = Holder::Point(point.code.clone());
        let file = self.checked_file(sent, upload, taken, Stage::Report, &case, holder, now).await?;
        let photo = NewPointPhoto { point_code: point.code.clone(), criterion, inspection, file };
        Ok(self.store.add_point_photo(photo, actor).await?)
    }

    /// Type, hashes, thumbnail (and a HEIC photo's JPEG), and what its EXIF says.
    async fn examine(&self, bytes: &Bytes) -> Result<(Upload, Option<Taken>), AttachError> {
        let _turn = DECODING.acquire().await.map_err(|e| AttachError::Internal(e.to_string()))?;
        let file = bytes.clone();
        let upload = tokio::task::spawn_blocking(move || accept(&file))
            .await
            .map_err(|e| AttachError::Internal(e.to_string()))?
            .map_err(AttachError::Unaccepted)?;
        let taken = if upload.media.is_image() {
            exif::read(bytes, self.offset)
                .or_else(|| upload.converted.as_deref().and_then(|jpeg| exif::read(jpeg, self.offset)))
        } else {
            None
        };
        Ok((upload, taken))
    }

    /// Runs the tamper checks on an examined upload (against what it claims to show, and against
    /// every other case's and point's photos), keeps its files, and gives what to store.
    #[allow(clippy::too_many_arguments)] // each is one fact about the upload; a struct would only rename them
    async fn checked_file(
        &self,
        sent: Sent,
        upload: Upload,
        taken: Option<Taken>,
        stage: Stage,
        case: &checks::Case,
        holder: Holder,
        now: OffsetDateTime,
    ) -> Result<PhotoFile, AttachError> {
        let elsewhere = self.store.photo_matches(upload.sha256.clone(), holder).await?;
        let flags = if upload.media.is_image() {
            checks::check(taken.as_ref(), stage, case, self.max_distance_m, &upload.sha256, upload.dhash, &elsewhere)
        } else {
            Vec::new()
        };
        self.keep_files(&upload, &sent.bytes).await?;
        Ok(PhotoFile {
            sha256: upload.sha256,
            media: upload.media,
            bytes: sent.bytes.len() as i64,
            filename: sent.filename,
            dhash: upload.dhash,
            exif: taken,
            flags,
            uploaded_at: now,
        })
    }

    /// Files first, then the row that names them.
    async fn keep_files(&self, upload: &Upload, file: &Bytes) -> Result<(), AttachError> {
        let blobs = self.blobs.clone();
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
        .map_err(|e| AttachError::Internal(e.to_string()))?
        .map_err(AttachError::Storage)
    }
}

/// The point of `shape` nearest to `p` (degrees are fine at a street's scale).
fn nearest_on(shape: &geo::Geometry<f64>, p: geo::Point<f64>) -> Option<geo::Point<f64>> {
    use geo::{Closest, ClosestPoint, Contains};
    if shape.contains(&p) {
        return Some(p);
    }
    match shape.closest_point(&p) {
        Closest::Intersection(q) | Closest::SinglePoint(q) => Some(q),
        Closest::Indeterminate => None,
    }
}
