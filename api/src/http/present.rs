//! How things are shown to a caller, in one place: a case with its colour at this moment and
//! only the links its area may follow, a case on the map, a photo with its links. Every
//! resource that answers with cases or photos goes through here.

use super::error::ApiError;
use super::guard::Caller;
use super::ApiContext;
use crate::domain::access::{Action as Permission, Area};
use crate::domain::evidence::checks::{Flag, Holder};
use crate::domain::problem::{Origin, Problem, Source};
use crate::domain::workflow::case::colour_at;
use crate::domain::workflow::catalogue::Kind;
use crate::domain::workflow::colour::Colour;
use crate::domain::workflow::state::State;
use crate::store::photos::{Photo, PhotoFile, PointPhoto};
use serde::Serialize;
use serde_json::{json, Map, Value};
use time::OffsetDateTime;

/// A problem as a caller sees it: with its colour at this moment, and links to likely
/// duplicates only where the caller may see them.
pub fn case(ctx: &ApiContext, area: &Area, mut p: Problem) -> Problem {
    p.colour = colour_at(&p, ctx.clock.now(), &ctx.calendar, &ctx.thresholds);
    p.likely_duplicates
        .retain(|d| area.sees(d.grid_code.as_deref(), d.responsible_unit.as_deref(), d.reported_by.as_deref()));
    p
}

/// Loads a problem the caller may see; outside the caller's area looks exactly like absent (404).
pub(super) async fn visible_case(ctx: &ApiContext, caller: &Caller, id: &str) -> Result<Problem, ApiError> {
    let principal = caller.require(Permission::ReadProblems)?;
    let not_found = || ApiError::not_found(format!("no problem with id {id}"));
    let numeric: i64 = id.parse().map_err(|_| not_found())?;
    let problem = ctx.store.problem(numeric).await?.ok_or_else(not_found)?;
    if !Area::of(principal, &ctx.catalog.snapshot()).sees_problem(&problem) {
        return Err(not_found());
    }
    Ok(problem)
}

/// What a map shows of a case (the properties of its feature); the whole case is at
/// `/api/v1/problems/{id}`.
#[derive(Serialize)]
struct MapCase<'a> {
    id: i64,
    category: &'a str,
    description: &'a str,
    source: Source,
    grid_code: Option<&'a str>,
    grid_version: Option<i32>,
    responsible_unit: Option<&'a str>,
    status: State,
    #[serde(with = "time::serde::rfc3339")]
    created_at: OffsetDateTime,
    reported_by: Option<&'a str>,
    #[serde(flatten)]
    class: Option<MapClass<'a>>,
    #[serde(with = "time::serde::rfc3339::option")]
    dispatched_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    deadline: Option<OffsetDateTime>,
    reworks: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    closed_at: Option<OffsetDateTime>,
    merged_into: Option<i64>,
    #[serde(flatten)]
    origin: Option<&'a Origin>,
    colour: Colour,
    version: i64,
}

/// The catalogue's words on a case, as a map labels and colours it.
#[derive(Serialize)]
struct MapClass<'a> {
    category_name: &'a str,
    kind: Kind,
    department: &'a str,
    severity: Colour,
}

/// A case as a GeoJSON feature of the problems layer, as `area` sees it.
pub(super) fn case_feature(ctx: &ApiContext, area: &Area, p: Problem) -> Value {
    let p = case(ctx, area, p);
    let shown = MapCase {
        id: p.id,
        category: &p.category,
        description: &p.description,
        source: p.source,
        grid_code: p.grid_code.as_deref(),
        grid_version: p.grid_version,
        responsible_unit: p.responsible_unit.as_deref(),
        status: p.status,
        created_at: p.created_at,
        reported_by: p.reported_by.as_deref(),
        class: p.class.as_ref().map(|c| MapClass {
            category_name: &c.category_name,
            kind: c.kind,
            department: &c.department,
            severity: c.severity,
        }),
        dispatched_at: p.case.dispatched_at,
        deadline: p.case.deadline,
        reworks: p.case.reworks,
        closed_at: p.case.closed_at,
        merged_into: p.case.merged_into,
        origin: p.origin.as_ref(),
        colour: p.colour,
        version: p.version,
    };
    let props = match serde_json::to_value(shown) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    maps::geojson::feature(json!(p.id), maps::geojson::point(geo::Point::new(p.lon, p.lat)), props)
}

