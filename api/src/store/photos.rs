//! Photo evidence in storage: one row per file attached to a case (`photos`) or to an assessment
//! point (`point_photos`).

use super::db::{sql, Param, Value};
use super::{audit, json_text, utc, Store, StoreError};
use crate::domain::auth::Actor;
use crate::domain::evidence::checks::{Flag, Holder, Seen, Stage};
use crate::domain::evidence::exif::Taken;
use crate::domain::evidence::Media;
use serde::Serialize;
use serde_json::json;
use time::OffsetDateTime;

/// A kept file and what it says about itself: the same for a case's photo and a point's.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PhotoFile {
    pub sha256: String,
    pub media: Media,
    pub bytes: i64,
    pub filename: Option<String>,
    #[serde(skip)]
    pub dhash: Option<u64>,
    /// What the file's EXIF says; `None` when it has none.
    pub exif: Option<Taken>,
    pub flags: Vec<Flag>,
    #[serde(with = "time::serde::rfc3339")]
    #[schema(value_type = String, format = DateTime)]
    pub uploaded_at: OffsetDateTime,
}

/// A photo or document attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = StoredPhoto)]
pub struct Photo {
    pub id: i64,
    pub problem_id: i64,
    pub stage: Stage,
    #[serde(flatten)]
    pub file: PhotoFile,
    pub uploaded_by: String,
}

/// A photo to attach to a case (its flags already computed).
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub problem_id: i64,
    pub stage: Stage,
    pub file: PhotoFile,
}

/// A photo of an assessment point (测评点位实景), for one criterion of its checklist or for
/// the whole point (`criterion` empty).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = StoredPointPhoto)]
pub struct PointPhoto {
    pub id: i64,
    pub point_code: String,
    /// The checklist criterion the photo shows; empty for the whole point.
    pub criterion: String,
    /// The inspection (检查记录) it was taken at, if any.
    pub inspection: Option<i64>,
    #[serde(flatten)]
    pub file: PhotoFile,
    pub uploaded_by: String,
}

/// A point photo to attach (its flags already computed).
#[derive(Debug, Clone)]
pub struct NewPointPhoto {
    pub point_code: String,
    pub criterion: String,
    pub inspection: Option<i64>,
    pub file: PhotoFile,
}

/// The flagged photos of a period, of cases and of points.
#[derive(Debug, Clone, Default)]
pub struct Flagged {
    pub cases: Vec<Photo>,
    pub points: Vec<PointPhoto>,
}

/// The file's columns, in the order both tables list them: sha256, media, bytes, filename,
/// dhash, exif, taken_at, lon, lat, device, flags, uploaded_by, uploaded_at, uploaded_unix.
fn file_params<'a>(file: &'a PhotoFile, actor: &'a Actor) -> [Param<'a>; 14] {
    let taken = file.exif.as_ref();
    [
        file.sha256.as_str().into_param(),
        file.media.mime().into_param(),
        file.bytes.into_param(),
        (&file.filename).into_param(),
        file.dhash.map(|h| h as i64).into_param(),
        file.exif.is_some().into_param(),
        taken.and_then(|t| t.at).into_param(),
        taken.and_then(|t| t.lon).into_param(),
        taken.and_then(|t| t.lat).into_param(),
        taken.and_then(|t| t.device.as_deref()).into_param(),
        json_text(&file.flags, "[]").into_param(),
        actor.name.as_str().into_param(),
        file.uploaded_at.into_param(),
        file.uploaded_at.unix_timestamp().into_param(),
    ]
}

const FILE_COLUMNS: &str =
    "sha256, media, bytes, filename, dhash, exif, taken_at, lon, lat, device, flags, uploaded_by, uploaded_at";
const PHOTO_COLUMNS: &str = "id, problem_id, stage";
const POINT_PHOTO_COLUMNS: &str = "id, point_code, criterion, inspection_id";

/// What both photo tables hold about the file, and who sent it.
#[derive(sqlx::FromRow)]
struct FileRow {
    sha256: String,
    media: String,
    bytes: i64,
    filename: Option<String>,
    dhash: Option<i64>,
    exif: bool,
    taken_at: Option<OffsetDateTime>,
    lon: Option<f64>,
    lat: Option<f64>,
    device: Option<String>,
    flags: String,
    uploaded_by: String,
    uploaded_at: OffsetDateTime,
}

