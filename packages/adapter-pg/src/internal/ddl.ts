/**
 * @internal
 * The DDL of every migration, as multi-statement SQL (sent in one round trip each).
 * `s` is the quoted schema, `x` the quoted schema that holds pg_trgm's operator
 * classes. Ids and other keys compared in lists use the "C" collation, so that the
 * database orders them by code point, as core's `Pagination.compareCodePoints` (the
 * cursors' order).
 */

/** @internal Members, accounts and technology managers. */
export const parties = (s: string): string => `
CREATE TABLE ${s}.member (
  id text COLLATE "C" PRIMARY KEY,
  kind text NOT NULL CONSTRAINT member_kind_check
    CHECK (kind IN ('transfer_institution', 'enterprise', 'research_institute', 'service_institution', 'expert')),
  name text NOT NULL,
  region text,
  registered boolean NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX member_created ON ${s}.member (created_at, id);
CREATE INDEX member_kind_created ON ${s}.member (kind, created_at, id);

CREATE TABLE ${s}.account (
  id text COLLATE "C" PRIMARY KEY,
  member_id text COLLATE "C" REFERENCES ${s}.member (id),
  role text NOT NULL CONSTRAINT account_role_check CHECK (role IN ('member', 'operator')),
  name text NOT NULL,
  phone text NOT NULL,
  active boolean NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX account_member ON ${s}.account (member_id);

CREATE TABLE ${s}.technology_manager (
  id text COLLATE "C" PRIMARY KEY,
  institution_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  name text NOT NULL,
  phone text NOT NULL,
  created_at timestamptz NOT NULL
);
CREATE INDEX technology_manager_institution ON ${s}.technology_manager (institution_id, created_at, id);
`