/// Where to fetch a photo, and whether any check doubts it: shown beside every photo.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PhotoLinks {
    url: String,
    /// A JPEG thumbnail, for images.
    thumbnail_url: Option<String>,
    /// A HEIC photo's JPEG, for browsers and printing.
    jpeg_url: Option<String>,
    /// Some tamper check failed (`flags` says which).
    flagged: bool,
}

impl PhotoLinks {
    fn of(file: &PhotoFile) -> Self {
        let sha = &file.sha256;
        Self {
            url: format!("/api/v1/photos/{sha}"),
            thumbnail_url: file.media.is_image().then(|| format!("/api/v1/photos/{sha}?size=thumb")),
            jpeg_url: (file.media == crate::domain::evidence::Media::Heic)
                .then(|| format!("/api/v1/photos/{sha}?size=jpeg")),
            flagged: !file.flags.is_empty(),
        }
    }
}

/// A case's photo as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Photo)]
pub struct CasePhoto {
    #[serde(flatten)]
    pub photo: Photo,
    #[serde(flatten)]
    pub links: PhotoLinks,
    /// The public link of a report photo its reporter agreed to publish (Open311's `media_url`):
    /// a copy without EXIF, anyone may open it.
    pub public_url: Option<String>,
}

/// Where the public sees a published photo, by its token (Open311's `media_url`).
pub fn public_photo_path(token: &str) -> String {
    format!("/open311/v2/media/{token}.jpg")
}

/// An assessment point's photo (测评点位实景) as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = PointPhoto)]
pub struct ShownPointPhoto {
    #[serde(flatten)]
    pub photo: PointPhoto,
    #[serde(flatten)]
    pub links: PhotoLinks,
}

/// A stored photo of either kind, and how it is shown.
pub trait Showable: HasFile + Clone {
    type Shown: Serialize;
    fn file_mut(&mut self) -> &mut PhotoFile;
    fn shown(self, links: PhotoLinks) -> Self::Shown;
}

impl Showable for Photo {
    type Shown = CasePhoto;
    fn file_mut(&mut self) -> &mut PhotoFile {
        &mut self.file
    }
    fn shown(self, links: PhotoLinks) -> CasePhoto {
        CasePhoto { photo: self, links, public_url: None }
    }
}

impl Showable for PointPhoto {
    type Shown = ShownPointPhoto;
    fn file_mut(&mut self) -> &mut PhotoFile {
        &mut self.file
    }
    fn shown(self, links: PhotoLinks) -> ShownPointPhoto {
        ShownPointPhoto { photo: self, links }
    }
}

/// A photo as `caller`'s area may see it: a `reused` flag names the other case or assessment point
/// only when the caller may see that one too (otherwise it says only that the picture is reused).
pub async fn photo_to<P: Showable>(ctx: &ApiContext, area: &Area, photo: &P) -> Result<P::Shown, ApiError> {
    let mut photo = photo.clone();
    for flag in photo.file_mut().flags.iter_mut() {
        let Flag::Reused { problem_id, point, .. } = flag else { continue };
        let holder = match (*problem_id, point.as_ref()) {
            (Some(id), _) => Holder::Problem(id),
            (None, Some(code)) => Holder::Point(code.clone()),
            (None, None) => continue,
        };
        if !sees_holder(ctx, area, &holder).await? {
            (*problem_id, *point) = (None, None);
        }
    }
    let links = PhotoLinks::of(photo.file());
    Ok(photo.shown(links))
}

/// May a caller with `area` see the case or assessment point a photo belongs to?
pub(super) async fn sees_holder(ctx: &ApiContext, area: &Area, holder: &Holder) -> Result<bool, ApiError> {
    Ok(match holder {
        Holder::Problem(id) => ctx.store.problem(*id).await?.is_some_and(|p| area.sees_problem(&p)),
        Holder::Point(code) => ctx.store.point(code.clone()).await?.is_some_and(|p| area.sees_point(&p)),
    })
}

/// Each photo of a list as `area` may see it.
pub(super) async fn photos_to<P: Showable>(
    ctx: &ApiContext,
    area: &Area,
    photos: &[P],
) -> Result<Vec<P::Shown>, ApiError> {
    let mut shown = Vec::with_capacity(photos.len());
    for photo in photos {
        shown.push(photo_to(ctx, area, photo).await?);
    }
    Ok(shown)
}

/// Photos of cases and of points share their file.
pub trait HasFile {
    fn file(&self) -> &PhotoFile;
}
impl HasFile for Photo {
    fn file(&self) -> &PhotoFile {
        &self.file
    }
}
impl HasFile for PointPhoto {
    fn file(&self) -> &PhotoFile {
        &self.file
    }
}