impl FileRow {
    fn into_file(self, what: &str) -> Result<(PhotoFile, String), StoreError> {
        let corrupt = |field: &str| StoreError::Corrupt(format!("{what}: {field}"));
        let exif = self.exif.then(|| Taken {
            at: self.taken_at.map(utc),
            lon: self.lon,
            lat: self.lat,
            device: self.device.clone(),
        });
        let file = PhotoFile {
            media: Media::parse(&self.media).ok_or_else(|| corrupt("media"))?,
            flags: serde_json::from_str(&self.flags).map_err(|e| corrupt(&format!("flags: {e}")))?,
            sha256: self.sha256,
            bytes: self.bytes,
            filename: self.filename,
            dhash: self.dhash.map(|h| h as u64),
            exif,
            uploaded_at: utc(self.uploaded_at),
        };
        Ok((file, self.uploaded_by))
    }
}

#[derive(sqlx::FromRow)]
struct PhotoRow {
    id: i64,
    problem_id: i64,
    stage: String,
    #[sqlx(flatten)]
    file: FileRow,
}

impl PhotoRow {
    fn into_photo(self) -> Result<Photo, StoreError> {
        let id = self.id;
        let (file, uploaded_by) = self.file.into_file(&format!("photo {id}"))?;
        let stage = Stage::parse(&self.stage).ok_or_else(|| StoreError::Corrupt(format!("photo {id}: stage")))?;
        Ok(Photo { id, problem_id: self.problem_id, stage, file, uploaded_by })
    }
}

#[derive(sqlx::FromRow)]
struct PointPhotoRow {
    id: i64,
    point_code: String,
    criterion: String,
    inspection_id: Option<i64>,
    #[sqlx(flatten)]
    file: FileRow,
}

impl PointPhotoRow {
    fn into_photo(self) -> Result<PointPhoto, StoreError> {
        let (file, uploaded_by) = self.file.into_file(&format!("point photo {}", self.id))?;
        Ok(PointPhoto {
            id: self.id,
            point_code: self.point_code,
            criterion: self.criterion,
            inspection: self.inspection_id,
            file,
            uploaded_by,
        })
    }
}

#[derive(sqlx::FromRow)]
struct SeenRow {
    holder: String,
    sha256: String,
    dhash: Option<i64>,
}