/** @internal Demands, their numbering, responses, consultation and the service log. */
export const demands = (s: string, x: string): string => `
CREATE TABLE ${s}.demand (
  id text COLLATE "C" PRIMARY KEY,
  publisher_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  created_by text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  title text NOT NULL,
  main_problem text NOT NULL,
  key_technology text NOT NULL,
  expected_goal text NOT NULL,
  keywords text[] NOT NULL,
  field text NOT NULL,
  intended_investment bigint CONSTRAINT demand_intended_investment_check CHECK (intended_investment >= 0),
  solving_way text CONSTRAINT demand_solving_way_check
    CHECK (solving_way IN ('independent_rd', 'commissioned_rd', 'cooperative_rd', 'other')),
  region text,
  response_deadline date NOT NULL,
  service_mode text NOT NULL,
  technology_manager_id text COLLATE "C" REFERENCES ${s}.technology_manager (id),
  client_id text COLLATE "C" REFERENCES ${s}.member (id),
  attachments text[],
  contact_name text,
  contact_phone text,
  state text NOT NULL CONSTRAINT demand_state_check
    CHECK (state IN ('draft', 'pending_review', 'published', 'rejected', 'solved')),
  number text COLLATE "C" CONSTRAINT demand_number_key UNIQUE,
  round integer NOT NULL CHECK (round >= 1),
  rejection_reason text,
  submitted_at timestamptz,
  approved_at timestamptz,
  first_published_at timestamptz,
  intake_closed_at timestamptz,
  first_adopted_at timestamptz,
  selection_ended_at timestamptz,
  outcome text CONSTRAINT demand_outcome_check CHECK (outcome IN ('unsolved', 'solved')),
  service_fee bigint CONSTRAINT demand_service_fee_check CHECK (service_fee >= 0),
  closed_at timestamptz,
  response_count integer NOT NULL CHECK (response_count >= 0),
  adopted_count integer NOT NULL CHECK (adopted_count >= 0),
  version integer NOT NULL CHECK (version >= 1),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  search_text text NOT NULL,
  search_grams text[] NOT NULL,
  CONSTRAINT demand_contact_check CHECK ((contact_name IS NULL) = (contact_phone IS NULL)),
  CONSTRAINT demand_number_when_public_check CHECK (state NOT IN ('published', 'solved') OR number IS NOT NULL)
);
-- the public hall: published and solved demands, by publication or deadline
-- (also R62's cohort: the demands first published in a period)
CREATE INDEX demand_published ON ${s}.demand (first_published_at, id) WHERE first_published_at IS NOT NULL;
CREATE INDEX demand_hall_deadline ON ${s}.demand (response_deadline, id)
  WHERE state IN ('published', 'solved');
CREATE INDEX demand_hall_field ON ${s}.demand (field, first_published_at, id)
  WHERE state IN ('published', 'solved');
CREATE INDEX demand_hall_region ON ${s}.demand (region, first_published_at, id)
  WHERE state IN ('published', 'solved');
-- keyword search: trigrams for keywords of 3 characters or more, grams for 1 or 2
CREATE INDEX demand_search_trgm ON ${s}.demand USING gin (search_text ${x}.gin_trgm_ops);
CREATE INDEX demand_search_grams ON ${s}.demand USING gin (search_grams);
-- my demands (publisher, client), operators' lists, the sweeper
CREATE INDEX demand_publisher ON ${s}.demand (publisher_id, created_at, id);
CREATE INDEX demand_client ON ${s}.demand (client_id, created_at, id) WHERE client_id IS NOT NULL;
CREATE INDEX demand_created ON ${s}.demand (created_at, id);
CREATE INDEX demand_state_created ON ${s}.demand (state, created_at, id);
CREATE INDEX demand_selection_open ON ${s}.demand (response_deadline, id)
  WHERE state = 'published' AND selection_ended_at IS NULL;

CREATE TABLE ${s}.demand_number_counter (
  prefix text COLLATE "C" NOT NULL,
  year integer NOT NULL,
  last integer NOT NULL CHECK (last >= 1),
  PRIMARY KEY (prefix, year)
);

CREATE TABLE ${s}.response (
  id text COLLATE "C" PRIMARY KEY,
  demand_id text COLLATE "C" NOT NULL REFERENCES ${s}.demand (id),
  demand_publisher_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  round integer NOT NULL CHECK (round >= 1),
  responder_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  responder_account_id text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  proposal_title text NOT NULL,
  proposal_content text NOT NULL,
  proposal_attachments text[],
  status text NOT NULL CONSTRAINT response_status_check
    CHECK (status IN ('submitted', 'adopted', 'not_adopted', 'withdrawn')),
  feedback_reason text CONSTRAINT response_feedback_reason_check
    CHECK (feedback_reason IN ('not_relevant', 'cost_too_high', 'maturity_too_low', 'ip_conflict', 'other')),
  feedback_text text,
  submitted_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  adopted_at timestamptz,
  version integer NOT NULL CHECK (version >= 1),
  CONSTRAINT response_feedback_check CHECK (feedback_reason IS NOT NULL OR feedback_text IS NULL)
);
-- R21: one response that is not withdrawn per responder and round
CREATE UNIQUE INDEX response_active_key ON ${s}.response (demand_id, round, responder_id)
  WHERE status <> 'withdrawn';
CREATE INDEX response_publisher ON ${s}.response (demand_publisher_id, submitted_at, id);
CREATE INDEX response_responder ON ${s}.response (responder_id, submitted_at, id);
CREATE INDEX response_demand ON ${s}.response (demand_id, submitted_at, id);

CREATE TABLE ${s}.thread (
  id text COLLATE "C" PRIMARY KEY,
  demand_id text COLLATE "C" NOT NULL REFERENCES ${s}.demand (id),
  demand_publisher_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  responder_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  message_count integer NOT NULL CHECK (message_count >= 0),
  created_at timestamptz NOT NULL,
  last_message_at timestamptz NOT NULL,
  CONSTRAINT thread_demand_responder_key UNIQUE (demand_id, responder_id)
);
CREATE INDEX thread_demand ON ${s}.thread (demand_id, last_message_at, id);
CREATE INDEX thread_responder ON ${s}.thread (responder_id, last_message_at, id);
CREATE INDEX thread_last_message ON ${s}.thread (last_message_at, id);

CREATE TABLE ${s}.message (
  id text COLLATE "C" PRIMARY KEY,
  thread_id text COLLATE "C" NOT NULL REFERENCES ${s}.thread (id),
  seq integer NOT NULL CHECK (seq >= 1),
  author_account_id text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  side text NOT NULL CONSTRAINT message_side_check CHECK (side IN ('responder', 'demand')),
  text text NOT NULL,
  at timestamptz NOT NULL,
  CONSTRAINT message_thread_seq_key UNIQUE (thread_id, seq)
);

CREATE TABLE ${s}.service_log_entry (
  id text COLLATE "C" PRIMARY KEY,
  demand_id text COLLATE "C" NOT NULL REFERENCES ${s}.demand (id),
  seq integer NOT NULL CHECK (seq >= 1),
  date date NOT NULL,
  text text NOT NULL,
  attachments text[] NOT NULL,
  author_account_id text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  at timestamptz NOT NULL,
  CONSTRAINT service_log_entry_demand_seq_key UNIQUE (demand_id, seq)
);
`

