//! Photo evidence in storage: one row per file attached to a case (`photos`) or to an assessment
//! point (`point_photos`), the same SQL on both backends.

use crate::domain::evidence::checks::{Flag, Stage};
use crate::domain::evidence::exif::Taken;
use crate::domain::evidence::Media;
use serde::Serialize;
use time::OffsetDateTime;

/// A kept file and what it says about itself: the same for a case's photo and a point's.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub uploaded_at: OffsetDateTime,
}

/// A photo or document attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointPhoto {
    pub id: i64,
    pub point_code: String,
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

/// Binds the file's columns, in the order both tables list them: sha256, media, bytes, filename,
/// dhash, exif, taken_at, lon, lat, device, flags, uploaded_by, uploaded_at.
macro_rules! bind_photo_file {
    ($query:expr, $file:expr, $actor:expr) => {{
        let file: &$crate::store::photos::PhotoFile = $file;
        let taken = file.exif.clone().unwrap_or_default();
        $query
            .bind(file.sha256.clone())
            .bind(file.media.mime())
            .bind(file.bytes)
            .bind(file.filename.clone())
            .bind(file.dhash.map(|h| h as i64))
            .bind(file.exif.is_some())
            .bind(taken.at)
            .bind(taken.lon)
            .bind(taken.lat)
            .bind(taken.device)
            .bind(serde_json::to_string(&file.flags).unwrap_or_else(|_| "[]".into()))
            .bind($actor.name.clone())
            .bind(file.uploaded_at)
    }};
}

pub(crate) const PHOTO_COLUMNS: &str = "id, problem_id, stage, sha256, media, bytes, filename, dhash, exif, taken_at, \
     lon, lat, device, flags, uploaded_by, uploaded_at";

/// What both photo tables hold about the file, and who sent it.
fn file_columns<'r, R>(r: &'r R, what: &str) -> Result<(PhotoFile, String), crate::store::StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    use crate::store::StoreError;
    let corrupt = |field: &str| StoreError::Corrupt(format!("{what}: {field}"));
    let media: String = r.try_get("media")?;
    let flags: String = r.try_get("flags")?;
    let has_exif: bool = r.try_get("exif")?;
    let exif = has_exif
        .then(|| -> Result<Taken, sqlx::Error> {
            Ok(Taken {
                at: r.try_get::<Option<OffsetDateTime>, _>("taken_at")?.map(crate::store::utc),
                lon: r.try_get("lon")?,
                lat: r.try_get("lat")?,
                device: r.try_get("device")?,
            })
        })
        .transpose()?;
    let file = PhotoFile {
        sha256: r.try_get("sha256")?,
        media: Media::parse(&media).ok_or_else(|| corrupt("media"))?,
        bytes: r.try_get("bytes")?,
        filename: r.try_get("filename")?,
        dhash: r.try_get::<Option<i64>, _>("dhash")?.map(|h| h as u64),
        exif,
        flags: serde_json::from_str(&flags).map_err(|e| corrupt(&format!("flags: {e}")))?,
        uploaded_at: crate::store::utc(r.try_get("uploaded_at")?),
    };
    Ok((file, r.try_get("uploaded_by")?))
}

pub(crate) fn photo_from_row<'r, R>(r: &'r R) -> Result<Photo, crate::store::StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("id")?;
    let stage: String = r.try_get("stage")?;
    let (file, uploaded_by) = file_columns(r, &format!("photo {id}"))?;
    Ok(Photo {
        id,
        problem_id: r.try_get("problem_id")?,
        stage: Stage::parse(&stage).ok_or_else(|| crate::store::StoreError::Corrupt(format!("photo {id}: stage")))?,
        file,
        uploaded_by,
    })
}

pub(crate) const POINT_PHOTO_COLUMNS: &str =
    "id, point_code, criterion, inspection_id, sha256, media, bytes, filename, dhash, exif, \
     taken_at, lon, lat, device, flags, uploaded_by, uploaded_at";

pub(crate) fn point_photo_from_row<'r, R>(r: &'r R) -> Result<PointPhoto, crate::store::StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    bool: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let id: i64 = r.try_get("id")?;
    let (file, uploaded_by) = file_columns(r, &format!("point photo {id}"))?;
    Ok(PointPhoto {
        id,
        point_code: r.try_get("point_code")?,
        criterion: r.try_get("criterion")?,
        inspection: r.try_get("inspection_id")?,
        file,
        uploaded_by,
    })
}

