-- Runs before deploy/sql/schema.sql in the postgres container's first start
-- (/docker-entrypoint-initdb.d): schema.sql connects to both of these databases.
-- POSTGRES_DB creates `cdcflow` (orders, shipments); `inventory` holds the local pipeline's
-- products stand-in, unused in compose where products live in SQL Server.
CREATE DATABASE inventory;