/** @internal Commissions, the audit trail, idempotency records and the outbox. */
export const records = (s: string): string => `
CREATE TABLE ${s}.commission (
  id text COLLATE "C" PRIMARY KEY,
  enterprise_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  institution_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  message text NOT NULL,
  state text NOT NULL CONSTRAINT commission_state_check
    CHECK (state IN ('requested', 'active', 'declined', 'ended')),
  requested_by text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  created_at timestamptz NOT NULL,
  decided_at timestamptz,
  ended_at timestamptz,
  ended_by text COLLATE "C" REFERENCES ${s}.member (id),
  version integer NOT NULL CHECK (version >= 1)
);
-- R40: one open (requested or active) commission per enterprise and institution
CREATE UNIQUE INDEX commission_open_key ON ${s}.commission (enterprise_id, institution_id)
  WHERE state IN ('requested', 'active');
CREATE INDEX commission_enterprise ON ${s}.commission (enterprise_id, created_at, id);
CREATE INDEX commission_institution ON ${s}.commission (institution_id, created_at, id);

-- R60: append-only; ids are kept as written (the sweeper acts as the account "system")
CREATE TABLE ${s}.audit_event (
  id text COLLATE "C" PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_account_id text NOT NULL,
  actor_member_id text,
  on_behalf_of text,
  entity text NOT NULL,
  entity_id text NOT NULL,
  demand_id text COLLATE "C",
  members text[] NOT NULL,
  action text NOT NULL,
  before text,
  after text,
  reason text
);
CREATE INDEX audit_event_at ON ${s}.audit_event (at, id);
CREATE INDEX audit_event_demand ON ${s}.audit_event (demand_id, at, id) WHERE demand_id IS NOT NULL;
CREATE TABLE ${s}.audit_event_member (
  member_id text COLLATE "C" NOT NULL,
  at timestamptz NOT NULL,
  event_id text COLLATE "C" NOT NULL REFERENCES ${s}.audit_event (id),
  PRIMARY KEY (member_id, at, event_id)
);

CREATE TABLE ${s}.idempotency_record (
  account_id text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  key text COLLATE "C" NOT NULL,
  fingerprint text NOT NULL,
  result json,
  created_at timestamptz NOT NULL,
  PRIMARY KEY (account_id, key)
);
CREATE INDEX idempotency_record_created ON ${s}.idempotency_record (created_at);

CREATE TABLE ${s}.outbox_message (
  id text COLLATE "C" PRIMARY KEY,
  event text NOT NULL,
  dedupe_key text COLLATE "C" NOT NULL CONSTRAINT outbox_message_dedupe_key UNIQUE,
  recipient_phone text NOT NULL,
  template_id text NOT NULL,
  params jsonb NOT NULL,
  created_at timestamptz NOT NULL,
  status text NOT NULL CONSTRAINT outbox_message_status_check CHECK (status IN ('pending', 'sent', 'dead')),
  attempts integer NOT NULL CHECK (attempts >= 0),
  unknown_outcomes integer NOT NULL CHECK (unknown_outcomes >= 0),
  next_attempt_at timestamptz NOT NULL,
  lease_owner text,
  lease_until timestamptz,
  last_error text,
  provider_message_id text,
  sent_at timestamptz,
  dead_at timestamptz,
  CONSTRAINT outbox_message_lease_check CHECK ((lease_owner IS NULL) = (lease_until IS NULL)),
  CONSTRAINT outbox_message_sent_check CHECK (status <> 'sent' OR sent_at IS NOT NULL),
  CONSTRAINT outbox_message_dead_check CHECK (status <> 'dead' OR dead_at IS NOT NULL)
);
-- claims: pending messages in the order they became claimable
CREATE INDEX outbox_message_due ON ${s}.outbox_message ((greatest(next_attempt_at, lease_until)), id)
  WHERE status = 'pending';
CREATE INDEX outbox_message_created ON ${s}.outbox_message (created_at, id);
CREATE INDEX outbox_message_dead ON ${s}.outbox_message (created_at, id) WHERE status = 'dead';
`

