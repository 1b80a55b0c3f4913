-- The map tiles poll max(updated_at) of the assessment points (Store::layer_fingerprint);
-- an index answers it without reading the table.
CREATE INDEX assessment_points_updated ON assessment_points (updated_at);
