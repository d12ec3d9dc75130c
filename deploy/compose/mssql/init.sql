-- SQL Server side of the seed pipeline, run once by the compose service `mssql-init`
-- (sqlcmd -b: any error fails the service). Idempotent.
-- The inventory database with CDC enabled, and dbo.products with CDC enabled on it, so that
-- the Debezium SQL Server connector (deploy/connect/sqlserver/) captures it from the start.
-- The table's columns are those load_products.py creates (deploy/producers/load_products.py,
-- MSSQL_DDL; deploy/tests/compose_test.py checks they agree); load_products then fills it.
IF DB_ID('inventory') IS NULL
  CREATE DATABASE inventory;
GO
USE inventory;
GO
IF (SELECT is_cdc_enabled FROM sys.databases WHERE name = 'inventory') = 0
  EXEC sys.sp_cdc_enable_db;
GO
IF OBJECT_ID('dbo.products', 'U') IS NULL
  CREATE TABLE dbo.products (
    id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(255) NOT NULL,
    description NVARCHAR(512),
    weight DECIMAL(10, 3)
  );
GO
IF NOT EXISTS (SELECT 1 FROM cdc.change_tables WHERE source_object_id = OBJECT_ID('dbo.products'))
  EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'products',
       @role_name = NULL, @supports_net_changes = 0;
GO
SELECT name, is_tracked_by_cdc FROM sys.tables WHERE name = 'products';
GO
