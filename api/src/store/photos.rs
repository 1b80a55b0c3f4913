//! Photo evidence in storage: one row per file attached to a case, the same SQL on both backends.

use crate::evidence::checks::{Flag, Stage};
use crate::evidence::exif::Taken;
use crate::evidence::Media;
use serde::Serialize;
use time::OffsetDateTime;

/// A photo or document attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Photo {
    pub id: i64,
    pub problem_id: i64,
    pub stage: Stage,
    pub sha256: String,
    pub media: Media,
    pub bytes: i64,
    pub filename: Option<String>,
    #[serde(skip)]
    pub dhash: Option<u64>,
    /// What the file's EXIF says; `None` when it has none.
    pub exif: Option<Taken>,
    pub flags: Vec<Flag>,
    pub uploaded_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub uploaded_at: OffsetDateTime,
}

/// A photo to attach (its flags already computed).
#[derive(Debug, Clone)]
pub struct NewPhoto {
    pub problem_id: i64,
    pub stage: Stage,
    pub sha256: String,
    pub media: Media,
    pub bytes: i64,
    pub filename: Option<String>,
    pub dhash: Option<u64>,
    pub exif: Option<Taken>,
    pub flags: Vec<Flag>,
    pub uploaded_at: OffsetDateTime,
}

pub(crate) const PHOTO_COLUMNS: &str = "id, problem_id, stage, sha256, media, bytes, filename, dhash, exif, taken_at, \
     lon, lat, device, flags, uploaded_by, uploaded_at";

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
    use crate::store::StoreError;
    let id: i64 = r.try_get("id")?;
    let corrupt = |what: &str| StoreError::Corrupt(format!("photo {id}: {what}"));
    let stage: String = r.try_get("stage")?;
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
    Ok(Photo {
        id,
        problem_id: r.try_get("problem_id")?,
        stage: Stage::parse(&stage).ok_or_else(|| corrupt("stage"))?,
        sha256: r.try_get("sha256")?,
        media: Media::parse(&media).ok_or_else(|| corrupt("media"))?,
        bytes: r.try_get("bytes")?,
        filename: r.try_get("filename")?,
        dhash: r.try_get::<Option<i64>, _>("dhash")?.map(|h| h as u64),
        exif,
        flags: serde_json::from_str(&flags).map_err(|e| corrupt(&format!("flags: {e}")))?,
        uploaded_by: r.try_get("uploaded_by")?,
        uploaded_at: crate::store::utc(r.try_get("uploaded_at")?),
    })
}

/// The photo methods of `Store`, the same on both backends. Expands inside `impl Store for …`
/// of a type with `begin_write()` and `pool`.
macro_rules! photo_methods {
    () => {
        fn add_photo(
            &self,
            photo: $crate::store::photos::NewPhoto,
            actor: $crate::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<($crate::store::photos::Photo, bool), StoreError>> {
            Box::pin(async move {
                use $crate::store::photos::{photo_from_row, PHOTO_COLUMNS};
                let mut tx = self.begin_write().await?;
                let existing = sqlx::query(&format!("SELECT {PHOTO_COLUMNS} FROM photos WHERE problem_id = $1 AND sha256 = $2"))
                    .bind(photo.problem_id)
                    .bind(&photo.sha256)
                    .fetch_optional(&mut *tx)
                    .await?;
                if let Some(row) = existing {
                    return Ok((photo_from_row(&row)?, true)); // the same file again: nothing new
                }
                let taken = photo.exif.clone().unwrap_or_default();
                let flags = serde_json::to_string(&photo.flags).unwrap_or_else(|_| "[]".into());
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO photos (problem_id, stage, sha256, media, bytes, filename, dhash, exif, taken_at, lon, lat, \
                     device, flags, uploaded_by, uploaded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id",
                )
                .bind(photo.problem_id)
                .bind(photo.stage.as_str())
                .bind(&photo.sha256)
                .bind(photo.media.mime())
                .bind(photo.bytes)
                .bind(&photo.filename)
                .bind(photo.dhash.map(|h| h as i64))
                .bind(photo.exif.is_some())
                .bind(taken.at)
                .bind(taken.lon)
                .bind(taken.lat)
                .bind(&taken.device)
                .bind(&flags)
                .bind(&actor.name)
                .bind(photo.uploaded_at)
                .fetch_one(&mut *tx)
                .await?;
                audit_row!(
                    tx,
                    photo.uploaded_at,
                    actor,
                    "photo.add",
                    format!("problem/{}", photo.problem_id),
                    serde_json::json!({"photo": id, "sha256": photo.sha256, "stage": photo.stage, "flags": photo.flags})
                );
                tx.commit().await?;
                let stored = $crate::store::photos::Photo {
                    id,
                    problem_id: photo.problem_id,
                    stage: photo.stage,
                    sha256: photo.sha256,
                    media: photo.media,
                    bytes: photo.bytes,
                    filename: photo.filename,
                    dhash: photo.dhash,
                    exif: photo.exif,
                    flags: photo.flags,
                    uploaded_by: actor.name,
                    uploaded_at: photo.uploaded_at,
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
            other_than: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::evidence::checks::Seen>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                // Same bytes by index; similar pictures by comparing every other case's dHash
                // (64-bit XOR and popcount: a million photos take milliseconds).
                let rows = sqlx::query(
                    "SELECT problem_id, sha256, dhash FROM photos WHERE problem_id <> $1 AND (sha256 = $2 OR dhash IS NOT NULL) \
                     ORDER BY problem_id",
                )
                .bind(other_than)
                .bind(&sha256)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok($crate::evidence::checks::Seen {
                            problem_id: r.try_get("problem_id")?,
                            sha256: r.try_get("sha256")?,
                            dhash: r.try_get::<Option<i64>, _>("dhash")?.map(|h| h as u64),
                        })
                    })
                    .collect()
            })
        }

        fn photo_holders(
            &self,
            sha256: String,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<(i64, $crate::evidence::Media)>, StoreError>> {
            Box::pin(async move {
                let rows: Vec<(i64, String)> =
                    sqlx::query_as("SELECT problem_id, media FROM photos WHERE sha256 = $1 ORDER BY problem_id")
                        .bind(&sha256)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter()
                    .map(|(id, media)| {
                        let media = $crate::evidence::Media::parse(&media)
                            .ok_or_else(|| StoreError::Corrupt(format!("photo {sha256} on problem {id}: media {media:?}")))?;
                        Ok((id, media))
                    })
                    .collect()
            })
        }
    };
}
