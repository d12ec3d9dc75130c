#!/usr/bin/python3
"""The producers write what they claim: counts, the insert/update/delete mix, determinism with
--seed, the product catalogue, and the change events Debezium then publishes."""

import decimal
import json
import subprocess
import sys
import unittest

import localpipeline as lp


def dump(dbname, table, key):
    conn = lp.connect(dbname)
    try:
        cur = conn.cursor()
        cur.execute(f"SELECT * FROM {table} ORDER BY {key}")
        return cur.fetchall()
    finally:
        conn.close()


def load_orders(dsn, *args):
    proc = lp.run_producer("load_orders.py", "--dsn", dsn, "--rate", "0", *args)
    return json.loads(proc.stdout.strip().splitlines()[-1])


class LoadOrdersTest(unittest.TestCase):
    maxDiff = None
    MIX = ("--count", "60", "--update-ratio", "0.25", "--delete-ratio", "0.15")

    def test_same_seed_into_fresh_tables_writes_identical_rows(self):
        for db in ("producers_seed_a", "producers_seed_b", "producers_seed_c"):
            lp.fresh_database(db)
        a = load_orders(lp.pg_dsn("producers_seed_a"), "--seed", "42", *self.MIX)
        b = load_orders(lp.pg_dsn("producers_seed_b"), "--seed", "42", *self.MIX)
        c = load_orders(lp.pg_dsn("producers_seed_c"), "--seed", "43", *self.MIX)
        for table, key in (("orders", "order_id"), ("shipments", "shipment_id")):
            rows_a = dump("producers_seed_a", table, key)
            self.assertTrue(rows_a, table)
            self.assertEqual(rows_a, dump("producers_seed_b", table, key), table)
            self.assertNotEqual(rows_a, dump("producers_seed_c", table, key), table)
        for s in (a, b):
            s.pop("elapsed_s")
        self.assertEqual(a, b)

    def test_counts_and_mix_match_the_tables(self):
        db = "producers_counts"
        lp.fresh_database(db)
        s = load_orders(lp.pg_dsn(db), "--seed", "7", *self.MIX)
        o, sh = s["orders"], s["shipments"]
        self.assertEqual(s["ticks"], 60)
        # Fresh tables: each tick changes exactly one order (and its one shipment).
        self.assertEqual(o["inserted"] + o["updated"] + o["deleted"], 60)
        self.assertEqual(o, sh)
        self.assertGreater(o["updated"], 0)
        self.assertGreater(o["deleted"], 0)
        self.assertGreater(o["inserted"], o["updated"])
        self.assertEqual(len(s["inserted_order_ids"]), o["inserted"])
        self.assertEqual(len(s["updated_order_ids"]), o["updated"])
        self.assertEqual(len(s["deleted_order_ids"]), o["deleted"])

        orders = {r[0]: r for r in dump(db, "orders", "order_id")}
        self.assertEqual(len(orders), o["inserted"] - o["deleted"])
        self.assertEqual(sorted(orders), s["live_order_ids"])
        self.assertFalse(set(orders) & set(s["deleted_order_ids"]))
        updated = set(s["updated_order_ids"])
        for order_id, row in orders.items():
            self.assertEqual(row[5], order_id in updated, f"order_status of {order_id}")
        shipments = dump(db, "shipments", "shipment_id")
        self.assertEqual(sorted(r[1] for r in shipments), sorted(orders))
        for r in shipments:
            self.assertEqual(r[4], r[1] in updated, f"is_arrived of shipment {r[0]}")

    def test_defaults_insert_only(self):
        db = "producers_defaults"
        lp.fresh_database(db)
        s = load_orders(lp.pg_dsn(db), "--count", "5")
        self.assertEqual(s["orders"], {"inserted": 5, "updated": 0, "deleted": 0})
        self.assertEqual(len(dump(db, "orders", "order_id")), 5)
        self.assertEqual(len(dump(db, "shipments", "shipment_id")), 5)

    def test_rate_paces_ticks(self):
        db = "producers_rate"
        lp.fresh_database(db)
        proc = lp.run_producer("load_orders.py", "--dsn", lp.pg_dsn(db), "--rate", "20",
                               "--count", "5")
        s = json.loads(proc.stdout)
        # Five ticks at 20/s are four intervals of 50 ms apart at least.
        self.assertGreaterEqual(s["elapsed_s"], 0.2)
        self.assertEqual(s["ticks"], 5)

    def test_bad_arguments_are_refused(self):
        proc = lp.run_producer("load_orders.py", "--update-ratio", "0.8", "--delete-ratio", "0.5",
                               check=False)
        self.assertEqual(proc.returncode, 2)
        self.assertIn("must not exceed 1", proc.stderr)

    def test_changes_arrive_as_debezium_events(self):
        topic = "pg.public.orders"
        start = lp.end_offset(topic)
        s = load_orders(lp.env("CDCFLOW_ORDERS_DSN"), "--seed", "11", "--count", "30",
                        "--update-ratio", "0.3", "--delete-ratio", "0.2")
        o = s["orders"]
        want = o["inserted"] + o["updated"] + 2 * o["deleted"]  # a delete is followed by a tombstone
        got = lp.wait_for_messages(topic, lambda m: True, want, start=start)
        ops = [m.op for m in got]
        self.assertEqual(ops.count("c"), o["inserted"], ops)
        self.assertEqual(ops.count("u"), o["updated"], ops)
        self.assertEqual(ops.count("d"), o["deleted"], ops)
        self.assertEqual(ops.count("tombstone"), o["deleted"], ops)
        self.assertEqual(sorted(m.key["payload"]["order_id"] for m in got if m.op == "c"),
                         sorted(s["inserted_order_ids"]))
        self.assertEqual(sorted(m.key["payload"]["order_id"] for m in got if m.op == "d"),
                         sorted(s["deleted_order_ids"]))


class LoadProductsTest(unittest.TestCase):
    def test_writes_the_catalogue_once(self):
        db = "producers_products"
        lp.fresh_database(db)
        first = json.loads(lp.run_producer("load_products.py", "--target", lp.pg_dsn(db)).stdout)
        again = json.loads(lp.run_producer("load_products.py", "--target", lp.pg_dsn(db)).stdout)
        self.assertEqual((first["inserted"], first["rows_in_table"]), (9, 9))
        self.assertEqual((again["inserted"], again["already_present"], again["rows_in_table"]),
                         (0, 9, 9))
        rows = dump(db, "products", "id")
        self.assertEqual([r[0] for r in rows], list(range(101, 110)))
        self.assertEqual(rows[0][1:], ("scooter", "Small 2-wheel scooter", decimal.Decimal("3.14")))

    def test_sql_server_target_without_pymssql_is_a_clear_error(self):
        # Hide pymssql whether or not this machine has it.
        script = lp.REPO_ROOT + "/deploy/producers/load_products.py"
        proc = subprocess.run(
            [lp.PYTHON, "-c",
             "import sys, runpy; sys.modules['pymssql'] = None; sys.argv = sys.argv[1:];"
             " runpy.run_path(sys.argv[0], run_name='__main__')",
             script, "--target", "Server=127.0.0.1,1;Database=inventory;User Id=sa;Password=x"],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("pymssql", proc.stderr)
        self.assertIn("SQL Server", proc.stderr)


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
