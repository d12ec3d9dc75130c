#!/usr/bin/python3
"""Writes the product catalogue of the seed pipeline once (rows already present are kept).

The target is a PostgreSQL connection string (the default: the local `inventory` database, which
stands in for SQL Server on machines where SQL Server cannot run) or a SQL Server one, given as
  mssql://USER:PASSWORD@HOST[:PORT]/DATABASE   or
  Server=HOST[,PORT];Database=DB;User Id=USER;Password=PASSWORD   (ADO.NET style)
SQL Server needs the pymssql module. Prints a JSON summary to stdout.
"""

import argparse
import json
import os
import re
import sys
import urllib.parse

# (id, name, description, weight): the catalogue of the seed's products table.
PRODUCTS = [
    (101, "scooter", "Small 2-wheel scooter", "3.14"),
    (102, "car battery", "12V car battery", "8.1"),
    (103, "12-pack drill bits", "12-pack of drill bits with sizes ranging from #40 to #3", "0.8"),
    (104, "hammer", "12oz carpenter's hammer", "0.75"),
    (105, "hammer", "14oz carpenter's hammer", "0.875"),
    (106, "hammer", "16oz carpenter's hammer", "1.0"),
    (107, "rocks", "box of assorted rocks", "5.3"),
    (108, "jacket", "water resistent black wind breaker", "0.1"),
    (109, "spare tire", "24 inch spare tire", "22.2"),
]

MSSQL_DDL = """
IF OBJECT_ID('dbo.products', 'U') IS NULL
  CREATE TABLE dbo.products (
    id INT NOT NULL PRIMARY KEY,
    name NVARCHAR(255) NOT NULL,
    description NVARCHAR(512),
    weight DECIMAL(10, 3)
  )
"""


def default_dsn():
    port = os.environ.get("CDCFLOW_PG_PORT", "5432")
    return f"host=127.0.0.1 port={port} user=postgres dbname=inventory"


def parse_mssql(target):
    """Returns pymssql.connect keyword arguments for a SQL Server target, or None if it is not one."""
    if re.match(r"^(mssql|sqlserver)://", target, re.I):
        u = urllib.parse.urlsplit(target)
        return {"server": u.hostname or "localhost", "port": str(u.port or 1433),
                "user": urllib.parse.unquote(u.username or ""),
                "password": urllib.parse.unquote(u.password or ""),
                "database": u.path.lstrip("/") or "master"}
    if re.search(r"(^|;)\s*(server|data source)\s*=", target, re.I):
        parts = {}
        for item in target.split(";"):
            if "=" in item:
                k, v = item.split("=", 1)
                parts[k.strip().lower()] = v.strip()
        server = parts.get("server") or parts.get("data source", "")
        server = re.sub(r"^tcp:", "", server)
        host, _, port = server.partition(",")
        return {"server": host, "port": port or "1433",
                "user": parts.get("user id") or parts.get("uid", ""),
                "password": parts.get("password") or parts.get("pwd", ""),
                "database": parts.get("database") or parts.get("initial catalog", "master")}
    return None


def load_postgres(dsn):
    try:
        import psycopg2
    except ImportError:
        sys.exit("load_products: needs python3-psycopg2 (bash deploy/install-deps.sh installs it)")
    try:
        conn = psycopg2.connect(dsn)
    except psycopg2.Error as e:
        sys.exit(f"load_products: cannot connect to PostgreSQL {dsn!r}: {e}".strip())
    with conn, conn.cursor() as cur:
        inserted = 0
        for row in PRODUCTS:
            cur.execute("INSERT INTO products (id, name, description, weight)"
                        " VALUES (%s, %s, %s, %s) ON CONFLICT (id) DO NOTHING", row)
            inserted += cur.rowcount
        cur.execute("SELECT count(*) FROM products")
        total = cur.fetchone()[0]
    conn.close()
    return inserted, total


def load_mssql(params):
    try:
        import pymssql
    except ImportError:
        sys.exit("load_products: a SQL Server target needs the Python module pymssql, which is not "
                 "installed (pip install pymssql); or give a PostgreSQL connection string")
    conn = pymssql.connect(**params)
    inserted = 0
    with conn.cursor() as cur:
        cur.execute(MSSQL_DDL)
        for row in PRODUCTS:
            cur.execute("IF NOT EXISTS (SELECT 1 FROM dbo.products WHERE id = %s)"
                        " INSERT INTO dbo.products (id, name, description, weight)"
                        " VALUES (%s, %s, %s, %s)", (row[0],) + row)
            inserted += max(cur.rowcount, 0)
        cur.execute("SELECT count(*) FROM dbo.products")
        total = cur.fetchone()[0]
    conn.commit()
    conn.close()
    return inserted, total


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--target", default=os.environ.get("CDCFLOW_PRODUCTS_DSN", default_dsn()),
                   help="PostgreSQL or SQL Server connection string (default: %(default)s)")
    args = p.parse_args(argv)
    mssql = parse_mssql(args.target)
    if mssql is not None:
        inserted, total = load_mssql(mssql)
        kind = "sqlserver"
    else:
        inserted, total = load_postgres(args.target)
        kind = "postgresql"
    print(json.dumps({"target": kind, "catalogue": len(PRODUCTS), "inserted": inserted,
                      "already_present": len(PRODUCTS) - inserted, "rows_in_table": total}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
