//! Storage: one trait, two implementations (PostGIS for production, embedded SQLite as the
//! zero-setup default). Both run the same test-suite.

/// Applies an import inside the open transaction `tx`. The SQL is the same on both backends
/// except for reading and inserting geometry, so the calling module supplies `GRID_COLUMNS` and
/// `insert_grid`. A macro, because sqlx's executor types differ per backend.
macro_rules! apply_import {
    ($tx:ident, $grids:expr, $now:expr, $actor:expr) => {{
        let rows = sqlx::query(&format!("SELECT {GRID_COLUMNS} FROM grids WHERE valid_to IS NULL"))
            .fetch_all(&mut *$tx)
            .await?;
        let current = rows.iter().map(|r| r.grid_row()?.into_stored()).collect::<Result<Vec<_>, StoreError>>()?;
        let (steps, summary) = $crate::store::plan_import($grids, &current);
        for step in steps {
            match step {
                $crate::store::ImportStep::Create(grid) => insert_grid(&mut $tx, grid, 1, $now).await?,
                $crate::store::ImportStep::NewVersion { grid, previous } => {
                    sqlx::query("UPDATE grids SET valid_to = $3 WHERE code = $1 AND version = $2")
                        .bind(&grid.code)
                        .bind(previous)
                        .bind($now)
                        .execute(&mut *$tx)
                        .await?;
                    insert_grid(&mut $tx, grid, previous + 1, $now).await?;
                }
                $crate::store::ImportStep::UpdateAttributes { grid, version } => {
                    sqlx::query(
                        "UPDATE grids SET name = $3, parent_code = $4, level = $5, lead_department = $6, \
                         responsible_unit = $7, officer = $8 WHERE code = $1 AND version = $2",
                    )
                    .bind(&grid.code)
                    .bind(version)
                    .bind(&grid.name)
                    .bind(&grid.parent_code)
                    .bind($crate::store::level_text(grid))
                    .bind(&grid.lead_department)
                    .bind(&grid.responsible_unit)
                    .bind(&grid.officer)
                    .execute(&mut *$tx)
                    .await?;
                }
                $crate::store::ImportStep::Unchanged => {}
            }
        }
        if summary.created + summary.new_versions + summary.updated > 0 {
            sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'grids'").execute(&mut *$tx).await?;
        }
        audit_row!($tx, $now, $actor, "grids.import", "grids", serde_json::json!(summary));
        summary
    }};
}

/// Appends one audit entry inside the open transaction `tx`.
macro_rules! audit_row {
    ($tx:ident, $at:expr, $actor:expr, $action:expr, $object:expr, $details:expr) => {
        sqlx::query($crate::store::INSERT_AUDIT)
            .bind($at)
            .bind(&$actor.name)
            .bind(&$actor.remote)
            .bind($action)
            .bind($object)
            .bind($details.to_string())
            .execute(&mut *$tx)
            .await?;
    };
}

/// Binds a `NewProblem` to the backend's `INSERT_PROBLEM` parameters (whose first two are lon
/// and lat), in their order.
macro_rules! bind_new_problem {
    ($q:expr, $p:expr) => {{
        let p = $p;
        $q.bind(p.lon)
            .bind(p.lat)
            .bind(&p.category)
            .bind(&p.description)
            .bind(p.source.as_str())
            .bind(&p.grid_code)
            .bind(p.grid_version)
            .bind(&p.responsible_unit)
            .bind($crate::store::candidates_json(p))
            .bind(p.status.as_str())
            .bind(p.created_at)
            .bind(&p.reported_by)
            .bind(p.class.as_ref().map(|c| c.category_name.clone()))
            .bind(p.class.as_ref().map(|c| c.kind.as_str()))
            .bind(p.class.as_ref().map(|c| c.department.clone()))
            .bind(p.class.as_ref().map_or("none", |c| c.severity.as_str()))
            .bind(p.class.as_ref().map(|c| c.time_limit as i32))
            .bind(p.class.as_ref().map(|c| c.limit_unit.as_str()))
            .bind(p.class.as_ref().map_or("none", |c| c.severity.as_str()))
            .bind(serde_json::to_string(&p.nearby).unwrap_or_else(|_| "[]".into()))
            .bind(serde_json::to_string(&p.likely_duplicates).unwrap_or_else(|_| "[]".into()))
            .bind(p.origin.as_ref().map(|o| o.assessment_point.clone()))
            .bind(p.origin.as_ref().map(|o| o.criterion.clone()))
    }};
}

/// The audit entry of a new case.
fn created_details(p: &NewProblem) -> serde_json::Value {
    serde_json::json!({"grid_code": p.grid_code, "source": p.source})
}

/// Inserts problems inside the open transaction `tx` with the backend's `INSERT … RETURNING id`
/// (whose first two parameters are lon and lat), audits each, and returns their ids in order.
macro_rules! insert_problem_rows {
    ($tx:ident, $problems:expr, $sql:expr, $actor:expr) => {{
        let mut ids = Vec::with_capacity($problems.len());
        for p in $problems {
            let id: i64 = bind_new_problem!(sqlx::query_scalar($sql), p).fetch_one(&mut *$tx).await?;
            audit_row!(
                $tx,
                p.created_at,
                $actor,
                "problem.create",
                format!("problem/{id}"),
                $crate::store::created_details(p)
            );
            ids.push(id);
        }
        ids
    }};
}

/// The single-row `INSERT … VALUES (…) [RETURNING …]` statement `one`, made to insert `rows`
/// rows in one statement: the placeholders of row `i` are shifted by `i` times their count.
pub(crate) fn many_rows(one: &str, rows: usize) -> String {
    let start = one.find(" VALUES ").map_or(one.len(), |i| i + " VALUES ".len());
    let (head, rest) = one.split_at(start);
    let end = rest.find(") RETURNING").map_or(rest.len(), |i| i + 1);
    let (tuple, tail) = rest.split_at(end);
    let bytes = tuple.as_bytes();
    let params = bytes.windows(2).filter(|w| w[0] == b'$' && w[1].is_ascii_digit()).count();
    let mut sql = String::from(head);
    for row in 0..rows {
        if row > 0 {
            sql.push_str(", ");
        }
        let mut chars = tuple.chars().peekable();
        while let Some(c) = chars.next() {
            sql.push(c);
            if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
                continue;
            }
            let mut n = 0usize;
            while let Some(d) = chars.next_if(char::is_ascii_digit) {
                n = n * 10 + (d as usize - '0' as usize);
            }
            sql.push_str(&(n + row * params).to_string());
        }
    }
    sql.push_str(tail);
    sql
}

/// One audit entry (`audit_row!`; `many_rows` multiplies it for a batch).
pub(crate) const INSERT_AUDIT: &str =
    "INSERT INTO audit_log (at, actor, remote, action, object, details) VALUES ($1, $2, $3, $4, $5, $6)";
/// One idempotency key, as `many_rows` multiplies it.
pub(crate) const INSERT_KEY: &str =
    "INSERT INTO idempotency_keys (user_id, key, problem_id, created_at) VALUES ($1, $2, $3, $4)";

/// The problem an idempotency key already names, if any (inside a write transaction).
macro_rules! keyed_problem {
    ($tx:ident, $user_id:expr, $key:expr) => {{
        let id: Option<i64> =
            sqlx::query_scalar("SELECT problem_id FROM idempotency_keys WHERE user_id = $1 AND key = $2")
                .bind($user_id)
                .bind($key)
                .fetch_optional(&mut *$tx)
                .await?;
        id
    }};
}

/// Records that an idempotency key names a new problem.
macro_rules! remember_key {
    ($tx:ident, $user_id:expr, $key:expr, $id:expr, $at:expr) => {
        sqlx::query("INSERT INTO idempotency_keys (user_id, key, problem_id, created_at) VALUES ($1, $2, $3, $4)")
            .bind($user_id)
            .bind($key)
            .bind($id)
            .bind($at)
            .execute(&mut *$tx)
            .await?
    };
}