/**
 * @internal
 * R4: a demand's trail as its client reads it, without a response's and a thread's
 * events, by the same order as `audit_event_demand` (a demand with many consultation
 * messages would otherwise be read through all of them).
 */
export const auditShared = (s: string): string => `
CREATE INDEX audit_event_demand_shared ON ${s}.audit_event (demand_id, at, id)
  WHERE demand_id IS NOT NULL AND entity NOT IN ('response', 'thread');
`

/**
 * @internal
 * R4: a member's own trail without the events of a response or a thread done on its
 * behalf (as a demand's client), read from a partial index: each member row says
 * whether its member is shown the event (`shared`, see `records.ts`). Rows written
 * before are marked here.
 */
export const auditMemberShared = (s: string): string => `
ALTER TABLE ${s}.audit_event_member ADD COLUMN shared boolean NOT NULL DEFAULT true;
UPDATE ${s}.audit_event_member m SET shared = false
  FROM ${s}.audit_event e
  WHERE e.id = m.event_id AND e.entity IN ('response', 'thread') AND e.on_behalf_of = m.member_id;
CREATE INDEX audit_event_member_shared ON ${s}.audit_event_member (member_id, at, event_id) WHERE shared;
`

/** @internal Reward rounds, institution profiles, applications and stored files. */
export const rewards = (s: string): string => `
CREATE TABLE ${s}.reward_round (
  id text COLLATE "C" PRIMARY KEY,
  title text NOT NULL,
  rules text NOT NULL,
  period_start date NOT NULL,
  period_end date NOT NULL,
  application_deadline date NOT NULL,
  state text NOT NULL CONSTRAINT reward_round_state_check CHECK (state IN ('open', 'closed')),
  opened_by text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  opened_at timestamptz NOT NULL,
  closed_by text COLLATE "C" REFERENCES ${s}.account (id),
  closed_at timestamptz,
  version integer NOT NULL CHECK (version >= 1)
);
CREATE INDEX reward_round_opened ON ${s}.reward_round (opened_at, id);

CREATE TABLE ${s}.institution_profile (
  member_id text COLLATE "C" PRIMARY KEY REFERENCES ${s}.member (id),
  info jsonb NOT NULL,
  updated_by text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  updated_at timestamptz NOT NULL,
  version integer NOT NULL CHECK (version >= 1)
);

CREATE TABLE ${s}.reward_application (
  id text COLLATE "C" PRIMARY KEY,
  round_id text COLLATE "C" NOT NULL REFERENCES ${s}.reward_round (id),
  institution_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  state text NOT NULL CONSTRAINT reward_application_state_check
    CHECK (state IN ('draft', 'submitted', 'approved', 'rejected')),
  items jsonb NOT NULL,
  note text,
  profile jsonb,
  amount bigint CONSTRAINT reward_application_amount_check CHECK (amount >= 0),
  rejection_reason text,
  created_by text COLLATE "C" NOT NULL REFERENCES ${s}.account (id),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  submitted_at timestamptz,
  decided_by text COLLATE "C" REFERENCES ${s}.account (id),
  decided_at timestamptz,
  version integer NOT NULL CHECK (version >= 1),
  -- R52: one application per institution and round
  CONSTRAINT reward_application_round_institution_key UNIQUE (round_id, institution_id)
);
CREATE INDEX reward_application_institution ON ${s}.reward_application (institution_id, created_at, id);
CREATE INDEX reward_application_round ON ${s}.reward_application (round_id, created_at, id);

-- R54: files are written once; bytes are stored uncompressed out of line
CREATE TABLE ${s}.stored_file (
  id text COLLATE "C" PRIMARY KEY,
  owner_member_id text COLLATE "C" NOT NULL REFERENCES ${s}.member (id),
  name text NOT NULL,
  content_type text NOT NULL CONSTRAINT stored_file_content_type_check CHECK (content_type IN (
    'application/pdf', 'image/png', 'image/jpeg', 'image/gif', 'image/webp',
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    'application/vnd.openxmlformats-officedocument.presentationml.presentation',
    'application/msword', 'application/vnd.ms-excel', 'application/vnd.ms-powerpoint'
  )),
  size bigint NOT NULL,
  sha256 text NOT NULL CONSTRAINT stored_file_sha256_check CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL,
  bytes bytea NOT NULL,
  CONSTRAINT stored_file_size_check CHECK (size = octet_length(bytes))
);
ALTER TABLE ${s}.stored_file ALTER COLUMN bytes SET STORAGE EXTERNAL;
`

