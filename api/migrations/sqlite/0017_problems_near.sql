-- Intake looks for open cases of the same category near each report (likely duplicates). By
-- longitude alone that read a strip across the whole city: 20,000 cases a report at a million
-- cases, capping intake near 100 reports a second. The category first narrows it to its own.
CREATE INDEX problems_category_lon_lat ON problems (category, lon, lat);
