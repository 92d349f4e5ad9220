-- The civil-affairs grid (issue 9): city -> district -> street -> community (市-区-街道-社区).
-- Sites (homes, day-care centres, care homes) sit in a community; residents belong to the
-- community they live in; incidents are stamped with the resident's (or site's) node when they
-- open, so a resident who moves keeps their history and past reports do not change.
-- A user's scope may be any node: they see that node's subtree.

CREATE TABLE org_nodes (
    id         text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    parent_id  text REFERENCES org_nodes(id),
    level      text NOT NULL CHECK (level IN ('city', 'district', 'street', 'community')),
    name       text NOT NULL CHECK (name <> ''),
    code       text NOT NULL DEFAULT '',          -- the bureau's own code (行政区划代码), if any
    path       text[] NOT NULL,                   -- ids from the root down to this node, inclusive
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX org_nodes_path ON org_nodes USING gin (path);
CREATE INDEX org_nodes_parent ON org_nodes (parent_id);

-- The path is computed here, never by the application, and the level must be one below the
-- parent's. Re-parenting a node is refused: the grid is redrawn rarely, by a migration of its own,
-- and letting it happen through an UPDATE would silently re-scope every user under it.
CREATE FUNCTION org_nodes_place() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent org_nodes%ROWTYPE;
    below  text;
BEGIN
    IF TG_OP = 'UPDATE' AND (NEW.parent_id IS DISTINCT FROM OLD.parent_id OR NEW.id <> OLD.id
                             OR NEW.level <> OLD.level) THEN
        RAISE EXCEPTION 'an org node cannot be moved, renumbered or change level (node %)', OLD.id;
    END IF;
    IF NEW.parent_id IS NULL THEN
        IF NEW.level <> 'city' THEN
            RAISE EXCEPTION 'only a city may be a root (node % is a %)', NEW.id, NEW.level;
        END IF;
        NEW.path := ARRAY[NEW.id];
        RETURN NEW;
    END IF;
    SELECT * INTO parent FROM org_nodes WHERE id = NEW.parent_id;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no parent node %', NEW.parent_id;
    END IF;
    below := CASE parent.level WHEN 'city' THEN 'district' WHEN 'district' THEN 'street'
                               WHEN 'street' THEN 'community' END;
    IF below IS NULL OR NEW.level <> below THEN
        RAISE EXCEPTION 'a % cannot be placed under a % (node %)', NEW.level, parent.level, NEW.id;
    END IF;
    NEW.path := parent.path || NEW.id;
    RETURN NEW;
END $$;
CREATE TRIGGER org_nodes_place BEFORE INSERT OR UPDATE ON org_nodes
    FOR EACH ROW EXECUTE FUNCTION org_nodes_place();

CREATE FUNCTION org_community(node text) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF node IS NOT NULL AND NOT EXISTS (SELECT 1 FROM org_nodes WHERE id = node
                                                              AND level = 'community') THEN
        RAISE EXCEPTION 'node % is not a community', node;
    END IF;
    RETURN node;
END $$;

-- Sites sit in a community (NULL: not yet placed; only whole-centre users see them).
ALTER TABLE sites ADD COLUMN node_id text REFERENCES org_nodes(id);
CREATE INDEX sites_node ON sites (node_id);
CREATE FUNCTION sites_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.node_id := org_community(NEW.node_id);
    RETURN NEW;
END $$;
CREATE TRIGGER sites_place BEFORE INSERT OR UPDATE OF node_id ON sites
    FOR EACH ROW EXECUTE FUNCTION sites_place();

-- The resident register: care setting (the 9064 model), need categories and the health record.
ALTER TABLE residents
    ADD COLUMN node_id      text REFERENCES org_nodes(id),
    ADD COLUMN care_setting text CHECK (care_setting IN ('home', 'day_care', 'care_home')),
    ADD COLUMN needs        text[] NOT NULL DEFAULT '{}' CHECK (needs <@ ARRAY[
        'high_age', 'empty_nest', 'living_alone', 'disabled', 'partly_disabled', 'low_income',
        'five_guarantee']::text[]),
    ADD COLUMN allergies    text[] NOT NULL DEFAULT '{}',
    ADD COLUMN blood_type   text NOT NULL DEFAULT '' CHECK (blood_type IN
        ('', 'A', 'B', 'AB', 'O', 'A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')),
    ADD COLUMN doctor       text NOT NULL DEFAULT '',
    ADD COLUMN doctor_phone text NOT NULL DEFAULT '';
CREATE INDEX residents_node ON residents (node_id);

-- Unless given, a resident's node is their site's and their care setting follows the site's kind.
CREATE FUNCTION residents_place() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    site sites%ROWTYPE;
BEGIN
    SELECT * INTO site FROM sites WHERE id = NEW.site_id;
    IF NOT FOUND THEN  -- say so as the foreign key would, before NOT NULL speaks of care_setting
        RAISE foreign_key_violation USING MESSAGE = format('no site %s', NEW.site_id),
            DETAIL = format('Key (site_id)=(%s) is not present in table "sites".', NEW.site_id);
    END IF;
    IF TG_OP = 'INSERT' OR NEW.site_id IS DISTINCT FROM OLD.site_id THEN
        IF NEW.node_id IS NULL OR (TG_OP = 'UPDATE' AND NEW.node_id IS NOT DISTINCT FROM OLD.node_id)
        THEN
            NEW.node_id := site.node_id;
        END IF;
    END IF;
    NEW.node_id := org_community(NEW.node_id);
    IF NEW.care_setting IS NULL THEN
        NEW.care_setting := site.kind;
    END IF;
    RETURN NEW;
END $$;
UPDATE residents r SET care_setting = s.kind FROM sites s WHERE s.id = r.site_id;
ALTER TABLE residents ALTER COLUMN care_setting SET NOT NULL;
CREATE TRIGGER residents_place BEFORE INSERT OR UPDATE OF site_id, node_id, care_setting
    ON residents FOR EACH ROW EXECUTE FUNCTION residents_place();

-- Every move between nodes or sites is kept, whoever made it: history stays with the resident
-- (alarms, incidents, readings and tickets point at the resident, not at the node).
CREATE TABLE resident_moves (
    id          bigserial PRIMARY KEY,
    resident_id text NOT NULL REFERENCES residents(id),
    at          timestamptz NOT NULL DEFAULT now(),
    from_node   text REFERENCES org_nodes(id),
    to_node     text REFERENCES org_nodes(id),
    from_site   text NOT NULL REFERENCES sites(id),
    to_site     text NOT NULL REFERENCES sites(id),
    actor       text NOT NULL DEFAULT '',
    reason      text NOT NULL DEFAULT ''
);
CREATE INDEX resident_moves_resident ON resident_moves (resident_id, at);
CREATE FUNCTION residents_moved() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO resident_moves (resident_id, from_node, to_node, from_site, to_site, actor, reason)
    VALUES (NEW.id, OLD.node_id, NEW.node_id, OLD.site_id, NEW.site_id,
            coalesce(current_setting('eldercare.actor', true), ''),
            coalesce(current_setting('eldercare.reason', true), ''));
    RETURN NEW;
END $$;
CREATE TRIGGER residents_moved AFTER UPDATE OF site_id, node_id ON residents
    FOR EACH ROW WHEN (NEW.node_id IS DISTINCT FROM OLD.node_id OR NEW.site_id <> OLD.site_id)
    EXECUTE FUNCTION residents_moved();

-- An incident belongs to the node its resident (or site) was in when it opened.
ALTER TABLE incidents ADD COLUMN node_id text REFERENCES org_nodes(id);
CREATE INDEX incidents_node ON incidents (node_id, opened_at);
CREATE FUNCTION incidents_place() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.node_id IS NULL THEN
        NEW.node_id := coalesce((SELECT node_id FROM residents WHERE id = NEW.resident_id),
                                (SELECT node_id FROM sites WHERE id = NEW.site_id));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER incidents_place BEFORE INSERT ON incidents
    FOR EACH ROW EXECUTE FUNCTION incidents_place();

-- Users: a scope node, and the civil-affairs roles. Bureau staff (民政局) read reports and the
-- register within their node; grid staff (街道/社区工作人员) also log calls, enter check-ups and
-- follow service tickets; provider staff see only their own organisation's tickets.
ALTER TABLE users ADD COLUMN scope_node text REFERENCES org_nodes(id);
ALTER TABLE users DROP CONSTRAINT users_role_check;
ALTER TABLE users ADD CONSTRAINT users_role_check CHECK (role IN
    ('operator', 'supervisor', 'care_staff', 'family', 'admin', 'bureau', 'grid_staff', 'provider'));
ALTER TABLE users ADD CONSTRAINT users_node_scoped CHECK (
    role NOT IN ('bureau', 'grid_staff') OR scope_node IS NOT NULL);