/**
 * @internal
 * Rate-limit windows (`PgRateLimit`), one row per bucket key: the window's start, the
 * requests it counted and those it gave back. `UNLOGGED`: counts are
 * no platform data, so their writes, one per limited request, cost no WAL; after a
 * crash of PostgreSQL the table is empty and every window starts afresh.
 */
export const rateLimits = (s: string): string => `
CREATE UNLOGGED TABLE ${s}.rate_limit_window (
  key text COLLATE "C" PRIMARY KEY,
  window_start bigint NOT NULL,
  count bigint NOT NULL CHECK (count >= 0),
  refunded bigint NOT NULL CHECK (refunded >= 0)
);
`

/**
 * R25, R14: the sweeper's second look, for the rounds that hold responses in a service
 * mode that no longer takes them: without it, it would read every such demand whose
 * window has passed (institution-served ones never end a selection) each minute.
 */
export const selectionResponded = (s: string): string => `
CREATE INDEX demand_selection_responded ON ${s}.demand (response_deadline, id)
  WHERE state = 'published' AND selection_ended_at IS NULL AND response_count > 0;
`

/**
 * §9: every list answers in time independent of its number of rows. A member's own
 * demands sorted by publication or deadline (as publisher or as client) read their
 * page from an index instead of sorting all of them; responses filtered by status
 * read the rows of those statuses (the list first narrows by the stored status,
 * see `responses.ts`); R40's registered institutions have an index of their own.
 * `demand_created` served no list (every list sorted by creation names a member or
 * states) and the planner took it for a member's first page sorted by creation,
 * reading past every other member's newer demands.
 */
export const listIndexes = (s: string): string => `
CREATE INDEX demand_publisher_published ON ${s}.demand (publisher_id, first_published_at DESC NULLS LAST, id DESC);
CREATE INDEX demand_publisher_deadline ON ${s}.demand (publisher_id, response_deadline, id);
CREATE INDEX demand_client_published ON ${s}.demand (client_id, first_published_at DESC NULLS LAST, id DESC)
  WHERE client_id IS NOT NULL;
CREATE INDEX demand_client_deadline ON ${s}.demand (client_id, response_deadline, id) WHERE client_id IS NOT NULL;
DROP INDEX ${s}.demand_created;
CREATE INDEX member_registered ON ${s}.member (kind, created_at, id) WHERE registered;
CREATE INDEX response_publisher_status ON ${s}.response (demand_publisher_id, status, submitted_at, id);
CREATE INDEX response_responder_status ON ${s}.response (responder_id, status, submitted_at, id);
`