/// `Store::insert_problems_once`, the same on both backends given the calling module's
/// `INSERT_PROBLEM`, `PROBLEM_COLUMNS` and `begin_write`: every report in one transaction, and
/// the new ones in one statement each for cases, audit entries and keys, so that concurrent
/// reports share one commit and a handful of round trips (group commit).
macro_rules! insert_problems_once_body {
    ($self:ident, $batch:expr) => {{
        let batch: Vec<$crate::store::KeyedProblem> = $batch;
        let mut tx = $self.begin_write().await?;
        // Replays: a key stored before, or repeated earlier in this batch.
        let mut replayed: Vec<Option<Problem>> = Vec::with_capacity(batch.len());
        let mut repeats: Vec<Option<usize>> = vec![None; batch.len()];
        let mut first_with: std::collections::HashMap<(i64, &str), usize> = std::collections::HashMap::new();
        for (i, report) in batch.iter().enumerate() {
            let mut earlier = None;
            if let Some((user_id, key)) = &report.idempotency {
                if let Some(id) = keyed_problem!(tx, user_id, key) {
                    let row = sqlx::query(&format!("SELECT {PROBLEM_COLUMNS} FROM problems WHERE id = $1"))
                        .bind(id)
                        .fetch_one(&mut *tx)
                        .await?;
                    earlier = Some(row.problem_row()?.into_problem()?);
                } else if let Some(&j) = first_with.get(&(*user_id, key.as_str())) {
                    repeats[i] = Some(j);
                } else {
                    first_with.insert((*user_id, key.as_str()), i);
                }
            }
            replayed.push(earlier);
        }
        let fresh: Vec<usize> = (0..batch.len()).filter(|&i| replayed[i].is_none() && repeats[i].is_none()).collect();
        let mut ids = std::collections::HashMap::with_capacity(fresh.len());
        if !fresh.is_empty() {
            let sql = $crate::store::many_rows(INSERT_PROBLEM, fresh.len());
            let mut insert = sqlx::query_scalar(&sql);
            for &i in &fresh {
                insert = bind_new_problem!(insert, &batch[i].problem);
            }
            let mut new_ids: Vec<i64> = insert.fetch_all(&mut *tx).await?;
            // Ids are drawn in the order the rows are inserted, which is the VALUES order.
            new_ids.sort_unstable();
            ids.extend(fresh.iter().copied().zip(new_ids));
            let sql = $crate::store::many_rows($crate::store::INSERT_AUDIT, fresh.len());
            let mut audit = sqlx::query(&sql);
            for &i in &fresh {
                let (report, id) = (&batch[i], ids[&i]);
                audit = audit
                    .bind(report.problem.created_at)
                    .bind(&report.actor.name)
                    .bind(&report.actor.remote)
                    .bind("problem.create")
                    .bind(format!("problem/{id}"))
                    .bind($crate::store::created_details(&report.problem).to_string());
            }
            audit.execute(&mut *tx).await?;
            let keyed: Vec<usize> = fresh.iter().copied().filter(|&i| batch[i].idempotency.is_some()).collect();
            if !keyed.is_empty() {
                let sql = $crate::store::many_rows($crate::store::INSERT_KEY, keyed.len());
                let mut remember = sqlx::query(&sql);
                for &i in &keyed {
                    if let Some((user_id, key)) = &batch[i].idempotency {
                        remember = remember.bind(*user_id).bind(key).bind(ids[&i]).bind(batch[i].problem.created_at);
                    }
                }
                remember.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        drop(first_with);
        let mut stored: Vec<(Problem, bool)> = Vec::with_capacity(batch.len());
        for (i, (report, earlier)) in batch.into_iter().zip(replayed).enumerate() {
            let answer = match (earlier, repeats[i]) {
                (Some(p), _) => (p, true),
                (None, Some(j)) => (stored[j].0.clone(), true),
                (None, None) => (Problem::from_new(ids[&i], report.problem), false),
            };
            stored.push(answer);
        }
        Ok(stored)
    }};
}

/// `Store::open_near` given the backend's `OPEN_NEAR` query, whose one parameter is the probes
/// as a JSON array of `{i, x0, y0, x1, y1, cat}` and which selects `i` and `Near`'s columns.
macro_rules! open_near_body {
    ($self:ident, $probes:expr) => {{
        let probes: Vec<$crate::store::NearProbe> = $probes;
        let mut found: Vec<Vec<$crate::store::Near>> = vec![Vec::new(); probes.len()];
        if probes.is_empty() {
            return Ok(found);
        }
        let json: Vec<serde_json::Value> = probes
            .iter()
            .enumerate()
            .map(|(i, p)| {
                serde_json::json!({"i": i, "x0": p.bbox.min_lon, "y0": p.bbox.min_lat, "x1": p.bbox.max_lon,
                    "y1": p.bbox.max_lat, "cat": p.category})
            })
            .collect();
        let rows = sqlx::query(OPEN_NEAR).bind(serde_json::Value::Array(json).to_string()).fetch_all(&$self.pool).await?;
        for r in &rows {
            use sqlx::Row;
            let i: i64 = r.try_get("i")?;
            if let Some(slot) = usize::try_from(i).ok().and_then(|i| found.get_mut(i)) {
                slot.push($crate::store::Near {
                    id: r.try_get("id")?,
                    lon: r.try_get("lon")?,
                    lat: r.try_get("lat")?,
                    grid_code: r.try_get("grid_code")?,
                    responsible_unit: r.try_get("responsible_unit")?,
                    reported_by: r.try_get("reported_by")?,
                });
            }
        }
        Ok(found)
    }};
}

/// Idempotency keys of imported backlogs live under this user id, which no account has.
pub const IMPORT_KEY_OWNER: i64 = 0;

/// The body of `Store::import_problems`, the same SQL on both backends.
macro_rules! import_problems_body {
    ($self:ident, $problems:expr, $actor:expr, $dry_run:expr) => {{
        let problems: Vec<(Option<String>, NewProblem)> = $problems;
        let mut tx = $self.begin_write().await?;
        let (mut created, mut unchanged) = (0, 0);
        for (code, problem) in &problems {
            let key = code.as_ref().map(|c| format!("import:{c}"));
            if let Some(key) = &key {
                if keyed_problem!(tx, $crate::store::IMPORT_KEY_OWNER, key).is_some() {
                    unchanged += 1;
                    continue;
                }
            }
            let ids = insert_problem_rows!(tx, std::slice::from_ref(problem), INSERT_PROBLEM, &$actor);
            created += 1;
            if let Some(key) = key {
                remember_key!(tx, $crate::store::IMPORT_KEY_OWNER, key, ids[0], problem.created_at);
            }
        }
        if $dry_run {
            tx.rollback().await?;
        } else {
            tx.commit().await?;
        }
        Ok((created, unchanged))
    }};
}

/// Users, tokens and the audit log: no geometry, so the same SQL serves both backends. Expands
/// inside `impl Store for …` of a type with `begin_write()` and `pool`.
macro_rules! account_methods {
    () => {
        fn create_user(
            &self,
            user: $crate::store::NewUser,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<$crate::domain::auth::User, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let scope = serde_json::to_string(&user.scope).unwrap_or_else(|_| "[]".into());
                let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                    "INSERT INTO users (name, role, scope, unit, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(&user.name)
                .bind(user.role.as_str())
                .bind(&scope)
                .bind(&user.unit)
                .bind(now)
                .fetch_one(&mut *tx)
                .await;
                let id = match inserted {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(StoreError::Conflict(format!("a user named {:?} exists already", user.name)));
                    }
                    other => other?,
                };
                audit_row!(
                    tx,
                    now,
                    actor,
                    "user.add",
                    format!("user/{}", user.name),
                    serde_json::json!({"role": user.role, "scope": user.scope, "unit": user.unit})
                );
                tx.commit().await?;
                Ok($crate::domain::auth::User {
                    id,
                    name: user.name,
                    role: user.role,
                    scope: user.scope,
                    unit: user.unit,
                    created_at: now,
                    revoked_at: None,
                })
            })
        }

        fn users(&self) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::auth::User>, StoreError>> {
            Box::pin(async move {
                let rows = sqlx::query("SELECT id, name, role, scope, unit, created_at, revoked_at FROM users ORDER BY name")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|r| {
                        use sqlx::Row;
                        Ok($crate::domain::auth::User {
                            id: r.try_get("id")?,
                            name: r.try_get("name")?,
                            role: $crate::store::parse_role(r.try_get("role")?)?,
                            scope: $crate::store::parse_scope(r.try_get("scope")?)?,
                            unit: r.try_get("unit")?,
                            created_at: r.try_get("created_at")?,
                            revoked_at: r.try_get("revoked_at")?,
                        })
                    })
                    .collect()
            })
        }

        fn revoke_user(
            &self,
            name: String,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE users SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL")
                    .bind(&name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                if done {
                    sqlx::query(
                        "UPDATE tokens SET revoked_at = $2 WHERE revoked_at IS NULL \
                         AND user_id = (SELECT id FROM users WHERE name = $1)",
                    )
                    .bind(&name)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    audit_row!(tx, now, actor, "user.revoke", format!("user/{name}"), serde_json::json!({}));
                }
                tx.commit().await?;
                Ok(done)
            })
        }

        fn create_token(
            &self,
            user: String,
            hash: String,
            label: Option<String>,
            expires_at: Option<OffsetDateTime>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<Option<$crate::store::TokenInfo>, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let user_id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1 AND revoked_at IS NULL")
                    .bind(&user)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(user_id) = user_id else { return Ok(None) };
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO tokens (user_id, hash, label, created_at, expires_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
                )
                .bind(user_id)
                .bind(&hash)
                .bind(&label)
                .bind(now)
                .bind(expires_at)
                .fetch_one(&mut *tx)
                .await?;
                audit_row!(
                    tx,
                    now,
                    actor,
                    "token.create",
                    format!("token/{id}"),
                    serde_json::json!({"user": user, "label": label})
                );
                tx.commit().await?;
                Ok(Some($crate::store::TokenInfo { id, user, label, expires_at }))
            })
        }

        fn revoke_token(
            &self,
            id: i64,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let done = sqlx::query("UPDATE tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
                    .bind(id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected()
                    > 0;
                if done {
                    audit_row!(tx, now, actor, "token.revoke", format!("token/{id}"), serde_json::json!({}));
                }
                tx.commit().await?;
                Ok(done)
            })
        }

        fn principal(
            &self,
            hash: String,
            now: OffsetDateTime,
        ) -> $crate::store::BoxFuture<'_, Result<Option<$crate::domain::auth::Principal>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                let row = sqlx::query(
                    "SELECT u.id, u.name, u.role, u.scope, u.unit, t.expires_at FROM tokens t \
                     JOIN users u ON u.id = t.user_id \
                     WHERE t.hash = $1 AND t.revoked_at IS NULL AND u.revoked_at IS NULL",
                )
                .bind(&hash)
                .fetch_optional(&self.pool)
                .await?;
                let Some(r) = row else { return Ok(None) };
                let expires_at: Option<OffsetDateTime> = r.try_get("expires_at")?;
                if expires_at.is_some_and(|e| e <= now) {
                    return Ok(None);
                }
                Ok(Some($crate::domain::auth::Principal {
                    user_id: r.try_get("id")?,
                    name: r.try_get("name")?,
                    role: $crate::store::parse_role(r.try_get("role")?)?,
                    scope: $crate::store::parse_scope(r.try_get("scope")?)?,
                    unit: r.try_get("unit")?,
                }))
            })
        }

        fn audit_log(&self, limit: i64) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::store::AuditEntry>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT id, at, actor, remote, action, object, details FROM audit_log ORDER BY id DESC LIMIT $1",
                )
                .bind(limit)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let details: String = r.try_get("details")?;
                        Ok($crate::store::AuditEntry {
                            id: r.try_get("id")?,
                            at: $crate::store::utc(r.try_get("at")?),
                            actor: r.try_get("actor")?,
                            remote: r.try_get("remote")?,
                            action: r.try_get("action")?,
                            object: r.try_get("object")?,
                            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
                        })
                    })
                    .collect()
            })
        }
    };
}

