-- The experiments, their jobs (the plan), the attempts to run them, and
-- their results.
CREATE TABLE experiments (
    id         bigserial PRIMARY KEY,
    name       text NOT NULL,
    root       text NOT NULL UNIQUE,       -- the shared folder of its files
    config     text NOT NULL,              -- the experiment file's TOML
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
    experiment_id bigint NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
    number        integer NOT NULL,        -- 1-based, as cotrain run --plan prints it
    name          text NOT NULL,
    output        text NOT NULL,
    deps          integer[] NOT NULL DEFAULT '{}',
    epochs        integer NOT NULL DEFAULT 0,  -- a training job's most epochs
    state         text NOT NULL DEFAULT 'pending'
                  CHECK (state IN ('pending', 'running', 'done', 'failed')),
    fence         bigint NOT NULL DEFAULT 0,   -- the current claim's token
    worker        text,
    attempts      integer NOT NULL DEFAULT 0,
    heartbeat_at  timestamptz,
    started_at    timestamptz,
    finished_at   timestamptz,
    progress      double precision NOT NULL DEFAULT 0,
    error         text,
    PRIMARY KEY (experiment_id, number)
);
CREATE INDEX jobs_open ON jobs (experiment_id, number) WHERE state IN ('pending', 'running');

-- Every claim gets a new fence from this sequence; a worker's writes
-- count only while the job's fence is still its own.
CREATE SEQUENCE fences;

CREATE TABLE attempts (
    fence         bigint PRIMARY KEY,
    experiment_id bigint NOT NULL,
    number        integer NOT NULL,
    worker        text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz,
    outcome       text NOT NULL DEFAULT 'running'
                  CHECK (outcome IN ('running', 'done', 'failed', 'lost', 'interrupted')),
    error         text,
    FOREIGN KEY (experiment_id, number) REFERENCES jobs ON DELETE CASCADE
);

-- One row per completed epoch of a training job (its metrics.json).
CREATE TABLE epochs (
    experiment_id bigint NOT NULL,
    number        integer NOT NULL,
    epoch         integer NOT NULL,
    record        jsonb NOT NULL,
    PRIMARY KEY (experiment_id, number, epoch),
    FOREIGN KEY (experiment_id, number) REFERENCES jobs ON DELETE CASCADE
);

-- The result files of finished jobs (accuracy matrices, neural metrics,
-- the results and the table), byte for byte: what the report reads.
CREATE TABLE results (
    experiment_id bigint NOT NULL,
    path          text NOT NULL,           -- relative to the experiment's root
    number        integer NOT NULL,
    fence         bigint NOT NULL,
    content       text NOT NULL,
    PRIMARY KEY (experiment_id, path),
    FOREIGN KEY (experiment_id, number) REFERENCES jobs ON DELETE CASCADE
);