/**
 * The open rounds by service mode. R25: the sweep of the modes that take responses
 * reads each mode's open rounds in deadline order (`demands.ts` writes one equality
 * per mode); `demand_selection_open`, which it replaces, held the published demands
 * of the modes that take none too, whose selection nothing ends: every pass read
 * past all of them. §9: the hall's demands taking responses are read newest first
 * from `demand_hall_taking`, which holds the rounds whose intake is open (not swept,
 * no adoption), the deadline last so that the rows past it are passed over in the
 * index: the hall's own indexes read past every older published demand to the end
 * of the list.
 */
export const openRounds = (s: string): string => `
CREATE INDEX demand_selection_mode ON ${s}.demand (service_mode, response_deadline, id)
  WHERE state = 'published' AND selection_ended_at IS NULL;
DROP INDEX ${s}.demand_selection_open;
CREATE INDEX demand_hall_taking ON ${s}.demand (service_mode, first_published_at, id, response_deadline)
  WHERE state = 'published' AND intake_closed_at IS NULL;
`

/**
 * R60: the audit trail is append-only in the database too, not only in the adapter's
 * code: a row of `audit_event` or `audit_event_member` that a statement would change
 * or delete is refused (a host's own SQL, a console session, a bug). `TRUNCATE` and
 * `DROP` stay the owner's; a later migration that must rewrite rows disables the
 * triggers for its own transaction.
 */
export const auditAppendOnly = (s: string): string => `
CREATE FUNCTION ${s}.audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'R60: the audit trail is append-only: % on % refused', TG_OP, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON ${s}.audit_event
  FOR EACH ROW EXECUTE FUNCTION ${s}.audit_append_only();
CREATE TRIGGER audit_event_member_append_only BEFORE UPDATE OR DELETE ON ${s}.audit_event_member
  FOR EACH ROW EXECUTE FUNCTION ${s}.audit_append_only();
`

/**
 * R64: a delivery's `lastCode`, the last failed attempt's code for machines beside its
 * reason (`last_error`), by which operators list and re-queue dead letters. The letters
 * that died before it have none. Adding a nullable column rewrites no row.
 */
export const outboxLastCode = (s: string): string => `
ALTER TABLE ${s}.outbox_message ADD COLUMN last_code text;
`

/**
 * R23: a round's selection window, its days fixed when the round is approved, so
 * that a later change of the platform's `selectionWindowDays` moves no round under
 * way. The rounds approved before it have none and take the platform's setting as
 * before (core's `Phase.windowDaysOf`). Adding a nullable column rewrites no row; its
 * check is added `NOT VALID`, so that the table is not read under the migration's
 * lock to check rows that all hold null: rows written from now on are checked.
 */
export const roundWindow = (s: string): string => `
ALTER TABLE ${s}.demand ADD COLUMN selection_window_days int4;
ALTER TABLE ${s}.demand ADD CONSTRAINT demand_selection_window_days
  CHECK (selection_window_days BETWEEN 0 AND 366) NOT VALID;
`

/**
 * R64: the settled messages in the order the outbox's purge deletes them
 * (`outbox.retentionDays`): the sent by when they were sent, the dead by when they
 * died. Built without `CONCURRENTLY` (a migration runs in a transaction): on a large
 * outbox it holds its writes for as long as the build takes.
 */
export const outboxRetention = (s: string): string => `
CREATE INDEX outbox_message_sent_at ON ${s}.outbox_message (sent_at, id) WHERE status = 'sent';
CREATE INDEX outbox_message_dead_at ON ${s}.outbox_message (dead_at, id) WHERE status = 'dead';
`

/**
 * @internal
 * R1: whether a technology manager is active (one retired is not named on a demand
 * again). The managers there before are active. A column with a constant default is
 * added without rewriting the table.
 */
export const managerActive = (s: string): string => `
ALTER TABLE ${s}.technology_manager ADD COLUMN active boolean NOT NULL DEFAULT true;
`

/**
 * @internal
 * §3: when an operator last made an account active again; a credential issued
 * before it does not act. `NULL` for the accounts there before (never reactivated
 * as far as is known): a nullable column is added without rewriting the table.
 */
export const accountReactivated = (s: string): string => `
ALTER TABLE ${s}.account ADD COLUMN reactivated_at timestamptz;
`
