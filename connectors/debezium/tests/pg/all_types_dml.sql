-- The changes record_pg_fixtures.sh captures, in order.
SET TIME ZONE 'UTC';
SET lc_monetary = 'C';
INSERT INTO public.all_types VALUES (
  1, -32768, 2147483647, -9223372036854775808, 1.5, 3.141592653589793,
  -123456789.125,
  12345678901234567890123456789012345678901234567890.0123456789,
  3.14159265358979323846264338327950288419716939937510,
  12345.67,
  E'h\u00e9llo, "world"\ttab', 'varchar', 'ab', '\x00ff10', true,
  '1969-07-20', '23:59:59.999999', '10:15:30.5+02', '2026-11-20 09:15:30.123456',
  '2026-11-20 10:15:30.123456+02',
  '1 year 2 months 3 days 04:05:06.789',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2.50]}', '{"b": 1, "a": "x"}', 'happy',
  B'1010', B'110', '{1,2,3}', '{"a","b c"}', '192.0.2.1/24', '(1.5,-2)',
  (SELECT string_agg(md5(i::text), '') FROM generate_series(1, 300) AS i));
INSERT INTO public.all_types (id) VALUES (2);
-- c_toast is not touched: the connector sends the unavailable-value placeholder.
UPDATE public.all_types SET c_int = 43 WHERE id = 1;
UPDATE public.all_types SET c_numeric_free = -0.5, c_text = NULL WHERE id = 2;
DELETE FROM public.all_types WHERE id = 2;
TRUNCATE public.all_types;
