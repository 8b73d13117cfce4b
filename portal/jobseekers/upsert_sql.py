"""The PostgreSQL path of jobseeker_upsert_batch (portal/jobseekers/services.py): the staging
and plan tables, and the four rules of that module's docstring as set-based statements."""

PG_SETUP = """
CREATE TEMP TABLE IF NOT EXISTS jobseeker_upsert_stage (
    idx integer NOT NULL,
    number varchar(14) NOT NULL,
    name varchar(100) NOT NULL,
    name_kana varchar(100) NOT NULL,
    email varchar(100) NOT NULL,
    birth_date date NOT NULL,
    office varchar(100) NOT NULL,
    language varchar(8) NOT NULL
);
CREATE TEMP TABLE IF NOT EXISTS jobseeker_upsert_plan (
    idx integer NOT NULL,
    number varchar(14) NOT NULL,
    name varchar(100) NOT NULL,
    name_kana varchar(100) NOT NULL,
    email varchar(100) NOT NULL,
    birth_date date NOT NULL,
    office varchar(100) NOT NULL,
    language varchar(8) NOT NULL,
    js_id bigint,
    action text NOT NULL,
    reason text,
    other varchar(14),
    changed text[]
);
TRUNCATE jobseeker_upsert_stage, jobseeker_upsert_plan;
-- A batch is small next to the register: look each row up by index rather than hash the
-- whole table (the planner's statistics lag behind a large import).
SET LOCAL enable_hashjoin = off;
SET LOCAL enable_mergejoin = off;
"""

# Lock the rows this batch may change (those that differ from the file) before deciding.
PG_LOCK = """
SELECT count(*) FROM (
    SELECT js.id FROM jobseekers_jobseeker js
    JOIN jobseeker_upsert_stage st ON st.number = js.number
    WHERE (js.name, js.name_kana, lower(js.email), js.birth_date, js.office, js.language)
          IS DISTINCT FROM (st.name, st.name_kana, lower(st.email), st.birth_date, st.office,
                            COALESCE(NULLIF(st.language, ''), js.language))
    ORDER BY js.id
    FOR UPDATE OF js
) locked
"""

# The four rules of portal/jobseekers/services.py's docstring, in order, as one statement.
PG_DECIDE = """
INSERT INTO jobseeker_upsert_plan
    (idx, number, name, name_kana, email, birth_date, office, language, js_id, action, reason,
     other, changed)
WITH facts AS (
    SELECT st.*, lower(st.email) AS email_key,
           row_number() OVER (PARTITION BY st.number ORDER BY st.idx) AS number_rank,
           js.id AS js_id, js.status, holder.number AS holder,
           CASE WHEN js.id IS NOT NULL THEN array_remove(ARRAY[
               CASE WHEN js.name <> st.name THEN 'name' END,
               CASE WHEN js.name_kana <> st.name_kana THEN 'name_kana' END,
               CASE WHEN lower(js.email) <> lower(st.email) THEN 'email' END,
               CASE WHEN js.birth_date <> st.birth_date THEN 'birth_date' END,
               CASE WHEN js.office <> st.office THEN 'office' END,
               CASE WHEN st.language <> '' AND js.language <> st.language THEN 'language' END
           ], NULL) END AS changed
    FROM jobseeker_upsert_stage st
    LEFT JOIN jobseekers_jobseeker js ON js.number = st.number
    LEFT JOIN jobseekers_jobseeker holder
           ON lower(holder.email) = lower(st.email) AND holder.number <> st.number
), checked AS (
    SELECT facts.*, CASE
        WHEN number_rank > 1 THEN 'duplicate_number'
        WHEN holder IS NOT NULL THEN 'email_taken'
        WHEN js_id IS NOT NULL AND 'email' = ANY(changed) AND status <> 'pending'
            THEN 'email_locked'
    END AS early_reason
    FROM facts
), claimed AS (
    SELECT checked.*,
           row_number() OVER claim AS email_rank,
           first_value(number) OVER claim AS claimant
    FROM checked
    WINDOW claim AS (PARTITION BY email_key, early_reason IS NULL ORDER BY idx)
)
SELECT idx, number, name, name_kana, email, birth_date, office, language, js_id,
       CASE WHEN early_reason IS NOT NULL OR email_rank > 1 THEN 'reject'
            WHEN js_id IS NULL THEN 'create'
            WHEN cardinality(changed) = 0 THEN 'unchanged'
            ELSE 'update' END,
       COALESCE(early_reason, CASE WHEN email_rank > 1 THEN 'email_claimed' END),
       CASE WHEN early_reason = 'email_taken' THEN holder
            WHEN early_reason IS NULL AND email_rank > 1 THEN claimant END,
       changed
FROM claimed
"""

# The writes and the report in one statement: created rows, updated rows (the status is checked
# again under the row lock), one audit event each, then the refusals and the counts.
PG_WRITE = """
WITH created AS (
    INSERT INTO jobseekers_jobseeker
        (number, name, name_kana, email, birth_date, office, language, status, created_at,
         updated_at)
    SELECT number, name, name_kana, email, birth_date, office,
           COALESCE(NULLIF(language, ''), %(default_language)s), 'pending', %(now)s, %(now)s
    FROM jobseeker_upsert_plan
    WHERE action = 'create'
    ORDER BY idx
    RETURNING 1
), updated AS (
    UPDATE jobseekers_jobseeker js SET
        name = p.name,
        name_kana = p.name_kana,
        email = CASE WHEN 'email' = ANY(p.changed) THEN p.email ELSE js.email END,
        birth_date = p.birth_date,
        office = p.office,
        language = COALESCE(NULLIF(p.language, ''), js.language),
        updated_at = %(now)s,
        version = js.version + 1
    FROM jobseeker_upsert_plan p
    WHERE p.action = 'update' AND js.id = p.js_id
      AND (js.status = 'pending' OR NOT 'email' = ANY(p.changed))
    RETURNING 1
), audited AS (
    INSERT INTO audit_auditevent
        (created_at, actor_id, actor_label, action, target_type, target_id, ip, detail)
    SELECT %(now)s, %(actor_id)s, %(actor_label)s,
           CASE p.action WHEN 'create' THEN 'jobseeker.created' ELSE 'jobseeker.updated' END,
           'jobseeker', p.number, %(ip)s::inet,
           CASE p.action
               WHEN 'create' THEN jsonb_build_object('source', %(source)s::text)
               ELSE jsonb_build_object('source', %(source)s::text, 'fields', to_jsonb(p.changed))
           END
    FROM jobseeker_upsert_plan p
    WHERE p.action IN ('create', 'update')
    ORDER BY p.idx
    RETURNING 1
), fed AS (
    -- The change feed's "address changed" (portal.audit.feed), in this transaction.
    INSERT INTO audit_feedevent (number, type, created_at, txid)
    SELECT p.number, 'address_changed', %(now)s, pg_current_xact_id()::text::bigint
    FROM jobseeker_upsert_plan p
    WHERE p.action = 'update' AND 'email' = ANY(p.changed)
    ORDER BY p.idx
    RETURNING 1
)
SELECT 'reject', idx, reason, other FROM jobseeker_upsert_plan WHERE action = 'reject'
UNION ALL
SELECT 'count:' || action, count(*)::integer, NULL, NULL FROM jobseeker_upsert_plan GROUP BY action
UNION ALL
SELECT 'written', (SELECT count(*) FROM created)::integer + (SELECT count(*) FROM updated)::integer,
       NULL, (SELECT count(*) FROM audited)::text
"""
