//! The SQL that differs between PostGIS and SQLite, side by side. Everything else in the store
//! is one text for both: PostGIS keeps geometry in `geometry` columns with GiST indexes, SQLite
//! keeps WKB blobs with bounding-box columns (exact spatial tests happen in `spatial` for both).

use super::db::{sql, Sql};
use geo::BoundingRect;
use spatial::wkb::multipolygon_to_wkb;
use spatial::Grid;
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    Postgres,
    Sqlite,
}

impl Dialect {
    /// "postgis" or "sqlite", as `gridwatch` reports its backend.
    pub(super) fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgis",
            Dialect::Sqlite => "sqlite",
        }
    }

    /// Parameter `$n`, given as WKB, as a geometry.
    pub(super) fn geometry(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("ST_GeomFromWKB(${n}, 4326)"),
            Dialect::Sqlite => format!("${n}"),
        }
    }

    /// The `geom` column as WKB.
    pub(super) fn wkb(self) -> &'static str {
        match self {
            Dialect::Postgres => "ST_AsBinary(geom)",
            Dialect::Sqlite => "geom",
        }
    }

    /// The `n`th parameter of a statement whose parameters are bound in order of appearance:
    /// SQLite looks `$N` names up one by one, which is quadratic in a statement of thousands.
    pub(super) fn positional(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite => "?".into(),
        }
    }

    /// [`Dialect::positional`] for a WKB parameter.
    pub(super) fn positional_geometry(self, n: usize) -> String {
        match self {
            Dialect::Postgres => self.geometry(n),
            Dialect::Sqlite => "?".into(),
        }
    }

    /// A case's position as `lon, lat` columns.
    pub(super) fn case_position(self) -> &'static str {
        match self {
            Dialect::Postgres => "ST_X(geom) AS lon, ST_Y(geom) AS lat",
            Dialect::Sqlite => "lon, lat",
        }
    }

    /// The columns a new case's position is written to, and its values from `$1` (lon) and `$2` (lat).
    pub(super) fn case_position_insert(self) -> (&'static str, &'static str) {
        match self {
            Dialect::Postgres => ("geom", "ST_SetSRID(ST_MakePoint($1, $2), 4326)"),
            Dialect::Sqlite => ("lon, lat", "$1, $2"),
        }
    }

    /// Cases inside the box `$first` … `$first+3` (min lon, min lat, max lon, max lat).
    pub(super) fn case_in_box(self, first: usize) -> String {
        let [a, b, c, d] = [first, first + 1, first + 2, first + 3];
        match self {
            Dialect::Postgres => format!("geom && ST_MakeEnvelope(${a}, ${b}, ${c}, ${d}, 4326)"),
            Dialect::Sqlite => format!("lon >= ${a} AND lat >= ${b} AND lon <= ${c} AND lat <= ${d}"),
        }
    }

    /// Grids whose bounding box meets the box `$first` … `$first+3`.
    pub(super) fn grid_meets_box(self, first: usize) -> String {
        let [a, b, c, d] = [first, first + 1, first + 2, first + 3];
        match self {
            Dialect::Postgres => format!("geom && ST_MakeEnvelope(${a}, ${b}, ${c}, ${d}, 4326)"),
            Dialect::Sqlite => format!("max_lon >= ${a} AND min_lon <= ${c} AND max_lat >= ${b} AND min_lat <= ${d}"),
        }
    }

    /// The values of parameter `$n`, a JSON array of texts, as a subquery for `IN (…)`.
    pub(super) fn json_list(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("SELECT jsonb_array_elements_text(${n}::jsonb)"),
            Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
        }
    }

    /// The values of parameter `$n`, a JSON array of integers, as a subquery for `IN (…)`.
    pub(super) fn json_ids(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("SELECT (jsonb_array_elements_text(${n}::jsonb))::bigint"),
            Dialect::Sqlite => format!("SELECT value FROM json_each(${n})"),
        }
    }

    /// A time column or parameter, comparable with `<` and `>=`. SQLite stores times as text
    /// with their offset, so it compares them as Julian days.
    pub(super) fn time(self, expr: &str) -> String {
        match self {
            Dialect::Postgres => expr.to_string(),
            Dialect::Sqlite => format!("julianday({expr})"),
        }
    }

    /// Nearest deadline first, cases without one last.
    pub(super) fn deadline_order(self) -> &'static str {
        match self {
            Dialect::Postgres => "deadline ASC NULLS LAST, id",
            Dialect::Sqlite => "deadline IS NULL, julianday(deadline), id",
        }
    }

    /// Cases of each probe's category in its box that are open, or closed (not merged) since the
    /// probe's `since` when it has one; at most 200 per probe on PostGIS (see `Store::near`).
    /// `$1` is the probes as a JSON array of `{i, x0, y0, x1, y1, cat, since}`.
    pub(super) fn near(self) -> &'static str {
        match self {
            Dialect::Postgres => {
                "SELECT q.i::bigint AS i, p.id, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.grid_code, \
                 p.responsible_unit, p.reported_by, p.status, p.closed_at, p.recurrence_root \
                 FROM jsonb_to_recordset($1::jsonb) AS q(i int, x0 float8, y0 float8, x1 float8, y1 float8, cat text, since text) \
                 CROSS JOIN LATERAL (SELECT id, geom, grid_code, responsible_unit, reported_by, status, closed_at, \
                   recurrence_root FROM problems \
                   WHERE geom && ST_MakeEnvelope(q.x0, q.y0, q.x1, q.y1, 4326) AND category = q.cat \
                   AND (status NOT IN ('closed', 'void') OR (q.since IS NOT NULL AND status = 'closed' \
                     AND merged_into IS NULL AND closed_at >= q.since::timestamptz)) \
                   ORDER BY id LIMIT 200) p"
            }
            Dialect::Sqlite => {
                // Materialised: otherwise each case compared re-reads the probe's JSON.
                "WITH q AS MATERIALIZED (SELECT json_extract(value, '$.i') AS i, json_extract(value, '$.x0') AS x0, \
                 json_extract(value, '$.y0') AS y0, json_extract(value, '$.x1') AS x1, json_extract(value, '$.y1') AS y1, \
                 json_extract(value, '$.cat') AS cat, julianday(json_extract(value, '$.since')) AS since FROM json_each($1)) \
                 SELECT q.i AS i, p.id, p.lon, p.lat, p.grid_code, p.responsible_unit, p.reported_by, p.status, \
                 p.closed_at, p.recurrence_root FROM q JOIN problems p \
                 ON p.lon >= q.x0 AND p.lon <= q.x1 AND p.lat >= q.y0 AND p.lat <= q.y1 AND p.category = q.cat \
                 AND (p.status NOT IN ('closed', 'void') OR (q.since IS NOT NULL AND p.status = 'closed' \
                   AND p.merged_into IS NULL AND julianday(p.closed_at) >= q.since)) \
                 ORDER BY q.i, p.id"
            }
        }
    }

    /// The map layers' marks (see `Store::layer_marks`), as `last_case`, `last_event`, `points`.
    pub(super) fn layer_marks(self) -> &'static str {
        match self {
            Dialect::Postgres => {
                "SELECT (SELECT coalesce(max(id), 0) FROM problems) AS last_case, \
                 (SELECT coalesce(max(id), 0) FROM problem_events) AS last_event, \
                 concat_ws(':', (SELECT count(*) FROM assessment_points), \
                 (SELECT max(updated_at)::text FROM assessment_points)) AS points"
            }
            Dialect::Sqlite => {
                "SELECT (SELECT coalesce(max(id), 0) FROM problems) AS last_case, \
                 (SELECT coalesce(max(id), 0) FROM problem_events) AS last_event, \
                 (SELECT count(*) FROM assessment_points) || ':' || \
                 (SELECT coalesce(max(updated_at), '') FROM assessment_points) AS points"
            }
        }
    }

    /// What serialises grid imports, so that two cannot both open version N+1 (SQLite's
    /// `BEGIN IMMEDIATE` already does).
    pub(super) fn lock_grids(self) -> Option<&'static str> {
        match self {
            Dialect::Postgres => Some("LOCK TABLE grids IN SHARE ROW EXCLUSIVE MODE"),
            Dialect::Sqlite => None,
        }
    }

    /// Rows a write transaction reads to claim them: PostgreSQL locks them and skips those another
    /// node holds; SQLite's `BEGIN IMMEDIATE` already lets one writer in at a time.
    pub(super) fn for_update(self) -> &'static str {
        match self {
            Dialect::Postgres => "FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        }
    }

    /// Inserts one version of a grid: SQLite also keeps its bounding box.
    pub(super) fn insert_grid<'g>(
        self,
        grid: &'g Grid,
        version: i32,
        level: Option<&'static str>,
        now: OffsetDateTime,
    ) -> Sql<'g> {
        let columns = "code, version, name, parent_code, level, lead_department, responsible_unit, officer";
        let statement = match self {
            Dialect::Postgres => sql(format!(
                "INSERT INTO grids ({columns}, valid_from, geom) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ST_GeomFromWKB($10, 4326))"
            )),
            Dialect::Sqlite => sql(format!(
                "INSERT INTO grids ({columns}, valid_from, geom, min_lon, min_lat, max_lon, max_lat) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )),
        };
        let statement = statement
            .bind(&grid.code)
            .bind(version)
            .bind(&grid.name)
            .bind(&grid.parent_code)
            .bind(level)
            .bind(&grid.lead_department)
            .bind(&grid.responsible_unit)
            .bind(&grid.officer)
            .bind(now)
            .bind(multipolygon_to_wkb(&grid.geometry));
        match self {
            Dialect::Postgres => statement,
            Dialect::Sqlite => {
                let (min, max) = grid.geometry.bounding_rect().map(|r| (r.min(), r.max())).unwrap_or_default();
                statement.bind(min.x).bind(min.y).bind(max.x).bind(max.y)
            }
        }
    }
}