/// Catalogue and case changes: no geometry, so the same SQL serves both backends. Expands inside
/// `impl Store for …` of a type with `begin_write()` and `pool`.
macro_rules! workflow_methods {
    () => {
        fn categories(
            &self,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::domain::workflow::catalogue::Category>, StoreError>> {
            Box::pin(async move {
                use sqlx::Row;
                let rows = sqlx::query(
                    "SELECT code, kind, name_zh, name_en, department, time_limit, limit_unit, severity \
                     FROM categories ORDER BY code",
                )
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let bad = |e: String| StoreError::Corrupt(format!("category: {e}"));
                        let time_limit: i32 = r.try_get("time_limit")?;
                        Ok($crate::domain::workflow::catalogue::Category {
                            code: r.try_get("code")?,
                            kind: $crate::domain::workflow::catalogue::Kind::parse(r.try_get("kind")?).map_err(bad)?,
                            name_zh: r.try_get("name_zh")?,
                            name_en: r.try_get("name_en")?,
                            department: r.try_get("department")?,
                            time_limit: time_limit.max(0) as u32,
                            limit_unit: $crate::domain::workflow::calendar::LimitUnit::parse(r.try_get("limit_unit")?)
                                .map_err(bad)?,
                            severity: $crate::domain::workflow::colour::Colour::parse(r.try_get("severity")?).map_err(bad)?,
                        })
                    })
                    .collect()
            })
        }

        fn category_revision(&self) -> $crate::store::BoxFuture<'_, Result<i64, StoreError>> {
            Box::pin(async move {
                Ok(sqlx::query_scalar("SELECT value FROM revisions WHERE name = 'categories'").fetch_one(&self.pool).await?)
            })
        }

        fn replace_categories(
            &self,
            categories: Vec<$crate::domain::workflow::catalogue::Category>,
            now: OffsetDateTime,
            actor: $crate::domain::auth::Actor,
        ) -> $crate::store::BoxFuture<'_, Result<usize, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                sqlx::query("DELETE FROM categories").execute(&mut *tx).await?;
                for c in &categories {
                    sqlx::query(
                        "INSERT INTO categories (code, kind, name_zh, name_en, department, time_limit, limit_unit, severity) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    )
                    .bind(&c.code)
                    .bind(c.kind.as_str())
                    .bind(&c.name_zh)
                    .bind(&c.name_en)
                    .bind(&c.department)
                    .bind(c.time_limit as i32)
                    .bind(c.limit_unit.as_str())
                    .bind(c.severity.as_str())
                    .execute(&mut *tx)
                    .await?;
                }
                sqlx::query("UPDATE revisions SET value = value + 1 WHERE name = 'categories'").execute(&mut *tx).await?;
                audit_row!(
                    tx,
                    now,
                    actor,
                    "categories.replace",
                    "categories",
                    serde_json::json!({"count": categories.len()})
                );
                tx.commit().await?;
                Ok(categories.len())
            })
        }

        fn update_case(
            &self,
            problem: $crate::domain::problem::Problem,
            from_status: $crate::domain::workflow::state::State,
            event: $crate::store::NewEvent,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let extension = problem.case.extension_requested.as_ref().map(|e| serde_json::json!(e).to_string());
                let changed = sqlx::query(
                    "UPDATE problems SET status = $2, responsible_unit = $3, dispatched_at = $4, deadline = $5, \
                     reworks = $6, extension_requested = $7, closed_at = $8, colour = $10, merged_into = $11, \
                     grid_code = $12, grid_version = $13, version = version + 1 \
                     WHERE id = $1 AND status = $9 AND version = $14",
                )
                .bind(problem.id)
                .bind(problem.status.as_str())
                .bind(&problem.responsible_unit)
                .bind(problem.case.dispatched_at)
                .bind(problem.case.deadline)
                .bind(problem.case.reworks as i32)
                .bind(extension)
                .bind(problem.case.closed_at)
                .bind(from_status.as_str())
                .bind(problem.colour.as_str())
                .bind(problem.case.merged_into)
                .bind(&problem.grid_code)
                .bind(problem.grid_version)
                .bind(problem.version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed == 0 {
                    return Ok(false); // someone moved the case first; the transaction rolls back
                }
                sqlx::query(
                    "INSERT INTO problem_events (problem_id, at, actor, role, action, from_state, to_state, note, \
                     photo_url, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(problem.id)
                .bind(event.at)
                .bind(&event.actor)
                .bind(&event.role)
                .bind(&event.action)
                .bind(from_status.as_str())
                .bind(problem.status.as_str())
                .bind(&event.note)
                .bind(&event.photo_url)
                .bind(event.details.to_string())
                .execute(&mut *tx)
                .await?;
                if let Some(audit) = &event.audit {
                    let actor = $crate::domain::auth::Actor { name: event.actor.clone(), remote: audit.remote.clone() };
                    audit_row!(tx, event.at, actor, audit.action, format!("problem/{}", problem.id), audit.details);
                }
                tx.commit().await?;
                Ok(true)
            })
        }

        fn record_colour(
            &self,
            id: i64,
            status: $crate::domain::workflow::state::State,
            from: $crate::domain::workflow::colour::Colour,
            to: $crate::domain::workflow::colour::Colour,
            at: OffsetDateTime,
        ) -> $crate::store::BoxFuture<'_, Result<bool, StoreError>> {
            Box::pin(async move {
                let mut tx = self.begin_write().await?;
                let changed = sqlx::query("UPDATE problems SET colour = $2 WHERE id = $1 AND colour = $3 AND status = $4")
                    .bind(id)
                    .bind(to.as_str())
                    .bind(from.as_str())
                    .bind(status.as_str())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed == 0 {
                    return Ok(false);
                }
                sqlx::query(
                    "INSERT INTO problem_events (problem_id, at, actor, role, action, from_state, to_state, details) \
                     VALUES ($1, $2, 'system', 'system', 'escalate', $3, $3, $4)",
                )
                .bind(id)
                .bind(at)
                .bind(status.as_str())
                .bind(serde_json::json!({"from_colour": from, "to_colour": to}).to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(true)
            })
        }

        fn problem_events(
            &self,
            id: i64,
        ) -> $crate::store::BoxFuture<'_, Result<Vec<$crate::store::ProblemEvent>, StoreError>> {
            Box::pin(async move {
                let rows = sqlx::query(
                    "SELECT id, problem_id, at, actor, role, action, from_state, to_state, note, photo_url, details \
                     FROM problem_events WHERE problem_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter().map($crate::store::event_from_row).collect()
            })
        }
    };
}