impl Store {
    /// Attaches a photo to a case; the same file on the same case again returns the first and
    /// `true`.
    pub async fn add_photo(&self, photo: NewPhoto, actor: Actor) -> Result<(Photo, bool), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let existing: Option<PhotoRow> =
            sql(format!("SELECT {PHOTO_COLUMNS}, {FILE_COLUMNS} FROM photos WHERE problem_id = $1 AND sha256 = $2"))
                .bind(photo.problem_id)
                .bind(&photo.file.sha256)
                .optional(&mut tx)
                .await?;
        if let Some(row) = existing {
            return Ok((row.into_photo()?, true)); // the same file again: nothing new
        }
        let id: i64 = sql(format!(
            "INSERT INTO photos (problem_id, stage, {FILE_COLUMNS}, uploaded_unix) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id"
        ))
        .bind(photo.problem_id)
        .bind(photo.stage.as_str())
        .bind_all(file_params(&photo.file, &actor))
        .scalar(&mut tx)
        .await?;
        let details =
            json!({"photo": id, "sha256": photo.file.sha256, "stage": photo.stage, "flags": photo.file.flags});
        let object = format!("problem/{}", photo.problem_id);
        audit::record(&mut tx, photo.file.uploaded_at, &actor, "photo.add", &object, &details).await?;
        tx.commit().await?;
        let stored =
            Photo { id, problem_id: photo.problem_id, stage: photo.stage, file: photo.file, uploaded_by: actor.name };
        Ok((stored, false))
    }

    /// Publishes a case's photo under `token` (Open311's `media_url`); a photo published before
    /// keeps its first token, which is returned.
    pub async fn publish_photo(
        &self,
        problem_id: i64,
        sha256: &str,
        token: &str,
        at: OffsetDateTime,
        actor: &Actor,
    ) -> Result<String, StoreError> {
        let mut tx = self.pool.begin_write().await?;
        sql("INSERT INTO public_photos (token, problem_id, sha256, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (problem_id, sha256) DO NOTHING")
        .bind(token)
        .bind(problem_id)
        .bind(sha256)
        .bind(at)
        .execute(&mut tx)
        .await?;
        let kept: String = sql("SELECT token FROM public_photos WHERE problem_id = $1 AND sha256 = $2")
            .bind(problem_id)
            .bind(sha256)
            .scalar(&mut tx)
            .await?;
        let details = json!({"sha256": sha256});
        audit::record(&mut tx, at, actor, "photo.publish", &format!("problem/{problem_id}"), &details).await?;
        tx.commit().await?;
        Ok(kept)
    }

    /// The case and file a public photo token names.
    pub async fn public_photo(&self, token: &str) -> Result<Option<(i64, String)>, StoreError> {
        Ok(sql("SELECT problem_id, sha256 FROM public_photos WHERE token = $1")
            .bind(token)
            .optional(&self.pool)
            .await?)
    }

    /// The published photos of a case: file → token.
    pub async fn public_photos_of(
        &self,
        problem_id: i64,
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let rows: Vec<(String, String)> = sql("SELECT sha256, token FROM public_photos WHERE problem_id = $1")
            .bind(problem_id)
            .all(&self.pool)
            .await?;
        Ok(rows.into_iter().collect())
    }

    /// Each case's first published photo token, for those of `ids` that have one.
    pub async fn public_photo_tokens(&self, ids: &[i64]) -> Result<std::collections::HashMap<i64, String>, StoreError> {
        let d = self.dialect;
        let rows: Vec<(i64, String)> = sql(format!(
            "SELECT problem_id, token FROM public_photos WHERE problem_id IN ({list}) ORDER BY {at} DESC, token",
            list = d.json_ids(1),
            at = d.time("created_at")
        ))
        .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
        .all(&self.pool)
        .await?;
        // Ordered newest first: the last written for each case is its first published.
        Ok(rows.into_iter().collect())
    }

    pub async fn photos_of(&self, problem_id: i64) -> Result<Vec<Photo>, StoreError> {
        let rows: Vec<PhotoRow> =
            sql(format!("SELECT {PHOTO_COLUMNS}, {FILE_COLUMNS} FROM photos WHERE problem_id = $1 ORDER BY id"))
                .bind(problem_id)
                .all(&self.pool)
                .await?;
        rows.into_iter().map(PhotoRow::into_photo).collect()
    }

    /// Photos on other cases that may be this one: the same SHA-256, or any with a dHash (the
    /// caller compares them).
    pub async fn photo_matches(&self, sha256: String, other_than: Holder) -> Result<Vec<Seen>, StoreError> {
        // Same bytes by index; similar pictures by comparing every other holder's dHash
        // (64-bit XOR and popcount: a million photos take milliseconds).
        let (case, point) = match &other_than {
            Holder::Problem(id) => (*id, String::new()),
            Holder::Point(code) => (0, code.clone()),
        };
        let cases: Vec<(i64, String, Option<i64>)> = sql(
            "SELECT problem_id, sha256, dhash FROM photos WHERE problem_id <> $1 AND (sha256 = $2 OR dhash IS NOT NULL) \
             ORDER BY problem_id",
        )
        .bind(case)
        .bind(&sha256)
        .all(&self.pool)
        .await?;
        let points: Vec<SeenRow> =
            sql("SELECT point_code AS holder, sha256, dhash FROM point_photos WHERE point_code <> $1 \
             AND (sha256 = $2 OR dhash IS NOT NULL) ORDER BY point_code")
            .bind(&point)
            .bind(&sha256)
            .all(&self.pool)
            .await?;
        let dhash = |h: Option<i64>| h.map(|h| h as u64);
        let cases =
            cases.into_iter().map(|(id, sha256, h)| Seen { holder: Holder::Problem(id), sha256, dhash: dhash(h) });
        let points = points.into_iter().map(|r| Seen {
            holder: Holder::Point(r.holder),
            sha256: r.sha256,
            dhash: dhash(r.dhash),
        });
        Ok(cases.chain(points).collect())
    }

    /// The cases and points a file is a photo of, with its kind.
    pub async fn photo_holders(&self, sha256: String) -> Result<Vec<(Holder, Media)>, StoreError> {
        let cases: Vec<(i64, String)> =
            sql("SELECT problem_id, media FROM photos WHERE sha256 = $1 ORDER BY problem_id")
                .bind(&sha256)
                .all(&self.pool)
                .await?;
        let points: Vec<(String, String)> =
            sql("SELECT DISTINCT point_code, media FROM point_photos WHERE sha256 = $1 ORDER BY point_code")
                .bind(&sha256)
                .all(&self.pool)
                .await?;
        let holders = cases.into_iter().map(|(id, m)| (Holder::Problem(id), m));
        holders
            .chain(points.into_iter().map(|(code, m)| (Holder::Point(code), m)))
            .map(|(holder, media)| {
                let kind = Media::parse(&media)
                    .ok_or_else(|| StoreError::Corrupt(format!("photo {sha256} of {holder:?}: media {media:?}")))?;
                Ok((holder, kind))
            })
            .collect()
    }

    /// Attaches a photo to an assessment point (and criterion); the same file on the same point
    /// and criterion again returns the first and `true`.
    pub async fn add_point_photo(&self, photo: NewPointPhoto, actor: Actor) -> Result<(PointPhoto, bool), StoreError> {
        let mut tx = self.pool.begin_write().await?;
        let existing: Option<PointPhotoRow> = sql(format!(
            "SELECT {POINT_PHOTO_COLUMNS}, {FILE_COLUMNS} FROM point_photos \
             WHERE point_code = $1 AND criterion = $2 AND sha256 = $3"
        ))
        .bind(&photo.point_code)
        .bind(&photo.criterion)
        .bind(&photo.file.sha256)
        .optional(&mut tx)
        .await?;
        if let Some(row) = existing {
            return Ok((row.into_photo()?, true)); // the same file again: nothing new
        }
        let id: i64 = sql(format!(
            "INSERT INTO point_photos (point_code, criterion, inspection_id, {FILE_COLUMNS}, uploaded_unix) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id"
        ))
        .bind(&photo.point_code)
        .bind(&photo.criterion)
        .bind(photo.inspection)
        .bind_all(file_params(&photo.file, &actor))
        .scalar(&mut tx)
        .await?;
        let details = json!({"point_photo": id, "sha256": photo.file.sha256, "criterion": photo.criterion, "flags": photo.file.flags});
        let object = format!("point/{}", photo.point_code);
        audit::record(&mut tx, photo.file.uploaded_at, &actor, "photo.add", &object, &details).await?;
        // The inspection it was taken at lists it among its photos.
        if let Some(inspection) = photo.inspection {
            let listed: String =
                sql("SELECT photos FROM inspections WHERE id = $1").bind(inspection).scalar(&mut tx).await?;
            let mut urls: Vec<String> = serde_json::from_str(&listed)
                .map_err(|e| StoreError::Corrupt(format!("inspection {inspection}: photos: {e}")))?;
            let url = format!("/api/v1/photos/{}", photo.file.sha256);
            if !urls.contains(&url) {
                urls.push(url);
                sql("UPDATE inspections SET photos = $1 WHERE id = $2")
                    .bind(json_text(&urls, "[]"))
                    .bind(inspection)
                    .execute(&mut tx)
                    .await?;
            }
        }
        tx.commit().await?;
        let stored = PointPhoto {
            id,
            point_code: photo.point_code,
            criterion: photo.criterion,
            inspection: photo.inspection,
            file: photo.file,
            uploaded_by: actor.name,
        };
        Ok((stored, false))
    }

    /// Point photos uploaded in [from, to) (Unix seconds), of one point or all.
    pub async fn point_photos(
        &self,
        point_code: Option<String>,
        from_unix: i64,
        to_unix: i64,
    ) -> Result<Vec<PointPhoto>, StoreError> {
        let rows: Vec<PointPhotoRow> = sql(format!(
            "SELECT {POINT_PHOTO_COLUMNS}, {FILE_COLUMNS} FROM point_photos WHERE ($1 IS NULL OR point_code = $1) \
             AND uploaded_unix >= $2 AND uploaded_unix < $3 ORDER BY point_code, criterion, id"
        ))
        .bind(point_code)
        .bind(from_unix)
        .bind(to_unix)
        .all(&self.pool)
        .await?;
        rows.into_iter().map(PointPhotoRow::into_photo).collect()
    }

    /// The flagged photos of cases and of points uploaded in [from, to) (Unix seconds), newest
    /// first, at most `limit` of each.
    pub async fn flagged_photos(&self, from_unix: i64, to_unix: i64, limit: i64) -> Result<Flagged, StoreError> {
        let window =
            "flags <> '[]' AND uploaded_unix >= $1 AND uploaded_unix < $2 ORDER BY uploaded_unix DESC, id DESC LIMIT $3";
        let cases: Vec<PhotoRow> = sql(format!("SELECT {PHOTO_COLUMNS}, {FILE_COLUMNS} FROM photos WHERE {window}"))
            .bind(from_unix)
            .bind(to_unix)
            .bind(limit)
            .all(&self.pool)
            .await?;
        let points: Vec<PointPhotoRow> =
            sql(format!("SELECT {POINT_PHOTO_COLUMNS}, {FILE_COLUMNS} FROM point_photos WHERE {window}"))
                .bind(from_unix)
                .bind(to_unix)
                .bind(limit)
                .all(&self.pool)
                .await?;
        Ok(Flagged {
            cases: cases.into_iter().map(PhotoRow::into_photo).collect::<Result<_, _>>()?,
            points: points.into_iter().map(PointPhotoRow::into_photo).collect::<Result<_, _>>()?,
        })
    }

    /// The point an inspection was made at, if it exists.
    pub async fn inspection_point(&self, id: i64) -> Result<Option<String>, StoreError> {
        Ok(sql("SELECT point_code FROM inspections WHERE id = $1").bind(id).optional_scalar(&self.pool).await?)
    }
}
