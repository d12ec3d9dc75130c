-- The table that record_pg_fixtures.sh captures: one column per PostgreSQL type
-- the Debezium connector can produce. postgres_fixtures_test.cc states the
-- values these statements write; keep the two in step.
DROP TABLE IF EXISTS public.all_types;
DROP TYPE IF EXISTS public.mood;
CREATE TYPE public.mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE public.all_types (
  id integer PRIMARY KEY,
  c_smallint smallint,
  c_int integer,
  c_bigint bigint,
  c_real real,
  c_double double precision,
  c_numeric_scaled numeric(12, 3),
  c_numeric_big numeric(60, 10),
  c_numeric_free numeric,
  c_money money,
  c_text text,
  c_varchar varchar(20),
  c_char char(5),
  c_bytea bytea,
  c_bool boolean,
  c_date date,
  c_time time(6),
  c_timetz timetz,
  c_timestamp timestamp(6),
  c_timestamptz timestamptz,
  c_interval interval,
  c_uuid uuid,
  c_json json,
  c_jsonb jsonb,
  c_enum public.mood,
  c_bit bit(4),
  c_varbit varbit(16),
  c_int_array integer[],
  c_text_array text[],
  c_inet inet,
  c_point point,
  c_toast text
);
-- Keep the TOASTed column out of line even though md5 text compresses.
ALTER TABLE public.all_types ALTER COLUMN c_toast SET STORAGE EXTERNAL;