/// Binds a [`ProblemQuery`]'s filters as $1…$16 in the order both backends' SQL expects.
macro_rules! bind_problem_query {
    ($query:expr, $q:expr) => {{
        let b = $q.bbox.unwrap_or(BBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 });
        $query
            .bind(b.min_lon)
            .bind(b.min_lat)
            .bind(b.max_lon)
            .bind(b.max_lat)
            .bind(crate::store::codes_json(&$q.area))
            .bind($q.area.unit.clone())
            .bind($q.area.reported_by.clone())
            .bind($crate::store::json_list(&$q.statuses))
            .bind($crate::store::json_list(&$q.colours))
            .bind($crate::store::json_list(&$q.grid_codes))
            .bind($q.unit.clone())
            .bind($q.department.clone())
            .bind($q.category.clone())
            .bind($q.source.clone())
            .bind($q.created_from)
            .bind($q.created_to)
            .bind($q.closed_from)
            .bind($q.closed_to)
    }};
}

/// Reading cases: the same code on both backends given the calling module's `PROBLEM_COLUMNS`,
/// `QUEUE_WHERE`, `ORDER_*`, `DISPATCHED_WHERE` and `EVENTS_OF_WHERE`.
macro_rules! read_methods {
    () => {
        fn query_problems<'a>(
            &'a self,
            q: &'a crate::store::ProblemQuery,
        ) -> crate::store::BoxFuture<'a, Result<(Vec<Problem>, i64), StoreError>> {
            Box::pin(async move {
            let order = match q.sort {
                crate::store::Sort::Oldest => ORDER_OLDEST,
                crate::store::Sort::Newest => ORDER_NEWEST,
                crate::store::Sort::Deadline => ORDER_DEADLINE,
            };
            let page = format!("SELECT {PROBLEM_COLUMNS} FROM problems {QUEUE_WHERE} ORDER BY {order} LIMIT $19 OFFSET $20");
            let rows = bind_problem_query!(sqlx::query(&page), q).bind(q.limit).bind(q.offset).fetch_all(&self.pool).await?;
            let count = format!("SELECT count(*) FROM problems {QUEUE_WHERE}");
            let total: i64 = bind_problem_query!(sqlx::query_scalar(&count), q).fetch_one(&self.pool).await?;
            let problems = rows.iter().map(|r| r.problem_row()?.into_problem()).collect::<Result<Vec<_>, _>>()?;
            Ok((problems, total))
            })
        }

        fn problems_page(
            &self,
            after: i64,
            limit: i64,
            which: crate::store::Which,
        ) -> crate::store::BoxFuture<'_, Result<Vec<Problem>, StoreError>> {
            Box::pin(async move {
            let (columns, open) = match which {
                crate::store::Which::Open => (PROBLEM_COLUMNS, "AND status NOT IN ('closed', 'void')"),
                crate::store::Which::OpenOnMap => (MAP_COLUMNS, "AND status NOT IN ('closed', 'void')"),
                crate::store::Which::AllOnMap => (MAP_COLUMNS, ""),
            };
            let sql = format!("SELECT {columns} FROM problems WHERE id > $1 {open} ORDER BY id LIMIT $2");
            let rows = sqlx::query(&sql).bind(after).bind(limit).fetch_all(&self.pool).await?;
            rows.iter().map(|r| r.problem_row()?.into_problem()).collect()
            })
        }

        fn dispatched_between<'a>(
            &'a self,
            from: OffsetDateTime,
            to: OffsetDateTime,
            area: &'a AreaFilter,
        ) -> crate::store::BoxFuture<'a, Result<Vec<Problem>, StoreError>> {
            Box::pin(async move {
            let sql =
                format!("SELECT {PROBLEM_COLUMNS} FROM problems WHERE dispatched_at IS NOT NULL AND {DISPATCHED_WHERE} ORDER BY id");
            let rows = sqlx::query(&sql)
                .bind(from)
                .bind(to)
                .bind(crate::store::codes_json(area))
                .bind(&area.unit)
                .bind(&area.reported_by)
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(|r| r.problem_row()?.into_problem()).collect()
            })
        }

        fn events_of<'a>(
            &'a self,
            ids: &'a [i64],
        ) -> crate::store::BoxFuture<'a, Result<Vec<crate::store::ProblemEvent>, StoreError>> {
            Box::pin(async move {
            let sql = format!(
                "SELECT id, problem_id, at, actor, role, action, from_state, to_state, note, photo_url, details \
                 FROM problem_events WHERE {EVENTS_OF_WHERE} ORDER BY problem_id, id"
            );
            let rows = sqlx::query(&sql)
                .bind(serde_json::to_string(ids).unwrap_or_else(|_| "[]".into()))
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(crate::store::event_from_row).collect()
            })
        }
    };
}

#[macro_use]
pub(crate) mod assessments;
#[macro_use]
pub(crate) mod patrols;
#[macro_use]
pub mod photos;
#[macro_use]
pub mod replies;
#[macro_use]
pub(crate) mod streets;
mod postgres;
mod sqlite;

use crate::domain::auth::{Actor, Principal, Role, User};
use crate::domain::problem::{NewProblem, Problem, Source};
use async_trait::async_trait;
use spatial::{Grid, GridLevel, MultiPolygon};
use std::borrow::Cow;
use std::collections::HashMap;

/// Where and what to look for open cases near a new report.
#[derive(Debug, Clone)]
pub struct NearProbe {
    pub bbox: BBox,
    pub category: String,
}

/// An open case found near a probe.
#[derive(Debug, Clone, PartialEq)]
pub struct Near {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub grid_code: Option<String>,
    pub responsible_unit: Option<String>,
    pub reported_by: Option<String>,
}

/// A report to store once per `(user id, idempotency key)`, on behalf of `actor`.
#[derive(Debug, Clone)]
pub struct KeyedProblem {
    pub problem: NewProblem,
    pub idempotency: Option<(i64, String)>,
    pub actor: Actor,
}

/// Which cases a walk over [`Store::problems_page`] visits, and how much of each it reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// Not closed or void, whole.
    Open,
    /// Not closed or void, as the map and the escalation pass need them: description,
    /// candidates, nearby grids, likely duplicates and extension request left empty.
    OpenOnMap,
    /// Every case, as the map needs it.
    AllOnMap,
}

/// Cases per page when walking all of them: big enough to amortise a query, small enough that a
/// page of whole `Problem`s stays a few megabytes.
pub const PAGE: i64 = 2_000;

/// Keyset paging (`WHERE key > after ORDER BY key LIMIT PAGE`): where the next page starts,
/// until a short page ends the walk.
pub struct Keyset<K> {
    after: Option<K>,
}

impl<K: Clone> Keyset<K> {
    pub fn new(start: K) -> Self {
        Self { after: Some(start) }
    }

    /// The key the next page starts after; `None` once the walk is over.
    pub fn next(&self) -> Option<K> {
        self.after.clone()
    }

    /// Records a fetched page.
    pub fn advance<T>(&mut self, page: &[T], key: impl Fn(&T) -> K) {
        self.after = page.last().filter(|_| page.len() as i64 == PAGE).map(key);
    }
}

