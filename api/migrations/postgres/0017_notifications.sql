-- Several API nodes on one database hear of every change at its commit (LISTEN/NOTIFY), whoever
-- made it (another node, an import): a case stored or changed (its id), the grid or catalogue
-- revision moved, assessment points written.
CREATE FUNCTION gridwatch_notify_problem() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridwatch_problems', NEW.id::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER problems_notify AFTER INSERT OR UPDATE ON problems
    FOR EACH ROW EXECUTE FUNCTION gridwatch_notify_problem();

CREATE FUNCTION gridwatch_notify_table() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('gridwatch_' || TG_ARGV[0], '');
    RETURN NULL;
END
$$;

CREATE TRIGGER revisions_notify AFTER INSERT OR UPDATE ON revisions
    FOR EACH STATEMENT EXECUTE FUNCTION gridwatch_notify_table('revisions');

CREATE TRIGGER points_notify AFTER INSERT OR UPDATE OR DELETE ON assessment_points
    FOR EACH STATEMENT EXECUTE FUNCTION gridwatch_notify_table('layers');