/// The photo methods of `Store`, the same on both backends. Expands inside `impl Store for …`
/// of a type with `begin_write()` and `pool`.
macro_rules! photo_methods {
    () => {
        fn add_photo(
            &self,
            photo: $crate::store::photos::NewPhoto,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<($crate::store::photos::Photo, bool), StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{photo_from_row, PHOTO_COLUMNS};
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE problem_id = $1 AND sha256 = $2"))
                    .bind(photo.problem_id)
                    .bind(&photo.file.sha256)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    return Ok((photo_from_row(&row)?, true)); // the same file again: nothing new
                }
                let insert = sqlx::query_scalar(
                    "INSERT INTO photos (problem_id, stage, sha256, media, bytes, filename, dhash, exif, taken_at, lon, lat, \
                     device, flags, uploaded_by, uploaded_at, uploaded_unix) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) RETURNING id",
                )
                .bind(photo.problem_id)
                .bind(photo.stage.as_str());
                let id: i64 = bind_photo_file!(insert, &photo.file, actor)
                    .bind(photo.file.uploaded_at.unix_timestamp())
                    .fetch_one(&mut *tx)
                    .await?;
                audit_row!(
                    tx,
                    photo.file.uploaded_at,
                    actor,
                    "photo.add",
                    format!("problem/{}", photo.problem_id),
                    serde_json::json!({"photo": id, "sha256": photo.file.sha256, "stage": photo.stage, "flags": photo.file.flags})
                );
                tx.commit().await?;
                let stored = $crate::store::photos::Photo {
                    id,
                    problem_id: photo.problem_id,
                    stage: photo.stage,
                    file: photo.file,
                    uploaded_by: actor.name,
                };
                Ok((stored, false))
            })
        }

        fn photos_of(
            &self,
            problem_id: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::store::photos::Photo>, StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{photo_from_row, PHOTO_COLUMNS};
                let rows = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE problem_id = $1 ORDER BY id"))
                    .bind(problem_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|r| photo_from_row(r)).collect()
            })
        }

        fn photo_matches(
            &self,
            sha256: String,
            other_than: $crate::domain::evidence::checks::Holder,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::evidence::checks::Seen>, StoreError>> {
            Box::pin(async move {
                use $crate::domain::evidence::checks::{Holder, Seen};
                use sqlx::Row;
                // Same bytes by index; similar pictures by comparing every other holder's dHash
                // (64-bit XOR and popcount: a million photos take milliseconds).
                let (case, point) = match &other_than {
                    Holder::Problem(id) => (*id, String::new()),
                    Holder::Point(code) => (0, code.clone()),
                };
                let cases = sqlx::query(
                    "SELECT problem_id, sha256, dhash FROM photos WHERE problem_id <> $1 AND (sha256 = $2 OR dhash IS NOT NULL) \
                     ORDER BY problem_id",
                )
                .bind(case)
                .bind(&sha256)
                .fetch_all(&self.pool)
                .await?;
                let points = sqlx::query(
                    "SELECT point_code, sha256, dhash FROM point_photos WHERE point_code <> $1 \
                     AND (sha256 = $2 OR dhash IS NOT NULL) ORDER BY point_code",
                )
                .bind(&point)
                .bind(&sha256)
                .fetch_all(&self.pool)
                .await?;
                let mut found = Vec::with_capacity(cases.len() + points.len());
                for r in &cases {
                    let dhash = r.try_get::<Option<i64>, _>("dhash")?.map(|h| h as u64);
                    found.push(Seen { holder: Holder::Problem(r.try_get("problem_id")?), sha256: r.try_get("sha256")?, dhash });
                }
                for r in &points {
                    let dhash = r.try_get::<Option<i64>, _>("dhash")?.map(|h| h as u64);
                    found.push(Seen { holder: Holder::Point(r.try_get("point_code")?), sha256: r.try_get("sha256")?, dhash });
                }
                Ok(found)
            })
        }

        fn photo_holders(
            &self,
            sha256: String,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<($crate::domain::evidence::checks::Holder, $crate::domain::evidence::Media)>, StoreError>> {
            Box::pin(async move {
                use $crate::domain::evidence::checks::Holder;
                let cases: Vec<(i64, String)> =
                    sqlx::query_as("SELECT problem_id, media FROM photos WHERE sha256 = $1 ORDER BY problem_id")
                        .bind(&sha256)
                        .fetch_all(&self.pool)
                        .await?;
                let points: Vec<(String, String)> =
                    sqlx::query_as("SELECT DISTINCT point_code, media FROM point_photos WHERE sha256 = $1 ORDER BY point_code")
                        .bind(&sha256)
                        .fetch_all(&self.pool)
                        .await?;
                let holders = cases.into_iter().map(|(id, m)| (Holder::Problem(id), m));
                holders
                    .chain(points.into_iter().map(|(code, m)| (Holder::Point(code), m)))
                    .map(|(holder, media)| {
                        let kind = $crate::domain::evidence::Media::parse(&media)
                            .ok_or_else(|| StoreError::Corrupt(format!("photo {sha256} of {holder:?}: media {media:?}")))?;
                        Ok((holder, kind))
                    })
                    .collect()
            })
        }

        fn add_point_photo(
            &self,
            photo: $crate::store::photos::NewPointPhoto,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<($crate::store::photos::PointPhoto, bool), StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{point_photo_from_row, POINT_PHOTO_COLUMNS};
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(&format!(
                    "SELECT {POINT_PHOTO_COLUMNS} FROM point_photos WHERE point_code = $1 AND criterion = $2 AND sha256 = $3"
                ))
                .bind(&photo.point_code)
                .bind(&photo.criterion)
                .bind(&photo.file.sha256)
                .fetch_optional(&mut *tx)
                .await?;
                if let Some(row) = existing {
                    return Ok((point_photo_from_row(&row)?, true)); // the same file again: nothing new
                }
                let insert = sqlx::query_scalar(
                    "INSERT INTO point_photos (point_code, criterion, inspection_id, sha256, media, bytes, filename, dhash, \
                     exif, taken_at, lon, lat, device, flags, uploaded_by, uploaded_at, uploaded_unix) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17) RETURNING id",
                )
                .bind(&photo.point_code)
                .bind(&photo.criterion)
                .bind(photo.inspection);
                let id: i64 = bind_photo_file!(insert, &photo.file, actor)
                    .bind(photo.file.uploaded_at.unix_timestamp())
                    .fetch_one(&mut *tx)
                    .await?;
                audit_row!(
                    tx,
                    photo.file.uploaded_at,
                    actor,
                    "photo.add",
                    format!("point/{}", photo.point_code),
                    serde_json::json!({"point_photo": id, "sha256": photo.file.sha256, "criterion": photo.criterion, "flags": photo.file.flags})
                );
                // The inspection it was taken at lists it among its photos.
                if let Some(inspection) = photo.inspection {
                    let listed: String = sqlx::query_scalar("SELECT photos FROM inspections WHERE id = $1")
                        .bind(inspection)
                        .fetch_one(&mut *tx)
                        .await?;
                    let mut urls: Vec<String> = serde_json::from_str(&listed)
                        .map_err(|e| StoreError::Corrupt(format!("inspection {inspection}: photos: {e}")))?;
                    let url = format!("/api/v1/photos/{}", photo.file.sha256);
                    if !urls.contains(&url) {
                        urls.push(url);
                        sqlx::query("UPDATE inspections SET photos = $1 WHERE id = $2")
                            .bind(serde_json::to_string(&urls).unwrap_or_else(|_| "[]".into()))
                            .bind(inspection)
                            .execute(&mut *tx)
                            .await?;
                    }
                }
                tx.commit().await?;
                let stored = $crate::store::photos::PointPhoto {
                    id,
                    point_code: photo.point_code,
                    criterion: photo.criterion,
                    inspection: photo.inspection,
                    file: photo.file,
                    uploaded_by: actor.name,
                };
                Ok((stored, false))
            })
        }

        fn point_photos(
            &self,
            point_code: Option<String>,
            from_unix: i64,
            to_unix: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::store::photos::PointPhoto>, StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{point_photo_from_row, POINT_PHOTO_COLUMNS};
                let rows = sqlx::query(&format!(
                    "SELECT {POINT_PHOTO_COLUMNS} FROM point_photos WHERE ($1 IS NULL OR point_code = $1) \
                     AND uploaded_unix >= $2 AND uploaded_unix < $3 ORDER BY point_code, criterion, id"
                ))
                .bind(point_code)
                .bind(from_unix)
                .bind(to_unix)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map(|r| point_photo_from_row(r)).collect()
            })
        }

        fn flagged_photos(
            &self,
            from_unix: i64,
            to_unix: i64,
            limit: i64,
        ) -> $crate::store::BoxFuture<'_, Result<$crate::store::photos::Flagged, StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{photo_from_row, point_photo_from_row, PHOTO_COLUMNS, POINT_PHOTO_COLUMNS};
                let window = "flags <> '[]' AND uploaded_unix >= $1 AND uploaded_unix < $2 ORDER BY uploaded_unix DESC, id DESC LIMIT $3";
                let cases = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE {window}"))
                    .bind(from_unix)
                    .bind(to_unix)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                let points = sqlx::query(&format!("SELECT {POINT_PHOTO_COLUMNS} FROM point_photos WHERE {window}"))
                    .bind(from_unix)
                    .bind(to_unix)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                Ok($crate::store::photos::Flagged {
                    cases: cases.iter().map(|r| photo_from_row(r)).collect::<Result<_, _>>()?,
                    points: points.iter().map(|r| point_photo_from_row(r)).collect::<Result<_, _>>()?,
                })
            })
        }

        fn inspection_point(&self, id: i64) -> $crate::store::BoxFuture<'_, Result<Option<String>, StoreError>> {
            Box::pin(async move {
                Ok(sqlx::query_scalar("SELECT point_code FROM inspections WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?)
            })
        }
    };
}