/// Visits every assessment point, by code, one page in memory at a time.
pub async fn for_each_point(
    store: &dyn Store,
    mut visit: impl FnMut(crate::domain::patrol::StoredPoint),
) -> Result<(), StoreError> {
    let mut pages = Keyset::new(String::new());
    while let Some(after) = pages.next() {
        let page = store.points_page(after, PAGE).await?;
        pages.advance(&page, |p| p.code.clone());
        page.into_iter().for_each(&mut visit);
    }
    Ok(())
}

/// Visits every case `which` selects, by id, one page in memory at a time.
pub async fn for_each_problem(
    store: &dyn Store,
    which: Which,
    mut visit: impl FnMut(Problem),
) -> Result<(), StoreError> {
    let mut pages = Keyset::new(0);
    while let Some(after) = pages.next() {
        let page = store.problems_page(after, PAGE, which).await?;
        pages.advance(&page, |p| p.id);
        page.into_iter().for_each(&mut visit);
    }
    Ok(())
}
use std::sync::Arc;
use time::OffsetDateTime;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Conflict(String),
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://…")]
    UnsupportedUrl(String),
    /// The database was found away for a batch this request was part of (see `is_unavailable`).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// The database is down, restarting or unreachable (as opposed to refusing the request):
    /// the caller may retry, and nothing was stored.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Unavailable(_) => true,
            StoreError::Database(e) => match e {
                sqlx::Error::Io(_)
                | sqlx::Error::PoolTimedOut
                | sqlx::Error::PoolClosed
                | sqlx::Error::WorkerCrashed => true,
                sqlx::Error::Protocol(_) => true,
                // PostgreSQL: connection exceptions (08…) and operator intervention (57P…: shutting down, starting up).
                sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
                _ => false,
            },
            _ => false,
        }
    }
}

pub use crate::domain::grids::StoredGrid;

/// A longitude/latitude box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    pub min_lon: f64,
    pub min_lat: f64,
    pub max_lon: f64,
    pub max_lat: f64,
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// Codes seen for the first time.
    pub created: usize,
    /// Codes whose boundary changed: old version closed, new version opened.
    pub new_versions: usize,
    /// Codes whose attributes changed but not their boundary (updated in place).
    pub updated: usize,
    pub unchanged: usize,
}

pub use crate::domain::access::AreaFilter;

/// An area's grid codes as a JSON array: both backends take a list parameter that way.
pub(crate) fn codes_json(filter: &AreaFilter) -> Option<String> {
    filter.grid_codes.as_ref().map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into()))
}

/// How a queue is ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    /// Oldest first (creation order).
    #[default]
    Oldest,
    Newest,
    /// Nearest deadline first; cases without one last.
    Deadline,
}

impl Sort {
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "created_at" | "id" => Ok(Self::Oldest),
            "-created_at" | "-id" => Ok(Self::Newest),
            "deadline" => Ok(Self::Deadline),
            other => Err(format!("unknown sort {other:?}: use created_at, -created_at or deadline")),
        }
    }
}

/// A dispatcher's queue: filters (all optional, combined with AND), order and page.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProblemQuery {
    pub area: AreaFilter,
    pub bbox: Option<BBox>,
    pub statuses: Option<Vec<String>>,
    pub colours: Option<Vec<String>>,
    /// A grid and everything below it.
    pub grid_codes: Option<Vec<String>>,
    pub unit: Option<String>,
    pub department: Option<String>,
    pub category: Option<String>,
    pub source: Option<String>,
    pub created_from: Option<OffsetDateTime>,
    pub created_to: Option<OffsetDateTime>,
    /// Closed in [closed_from, closed_to): the evidence archive's period.
    pub closed_from: Option<OffsetDateTime>,
    pub closed_to: Option<OffsetDateTime>,
    pub sort: Sort,
    pub limit: i64,
    pub offset: i64,
}

pub(crate) fn json_list(list: &Option<Vec<String>>) -> Option<String> {
    list.as_ref().map(|l| serde_json::to_string(l).unwrap_or_else(|_| "[]".into()))
}

/// A user to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    pub name: String,
    pub role: Role,
    pub scope: Vec<String>,
    pub unit: Option<String>,
}

/// A stored token, without its secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TokenInfo {
    pub id: i64,
    pub user: String,
    pub label: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
}

/// One line of the append-only audit log.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub remote: String,
    pub action: String,
    pub object: String,
    pub details: serde_json::Value,
}

pub use crate::domain::problem::ProblemEvent;

/// A step to record with a case change.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub at: OffsetDateTime,
    pub actor: String,
    pub role: String,
    pub action: String,
    pub note: Option<String>,
    pub photo_url: Option<String>,
    pub details: serde_json::Value,
    /// An audit-log entry to write with the step, in the same transaction.
    pub audit: Option<StepAudit>,
}

/// An audit-log entry about a case step (its actor and time are the step's).
#[derive(Debug, Clone, PartialEq)]
pub struct StepAudit {
    pub action: &'static str,
    pub remote: String,
    pub details: serde_json::Value,
}

/// The whole globe, for queries without a bounding box.
pub const WORLD: BBox = BBox { min_lon: -180.0, min_lat: -90.0, max_lon: 180.0, max_lat: 90.0 };

pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

#[async_trait]
pub trait Store: Send + Sync {
    /// "postgis" or "sqlite".
    fn backend(&self) -> &'static str;

    /// Upserts grids by code in one transaction (with its audit entry): all or nothing. With
    /// `dry_run` the transaction is rolled back: the summary says what would change.
    async fn import_grids(
        &self,
        grids: &[Grid],
        now: OffsetDateTime,
        actor: &Actor,
        dry_run: bool,
    ) -> Result<ImportSummary, StoreError>;

    /// The current version of every grid.
    async fn current_grids(&self) -> Result<Vec<StoredGrid>, StoreError>;

    /// Every version of one grid, oldest first.
    async fn grid_versions(&self, code: &str) -> Result<Vec<StoredGrid>, StoreError>;

    /// Grids whose bounding box meets `bbox` (all when `None`), optionally of one level, within
    /// `area`, by code, at most `limit`: the current versions, or those valid at `as_of`.
    async fn grids_in_bbox(
        &self,
        bbox: Option<BBox>,
        level: Option<GridLevel>,
        as_of: Option<OffsetDateTime>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<StoredGrid>, StoreError>;

    /// A number that changes whenever grids change (to know when to rebuild the index).
    async fn grid_revision(&self) -> Result<i64, StoreError>;

    /// Changes whenever a problem or an assessment point does (new ids, new case events, point
    /// count and last update): the map tiles rebuild their in-memory layers when it moves.
    async fn layer_fingerprint(&self) -> Result<String, StoreError>;

    /// A number that changes whenever the catalogue is replaced.
    fn category_revision(&self) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Stores problems in one transaction (with their audit entries) and returns them with ids.
    async fn insert_problems(&self, problems: Vec<NewProblem>, actor: &Actor) -> Result<Vec<Problem>, StoreError>;

    /// Stores a backlog of problems in one transaction. A problem whose code was imported before
    /// is left as it is: returns (created, imported before). With `dry_run` nothing is kept.
    async fn import_problems(
        &self,
        problems: Vec<(Option<String>, NewProblem)>,
        actor: Actor,
        dry_run: bool,
    ) -> Result<(usize, usize), StoreError>;

    /// Stores reports in one transaction, each once per `(user id, idempotency key)`: a repeated
    /// key returns the problem stored the first time and `true`. All or nothing.
    async fn insert_problems_once(&self, batch: Vec<KeyedProblem>) -> Result<Vec<(Problem, bool)>, StoreError>;

    /// For each probe, the open cases of its category inside its box (at most 100 each, by id):
    /// the candidates a batch of new reports may duplicate, found in one query.
    async fn open_near(&self, probes: Vec<NearProbe>) -> Result<Vec<Vec<Near>>, StoreError>;

    /// [`Store::insert_problems_once`] for one report.
    async fn insert_problem_once(
        &self,
        problem: NewProblem,
        idempotency: Option<(i64, String)>,
        actor: &Actor,
    ) -> Result<(Problem, bool), StoreError> {
        let batch = vec![KeyedProblem { problem, idempotency, actor: actor.clone() }];
        let mut stored = self.insert_problems_once(batch).await?;
        stored.pop().ok_or_else(|| StoreError::Corrupt("a stored report went missing".into()))
    }

    async fn problem(&self, id: i64) -> Result<Option<Problem>, StoreError>;

    /// Problems inside `bbox` (all when `None`) within `area`, by id, at most `limit`.
    async fn problems_in_bbox(
        &self,
        bbox: Option<BBox>,
        area: &AreaFilter,
        limit: i64,
    ) -> Result<Vec<Problem>, StoreError>;

    async fn count_problems(&self) -> Result<i64, StoreError>;

    /// Up to `limit` cases with ids above `after`, by id: a city's million cases are walked
    /// page by page (see [`for_each_problem`]), never held whole.
    fn problems_page(&self, after: i64, limit: i64, which: Which) -> BoxFuture<'_, Result<Vec<Problem>, StoreError>>;

    /// Cases (last) dispatched in `[from, to)` within `area`: what a period's indicators count.
    fn dispatched_between<'a>(
        &'a self,
        from: OffsetDateTime,
        to: OffsetDateTime,
        area: &'a AreaFilter,
    ) -> BoxFuture<'a, Result<Vec<Problem>, StoreError>>;

