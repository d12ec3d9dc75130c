#!/usr/bin/python3
"""Inserts, updates and deletes rows in the fixture's PostgreSQL and asserts the exact Debezium
events (key, op, before, after, schema) that arrive on each table's Kafka topic."""

import datetime
import sys
import unittest

import localpipeline as lp

UTC = datetime.timezone.utc
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)


def millis(dt):
    return (dt - EPOCH) // datetime.timedelta(milliseconds=1)


def field_schema(envelope_schema, struct_field, column):
    struct = next(f for f in envelope_schema["fields"] if f["field"] == struct_field)
    return next(f for f in struct["fields"] if f["field"] == column)


def by_key(key_field, key_value):
    return lambda m: m.key is not None and m.key["payload"] == {key_field: key_value}


class DecimalHelperTest(unittest.TestCase):
    def test_matches_values_seen_from_kafka_connect(self):
        # 12.34 at scale 2, as Debezium sent it on this pipeline.
        self.assertEqual(lp.connect_decimal(1234), "BNI=")
        self.assertEqual(lp.connect_decimal(-128), "gA==")
        self.assertEqual(lp.connect_decimal(128), "AIA=")


class DebeziumEventsTest(unittest.TestCase):
    maxDiff = None

    def assert_change_events(self, topic, key_field, key_value, expected):
        """EXPECTED: list of (op, before, after); a delete is followed by a tombstone."""
        want = len(expected) + sum(1 for op, _, _ in expected if op == "d")
        got = lp.wait_for_messages(topic, by_key(key_field, key_value), want)
        self.assertEqual([m.op for m in got],
                         [e for op, _, _ in expected for e in ((op, "tombstone") if op == "d" else (op,))],
                         f"events on {topic} for {key_field}={key_value}")
        changes = [m for m in got if not m.is_tombstone]
        for m, (op, before, after) in zip(changes, expected):
            self.assertEqual(m.key["payload"], {key_field: key_value})
            self.assertEqual(m.payload["before"], before, f"{op} before")
            self.assertEqual(m.payload["after"], after, f"{op} after")
        return got

    def test_orders_insert_update_delete(self):
        conn = lp.connect("cdcflow")
        cur = conn.cursor()
        cur.execute(
            "INSERT INTO orders (order_id, order_date, customer_name, price, product_id, order_status,"
            " created_at, order_uuid, details) VALUES (900001, '2026-03-04 05:06:07.891', 'Zoë Ørsted',"
            " 12345678.90, 105, false, '2026-03-04 05:06:07.123456+02',"
            " 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"b\": 1, \"a\": [true, null, \"x\"]}')")
        cur.execute("UPDATE orders SET price = 0.01, order_status = true, details = NULL"
                    " WHERE order_id = 900001")
        cur.execute("DELETE FROM orders WHERE order_id = 900001")
        conn.close()

        row = {
            "order_id": 900001,
            "order_date": millis(datetime.datetime(2026, 3, 4, 5, 6, 7, 891000, tzinfo=UTC)),
            "customer_name": "Zoë Ørsted",
            "price": lp.connect_decimal(1234567890),
            "product_id": 105,
            "order_status": False,
            "created_at": "2026-03-04T03:06:07.123456Z",
            "order_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "details": '{"a": [true, null, "x"], "b": 1}',
        }
        updated = {**row, "price": lp.connect_decimal(1), "order_status": True, "details": None}
        got = self.assert_change_events("pg.public.orders", "order_id", 900001, [
            ("c", None, row), ("u", row, updated), ("d", updated, None)])

        first = got[0]
        self.assertEqual(first.key["schema"]["name"], "pg.public.orders.Key")
        schema = first.value["schema"]
        self.assertEqual(schema["name"], "pg.public.orders.Envelope")
        source = first.payload["source"]
        self.assertEqual((source["connector"], source["name"], source["db"], source["schema"],
                          source["table"], source["snapshot"]),
                         ("postgresql", "pg", "cdcflow", "public", "orders", "false"))
        price = field_schema(schema, "after", "price")
        self.assertEqual((price["type"], price["name"], price["parameters"]["scale"]),
                         ("bytes", "org.apache.kafka.connect.data.Decimal", "2"))
        for column, name in [("order_date", "io.debezium.time.Timestamp"),
                             ("created_at", "io.debezium.time.ZonedTimestamp"),
                             ("order_uuid", "io.debezium.data.Uuid"),
                             ("details", "io.debezium.data.Json")]:
            self.assertEqual(field_schema(schema, "after", column)["name"], name, column)

    def test_shipments_insert_update_delete(self):
        conn = lp.connect("cdcflow")
        cur = conn.cursor()
        cur.execute("INSERT INTO shipments VALUES (900001, 900001, 'Hangzhou', 'Reykjavík', false)")
        cur.execute("UPDATE shipments SET is_arrived = true WHERE shipment_id = 900001")
        cur.execute("DELETE FROM shipments WHERE shipment_id = 900001")
        conn.close()
        row = {"shipment_id": 900001, "order_id": 900001, "origin": "Hangzhou",
               "destination": "Reykjavík", "is_arrived": False}
        arrived = {**row, "is_arrived": True}
        got = self.assert_change_events("pg.public.shipments", "shipment_id", 900001, [
            ("c", None, row), ("u", row, arrived), ("d", arrived, None)])
        self.assertEqual(got[0].payload["source"]["table"], "shipments")

    def test_products_snapshot_then_changes(self):
        # The fixture loaded the catalogue before registering the connector: snapshot reads.
        snapshot = lp.wait_for_messages("inventory.public.products",
                                        lambda m: m.op == "r", 9)
        self.assertEqual(sorted(m.key["payload"]["id"] for m in snapshot), list(range(101, 110)))
        scooter = next(m for m in snapshot if m.key["payload"]["id"] == 101)
        self.assertEqual(scooter.payload["before"], None)
        self.assertEqual(scooter.payload["after"], {
            "id": 101, "name": "scooter", "description": "Small 2-wheel scooter",
            "weight": {"scale": 2, "value": lp.connect_decimal(314)}})
        self.assertIn(scooter.payload["source"]["snapshot"], ("first", "true", "last",
                                                              "first_in_data_collection",
                                                              "last_in_data_collection"))
        self.assertEqual(scooter.payload["source"]["db"], "inventory")
        weight = field_schema(scooter.value["schema"], "after", "weight")
        self.assertEqual(weight["name"], "io.debezium.data.VariableScaleDecimal")

        # A weight past 38 digits: nothing may be rounded on the way.
        conn = lp.connect("inventory")
        cur = conn.cursor()
        cur.execute("INSERT INTO products VALUES (9001, 'anvil', NULL,"
                    " 12345678901234567890.123456789012345678901)")
        cur.execute("UPDATE products SET weight = -0.5, description = 'heavy' WHERE id = 9001")
        cur.execute("DELETE FROM products WHERE id = 9001")
        conn.close()
        row = {"id": 9001, "name": "anvil", "description": None,
               "weight": {"scale": 21,
                          "value": lp.connect_decimal(12345678901234567890123456789012345678901)}}
        changed = {**row, "description": "heavy",
                   "weight": {"scale": 1, "value": lp.connect_decimal(-5)}}
        self.assert_change_events("inventory.public.products", "id", 9001, [
            ("c", None, row), ("u", row, changed), ("d", changed, None)])


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
