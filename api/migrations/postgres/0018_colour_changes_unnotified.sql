-- A colour change alone (the escalation pass; the case's version stays) is told on its own
-- channel, gridwatch_colours, by the leader. Telling it as a changed case too made every node's
-- map read the case again for nothing: 800,000 times on a big city's first pass.
CREATE OR REPLACE FUNCTION gridwatch_notify_problem() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.version = NEW.version THEN
        RETURN NULL;
    END IF;
    PERFORM pg_notify('gridwatch_problems', NEW.id::text);
    RETURN NULL;
END
$$;