    /// The steps of many cases at once, by case and time.
    fn events_of<'a>(&'a self, ids: &'a [i64]) -> BoxFuture<'a, Result<Vec<ProblemEvent>, StoreError>>;

    /// Creates or updates assessment points by code as their batches arrive, in one
    /// transaction, counting what changed. It commits only on [`PointBatch::Commit`] and
    /// without `dry_run`; otherwise nothing is kept.
    ///
    /// [`PointBatch::Commit`]: crate::domain::patrol::PointBatch::Commit
    fn upsert_point_batches(
        &self,
        batches: tokio::sync::mpsc::Receiver<crate::domain::patrol::PointBatch>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<crate::domain::patrol::UpsertSummary, StoreError>>;

    /// Creates or updates assessment points by code (all or nothing), counting what changed;
    /// with `dry_run` nothing is kept.
    fn upsert_points(
        &self,
        points: Vec<crate::domain::patrol::StoredPoint>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<crate::domain::patrol::UpsertSummary, StoreError>> {
        use crate::domain::patrol::PointBatch;
        let (sender, batches) = tokio::sync::mpsc::channel(2);
        // A fresh channel of two has room for both messages.
        let _ = sender.try_send(PointBatch::Points(points));
        let _ = sender.try_send(PointBatch::Commit);
        self.upsert_point_batches(batches, now, actor, dry_run)
    }

    /// Assessment points whose bounding box meets `bbox` (all without one), by code.
    fn points(&self, bbox: Option<BBox>) -> BoxFuture<'_, Result<Vec<crate::domain::patrol::StoredPoint>, StoreError>>;

    /// Up to `limit` points with codes after `after`, by code (see [`for_each_point`]).
    fn points_page(
        &self,
        after: String,
        limit: i64,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::patrol::StoredPoint>, StoreError>>;

    /// One assessment point by code.
    fn point(&self, code: String) -> BoxFuture<'_, Result<Option<crate::domain::patrol::StoredPoint>, StoreError>>;

    fn delete_point(&self, code: String, now: OffsetDateTime, actor: Actor) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores planned routes in one transaction: replacing route `replace` (keeping its id;
    /// nothing happens and no id returns when it does not exist), or, with `replace_days`,
    /// every earlier route of the same officer and weekday (a re-import).
    fn save_routes(
        &self,
        replace: Option<i64>,
        routes: Vec<spatial::patrol::PlannedRoute>,
        replace_days: bool,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Vec<i64>, StoreError>>;

    fn routes(&self) -> BoxFuture<'_, Result<Vec<crate::domain::patrol::StoredRoute>, StoreError>>;

    fn delete_route(&self, id: i64, now: OffsetDateTime, actor: Actor) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores one batch of an officer's cleaned, time-sorted fixes.
    fn insert_track(
        &self,
        officer: String,
        fixes: Vec<spatial::track::RawFix>,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Track batches with fixes in [from, to) (Unix seconds), of one officer or all.
    fn track_chunks(
        &self,
        from: i64,
        to: i64,
        officer: Option<String>,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::patrol::TrackChunk>, StoreError>>;

    /// Stores an inspection and the problems its failed criteria open, in one transaction.
    fn insert_inspection(
        &self,
        inspection: crate::domain::patrol::Inspection,
        problems: Vec<(String, NewProblem)>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<(crate::domain::patrol::Inspection, Vec<Problem>), StoreError>>;

    /// Inspections in [from, to) (Unix seconds), oldest first.
    fn inspections(
        &self,
        from: i64,
        to: i64,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::patrol::Inspection>, StoreError>>;

    /// One page of a queue and how many problems match in all.
    fn query_problems<'a>(&'a self, query: &'a ProblemQuery) -> BoxFuture<'a, Result<(Vec<Problem>, i64), StoreError>>;

    // Accounts and audit: the same SQL on both backends (see `account_methods!`).

    /// Creates a user; a taken name is a [`StoreError::Conflict`].
    fn create_user(&self, user: NewUser, now: OffsetDateTime, actor: Actor) -> BoxFuture<'_, Result<User, StoreError>>;

    fn users(&self) -> BoxFuture<'_, Result<Vec<User>, StoreError>>;

    /// Revokes a user and with it every token; false when there is no such active user.
    fn revoke_user(&self, name: String, now: OffsetDateTime, actor: Actor) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores a token hash for an active user; `None` when there is no such user.
    fn create_token(
        &self,
        user: String,
        hash: String,
        label: Option<String>,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Option<TokenInfo>, StoreError>>;

    fn revoke_token(&self, id: i64, now: OffsetDateTime, actor: Actor) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// The caller behind a token hash, if the token and its user are valid at `now`.
    fn principal(&self, hash: String, now: OffsetDateTime) -> BoxFuture<'_, Result<Option<Principal>, StoreError>>;

    /// The newest audit entries, newest first.
    fn audit_log(&self, limit: i64) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>>;

    // The case workflow (see `workflow_methods!`).

    /// The category catalogue, by code.
    fn categories(&self) -> BoxFuture<'_, Result<Vec<crate::domain::workflow::catalogue::Category>, StoreError>>;

    /// Replaces the whole catalogue in one transaction.
    fn replace_categories(
        &self,
        categories: Vec<crate::domain::workflow::catalogue::Category>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<usize, StoreError>>;

    /// Writes a case's new state and records the step, only if the case is still in
    /// `from_status` at `problem.version`, the version it was read at (false otherwise: someone
    /// changed it first). The stored version is then one more.
    fn update_case(
        &self,
        problem: Problem,
        from_status: crate::domain::workflow::state::State,
        event: NewEvent,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Stores a colour change of a case still in `status` and records it as an `escalate` step;
    /// false when the case moved or changed colour meanwhile.
    fn record_colour(
        &self,
        id: i64,
        status: crate::domain::workflow::state::State,
        from: crate::domain::workflow::colour::Colour,
        to: crate::domain::workflow::colour::Colour,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;

    /// Every recorded step of a case, oldest first.
    fn problem_events(&self, id: i64) -> BoxFuture<'_, Result<Vec<ProblemEvent>, StoreError>>;

    // Photo evidence (see `photo_methods!`).

    /// Attaches a photo to a case; the same file on the same case again returns the first and
    /// `true`.
    fn add_photo(
        &self,
        photo: photos::NewPhoto,
        actor: Actor,
    ) -> BoxFuture<'_, Result<(photos::Photo, bool), StoreError>>;

    fn photos_of(&self, problem_id: i64) -> BoxFuture<'_, Result<Vec<photos::Photo>, StoreError>>;

    /// Photos on other cases that may be this one: the same SHA-256, or any with a dHash (the
    /// caller compares them).
    fn photo_matches(
        &self,
        sha256: String,
        other_than: crate::domain::evidence::checks::Holder,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::evidence::checks::Seen>, StoreError>>;

    /// The cases and points a file is a photo of, with its kind.
    fn photo_holders(
        &self,
        sha256: String,
    ) -> BoxFuture<'_, Result<Vec<(crate::domain::evidence::checks::Holder, crate::domain::evidence::Media)>, StoreError>>;

    /// Attaches a photo to an assessment point (and criterion); the same file on the same point
    /// and criterion again returns the first and `true`.
    fn add_point_photo(
        &self,
        photo: photos::NewPointPhoto,
        actor: Actor,
    ) -> BoxFuture<'_, Result<(photos::PointPhoto, bool), StoreError>>;

    /// The flagged photos of cases and of points uploaded in [from, to) (Unix seconds), newest
    /// first, at most `limit` of each.
    fn flagged_photos(
        &self,
        from_unix: i64,
        to_unix: i64,
        limit: i64,
    ) -> BoxFuture<'_, Result<photos::Flagged, StoreError>>;

    /// The point an inspection was made at, if it exists.
    fn inspection_point(&self, id: i64) -> BoxFuture<'_, Result<Option<String>, StoreError>>;

    /// Point photos uploaded in [from, to) (Unix seconds), of one point or all.
    fn point_photos(
        &self,
        point_code: Option<String>,
        from_unix: i64,
        to_unix: i64,
    ) -> BoxFuture<'_, Result<Vec<photos::PointPhoto>, StoreError>>;

    // Kept answers to Idempotency-Keys (see `reply_methods!`).

    /// The answer kept for a caller's key, if any.
    fn reply(&self, user_id: i64, key: String) -> BoxFuture<'_, Result<Option<replies::Reply>, StoreError>>;

    /// Keeps the first answer to a key (a second is ignored) and forgets week-old ones.
    fn keep_reply(
        &self,
        user_id: i64,
        key: String,
        reply: replies::Reply,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, Result<(), StoreError>>;

    // The street network (see `street_methods!`).

    /// Replaces the whole street network in one transaction; with `dry_run` nothing is kept.
    fn replace_streets(
        &self,
        streets: Vec<spatial::streets::Street>,
        now: OffsetDateTime,
        actor: Actor,
        dry_run: bool,
    ) -> BoxFuture<'_, Result<usize, StoreError>>;

    fn streets(&self) -> BoxFuture<'_, Result<Vec<spatial::streets::Street>, StoreError>>;

    /// Changes whenever the street network is replaced.
    fn street_revision(&self) -> BoxFuture<'_, Result<i64, StoreError>>;

    // Mock assessments (see `assessment_methods!`).

    /// Stores a drawn mock assessment with its points and checklists; returns its id.
    fn create_assessment(
        &self,
        spec: crate::domain::assessment::Spec,
        items: Vec<crate::domain::assessment::Item>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Every mock assessment with its points and scores (or only `id`), oldest first.
    fn assessments(
        &self,
        id: Option<i64>,
    ) -> BoxFuture<'_, Result<Vec<crate::domain::assessment::Assessment>, StoreError>>;

    /// Records scores (checked by `assessment::check_scores`) in one transaction, replacing
    /// earlier scores of the same criteria; false, and nothing kept, when a point is not drawn.
    fn record_scores(
        &self,
        id: i64,
        scores: Vec<crate::domain::assessment::Scored>,
        now: OffsetDateTime,
        actor: Actor,
    ) -> BoxFuture<'_, Result<bool, StoreError>>;
}

/// The database gridwatch uses when none is named: an embedded SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://gridwatch.db";

/// Opens (creating if needed) and migrates the database behind `url`.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    let store: Arc<dyn Store> = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Arc::new(PostgresStore::connect(url).await?)
    } else if url.starts_with("sqlite:") {
        Arc::new(SqliteStore::connect(url).await?)
    } else {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    };
    // A new database starts with the shipped catalogue; admins replace it with `import categories`.
    if store.categories().await?.is_empty() {
        let now = OffsetDateTime::now_utc();
        store.replace_categories(crate::domain::workflow::catalogue::default_catalogue(), now, Actor::system()).await?;
    }
    Ok(store)
}

/// One step of an import, decided by comparing a grid with its current stored version.
#[derive(Debug, PartialEq)]
pub(crate) enum ImportStep<'a> {
    Create(&'a Grid),
    NewVersion { grid: &'a Grid, previous: i32 },
    UpdateAttributes { grid: &'a Grid, version: i32 },
    Unchanged,
}

/// Decides what to do with each incoming grid. Pure, so both backends behave alike.
pub(crate) fn plan_import<'a>(incoming: &'a [Grid], current: &[StoredGrid]) -> (Vec<ImportStep<'a>>, ImportSummary) {
    let by_code: HashMap<&str, &StoredGrid> = current.iter().map(|s| (s.grid.code.as_str(), s)).collect();
    let mut summary = ImportSummary::default();
    let steps = incoming
        .iter()
        .map(|grid| match by_code.get(grid.code.as_str()) {
            None => {
                summary.created += 1;
                ImportStep::Create(grid)
            }
            Some(stored) if stored.grid.geometry != grid.geometry => {
                summary.new_versions += 1;
                ImportStep::NewVersion { grid, previous: stored.version }
            }
            Some(stored) if !stored.grid.same_attributes(grid) => {
                summary.updated += 1;
                ImportStep::UpdateAttributes { grid, version: stored.version }
            }
            Some(_) => {
                summary.unchanged += 1;
                ImportStep::Unchanged
            }
        })
        .collect();
    (steps, summary)
}

/// Migrations compiled into the binary, so it runs without its source tree.
#[derive(Debug)]
struct EmbeddedMigrations(&'static [(i64, &'static str, &'static str)]);

impl<'s> sqlx::migrate::MigrationSource<'s> for EmbeddedMigrations {
    fn resolve(
        self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<Vec<sqlx::migrate::Migration>, sqlx::error::BoxDynError>>
                + Send
                + 's,
        >,
    > {
        Box::pin(async move {
            Ok(self
                .0
                .iter()
                .map(|&(version, description, sql)| {
                    sqlx::migrate::Migration::new(
                        version,
                        Cow::Borrowed(description),
                        sqlx::migrate::MigrationType::Simple,
                        Cow::Borrowed(sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

async fn migrator(
    migrations: &'static [(i64, &'static str, &'static str)],
) -> Result<sqlx::migrate::Migrator, StoreError> {
    Ok(sqlx::migrate::Migrator::new(EmbeddedMigrations(migrations)).await?)
}

/// Row fields shared by both backends, decoded into domain types.
pub(crate) struct GridRow {
    pub code: String,
    pub version: i32,
    pub name: Option<String>,
    pub parent_code: Option<String>,
    pub level: Option<String>,
    pub lead_department: Option<String>,
    pub responsible_unit: Option<String>,
    pub officer: Option<String>,
    pub wkb: Vec<u8>,
    pub valid_from: OffsetDateTime,
    pub valid_to: Option<OffsetDateTime>,
}

impl GridRow {
    pub fn into_stored(self) -> Result<StoredGrid, StoreError> {
        let geometry: MultiPolygon<f64> = spatial::wkb::multipolygon_from_wkb(&self.wkb)
            .map_err(|e| StoreError::Corrupt(format!("grid {} geometry: {e}", self.code)))?;
        let level = match self.level {
            Some(l) => Some(l.parse::<GridLevel>().map_err(StoreError::Corrupt)?),
            None => None,
        };
        Ok(StoredGrid {
            grid: Grid {
                code: self.code,
                name: self.name,
                parent_code: self.parent_code,
                level,
                lead_department: self.lead_department,
                responsible_unit: self.responsible_unit,
                officer: self.officer,
                geometry,
            },
            version: self.version,
            valid_from: utc(self.valid_from),
            valid_to: self.valid_to.map(utc),
        })
    }
}

/// Problem row fields shared by both backends.
pub(crate) struct ProblemRow {
    pub id: i64,
    pub lon: f64,
    pub lat: f64,
    pub category: String,
    pub description: String,
    pub source: String,
    pub grid_code: Option<String>,
    pub grid_version: Option<i32>,
    pub responsible_unit: Option<String>,
    pub candidates: String,
    pub status: String,
    pub created_at: OffsetDateTime,
    pub reported_by: Option<String>,
    pub category_name: Option<String>,
    pub kind: Option<String>,
    pub department: Option<String>,
    pub severity: String,
    pub time_limit: Option<i32>,
    pub limit_unit: Option<String>,
    pub dispatched_at: Option<OffsetDateTime>,
    pub deadline: Option<OffsetDateTime>,
    pub reworks: i32,
    pub extension_requested: Option<String>,
    pub closed_at: Option<OffsetDateTime>,
    pub colour: String,
    pub nearby: String,
    pub likely_duplicates: String,
    pub merged_into: Option<i64>,
    pub point_code: Option<String>,
    pub criterion_id: Option<String>,
    pub version: i64,
}

impl ProblemRow {
    pub fn into_problem(self) -> Result<Problem, StoreError> {
        let source: Source = self.source.parse().map_err(StoreError::Corrupt)?;
        let candidates: Vec<String> = serde_json::from_str(&self.candidates)
            .map_err(|e| StoreError::Corrupt(format!("problem {} candidates: {e}", self.id)))?;
        let corrupt = |what: &str, e: String| StoreError::Corrupt(format!("problem {} {what}: {e}", self.id));
        let class = match (self.category_name, self.kind, self.department, self.time_limit, self.limit_unit) {
            (Some(category_name), Some(kind), Some(department), Some(time_limit), Some(limit_unit)) => {
                Some(crate::domain::problem::Class {
                    category_name,
                    kind: crate::domain::workflow::catalogue::Kind::parse(&kind).map_err(|e| corrupt("kind", e))?,
                    department,
                    severity: crate::domain::workflow::colour::Colour::parse(&self.severity)
                        .map_err(|e| corrupt("severity", e))?,
                    time_limit: time_limit.max(0) as u32,
                    limit_unit: crate::domain::workflow::calendar::LimitUnit::parse(&limit_unit)
                        .map_err(|e| corrupt("limit_unit", e))?,
                })
            }
            _ => None,
        };
        let extension_requested = match &self.extension_requested {
            Some(text) => Some(serde_json::from_str(text).map_err(|e| corrupt("extension", e.to_string()))?),
            None => None,
        };
        Ok(Problem {
            id: self.id,
            lon: self.lon,
            lat: self.lat,
            category: self.category,
            description: self.description,
            source,
            grid_code: self.grid_code,
            grid_version: self.grid_version,
            responsible_unit: self.responsible_unit,
            candidates,
            status: self.status.parse().map_err(|e| corrupt("status", e))?,
            created_at: utc(self.created_at),
            reported_by: self.reported_by,
            class,
            case: crate::domain::problem::Case {
                dispatched_at: self.dispatched_at.map(utc),
                deadline: self.deadline.map(utc),
                reworks: self.reworks.max(0) as u32,
                extension_requested,
                closed_at: self.closed_at.map(utc),
                merged_into: self.merged_into,
            },
            nearby: serde_json::from_str(&self.nearby).map_err(|e| corrupt("nearby", e.to_string()))?,
            likely_duplicates: serde_json::from_str(&self.likely_duplicates)
                .map_err(|e| corrupt("likely_duplicates", e.to_string()))?,
            colour: crate::domain::workflow::colour::Colour::parse(&self.colour).map_err(|e| corrupt("colour", e))?,
            origin: match (self.point_code, self.criterion_id) {
                (Some(assessment_point), Some(criterion)) => {
                    Some(crate::domain::problem::Origin { assessment_point, criterion })
                }
                _ => None,
            },
            version: self.version,
        })
    }
}

/// Every time leaves the store in UTC, whichever offset it was written with.
pub(crate) fn utc(t: OffsetDateTime) -> OffsetDateTime {
    t.to_offset(time::UtcOffset::UTC)
}

/// An event row (both backends select the same columns).
pub(crate) fn event_from_row<'r, R>(r: &'r R) -> Result<ProblemEvent, StoreError>
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let details: String = r.try_get("details")?;
    Ok(ProblemEvent {
        id: r.try_get("id")?,
        problem_id: r.try_get("problem_id")?,
        at: utc(r.try_get("at")?),
        actor: r.try_get("actor")?,
        role: r.try_get("role")?,
        action: r.try_get("action")?,
        from_state: r.try_get("from_state")?,
        to_state: r.try_get("to_state")?,
        note: r.try_get("note")?,
        photo_url: r.try_get("photo_url")?,
        details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
    })
}

pub(crate) fn parse_role(text: String) -> Result<Role, StoreError> {
    text.parse().map_err(StoreError::Corrupt)
}

pub(crate) fn parse_scope(text: String) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("user scope: {e}")))
}

pub(crate) fn candidates_json(p: &NewProblem) -> String {
    serde_json::to_string(&p.candidates).unwrap_or_else(|_| "[]".into())
}

/// Decoding rows by column name works the same on both backends.
pub(crate) trait RowExt<'r>: sqlx::Row {
    fn grid_row(&'r self) -> Result<GridRow, sqlx::Error>;
    fn problem_row(&'r self) -> Result<ProblemRow, sqlx::Error>;
}

impl<'r, R> RowExt<'r> for R
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i32: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Vec<u8>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    OffsetDateTime: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn grid_row(&'r self) -> Result<GridRow, sqlx::Error> {
        Ok(GridRow {
            code: self.try_get("code")?,
            version: self.try_get("version")?,
            name: self.try_get("name")?,
            parent_code: self.try_get("parent_code")?,
            level: self.try_get("level")?,
            lead_department: self.try_get("lead_department")?,
            responsible_unit: self.try_get("responsible_unit")?,
            officer: self.try_get("officer")?,
            wkb: self.try_get("wkb")?,
            valid_from: self.try_get("valid_from")?,
            valid_to: self.try_get("valid_to")?,
        })
    }

    fn problem_row(&'r self) -> Result<ProblemRow, sqlx::Error> {
        Ok(ProblemRow {
            id: self.try_get("id")?,
            lon: self.try_get("lon")?,
            lat: self.try_get("lat")?,
            category: self.try_get("category")?,
            description: self.try_get("description")?,
            source: self.try_get("source")?,
            grid_code: self.try_get("grid_code")?,
            grid_version: self.try_get("grid_version")?,
            responsible_unit: self.try_get("responsible_unit")?,
            candidates: self.try_get("candidates")?,
            status: self.try_get("status")?,
            created_at: self.try_get("created_at")?,
            reported_by: self.try_get("reported_by")?,
            category_name: self.try_get("category_name")?,
            kind: self.try_get("kind")?,
            department: self.try_get("department")?,
            severity: self.try_get("severity")?,
            time_limit: self.try_get("time_limit")?,
            limit_unit: self.try_get("limit_unit")?,
            dispatched_at: self.try_get("dispatched_at")?,
            deadline: self.try_get("deadline")?,
            reworks: self.try_get("reworks")?,
            extension_requested: self.try_get("extension_requested")?,
            closed_at: self.try_get("closed_at")?,
            colour: self.try_get("colour")?,
            nearby: self.try_get("nearby")?,
            likely_duplicates: self.try_get("likely_duplicates")?,
            merged_into: self.try_get("merged_into")?,
            point_code: self.try_get("point_code")?,
            criterion_id: self.try_get("criterion_id")?,
            version: self.try_get("version")?,
        })
    }
}

pub(crate) fn level_text(grid: &Grid) -> Option<&'static str> {
    grid.level.map(GridLevel::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn grid(code: &str, size: f64, name: &str) -> Grid {
        let mut g = Grid::new(
            code,
            MultiPolygon(vec![polygon![(x: 0., y: 0.), (x: size, y: 0.), (x: size, y: size), (x: 0., y: 0.)]]),
        );
        g.name = Some(name.into());
        g
    }

    #[test]
    fn many_rows_repeats_the_tuple_with_shifted_placeholders() {
        let one = "INSERT INTO t (g, a, b) VALUES (f($1, $2), $3, 'x$') RETURNING id";
        assert_eq!(
            many_rows(one, 3),
            "INSERT INTO t (g, a, b) VALUES (f($1, $2), $3, 'x$'), (f($4, $5), $6, 'x$'), (f($7, $8), $9, 'x$') RETURNING id"
        );
        assert_eq!(
            many_rows(INSERT_KEY, 2),
            INSERT_KEY.replace("($1, $2, $3, $4)", "($1, $2, $3, $4), ($5, $6, $7, $8)")
        );
        assert_eq!(many_rows(INSERT_AUDIT, 1), INSERT_AUDIT);
    }

    #[test]
    fn import_plan_distinguishes_new_geometry_attributes_and_nothing() {
        let stored =
            |g: Grid, version| StoredGrid { grid: g, version, valid_from: OffsetDateTime::UNIX_EPOCH, valid_to: None };
        let current = vec![stored(grid("A", 1., "a"), 1), stored(grid("B", 1., "b"), 3), stored(grid("C", 1., "c"), 1)];
        let incoming = vec![grid("A", 2., "a"), grid("B", 1., "b2"), grid("C", 1., "c"), grid("D", 1., "d")];
        let (steps, summary) = plan_import(&incoming, &current);
        assert_eq!(steps[0], ImportStep::NewVersion { grid: &incoming[0], previous: 1 });
        assert_eq!(steps[1], ImportStep::UpdateAttributes { grid: &incoming[1], version: 3 });
        assert_eq!(steps[2], ImportStep::Unchanged);
        assert_eq!(steps[3], ImportStep::Create(&incoming[3]));
        assert_eq!(summary, ImportSummary { created: 1, new_versions: 1, updated: 1, unchanged: 1 });
    }
}
