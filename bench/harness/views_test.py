"""Unit tests of the benchmark harness's pure code (bench/harness/views.py): the canonical form
that makes Flink's and cdcflow's JSON comparable, the compacted view, the diff, the latency
matching and percentiles, and the order-id extraction from Debezium events.
Run: python3 -m unittest bench/harness/views_test.py (ctest: bench_harness_views, label unit)."""

import decimal
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import views  # noqa: E402

# One order as Flink's upsert-kafka/json writes it and as cdcflow's upsert-json writes it.
FLINK = (b'{"order_id":10001,"order_date":"2026-01-01T00:53:05","customer_name":"Ada",'
         b'"price":521.10,"product_id":101,"order_status":true,'
         b'"created_at":"2026-01-01T00:53:05.000000Z","order_uuid":"74672a56-0bfc-4ad2-8379-27ab59bf00d0",'
         b'"details":"{\\"gift\\": true, \\"items\\": 5}","product_name":"scooter",'
         b'"product_description":null,"shipment_id":null,"origin":null,"destination":null,'
         b'"is_arrived":null}')
CDCFLOW = (b'{"order_id":10001,"order_date":"2026-01-01T00:53:05.000","customer_name":"Ada",'
           b'"price":521.1,"product_id":101,"order_status":true,'
           b'"created_at":"2026-01-01T02:53:05+02:00","order_uuid":"74672a56-0bfc-4ad2-8379-27ab59bf00d0",'
           b'"details":"{\\"items\\":5,\\"gift\\":true}","product_name":"scooter",'
           b'"product_description":null,"shipment_id":null,"origin":null,"destination":null,'
           b'"is_arrived":null}')


class CanonicalTest(unittest.TestCase):
    def test_two_encodings_of_one_order_are_equal(self):
        a = views.canonical(views.parse_doc(FLINK))
        b = views.canonical(views.parse_doc(CDCFLOW))
        self.assertEqual(a, b)

    def test_a_changed_decimal_digit_is_a_difference(self):
        a = views.canonical(views.parse_doc(FLINK))
        b = views.canonical(views.parse_doc(CDCFLOW.replace(b"521.1,", b"521.11,")))
        self.assertNotEqual(a, b)
        self.assertEqual(b["price"], ("num", "521.11"))

    def test_decimals_stay_exact(self):
        self.assertEqual(views.canonical_value(decimal.Decimal("0.10")), ("num", "0.1"))
        self.assertEqual(views.canonical_value(100), ("num", "100"))
        self.assertEqual(views.canonical_value(decimal.Decimal("1E+2")), ("num", "100"))
        self.assertNotEqual(views.canonical_value(decimal.Decimal("12345678901234567890.01")),
                            views.canonical_value(decimal.Decimal("12345678901234567890.02")))

    def test_timestamps(self):
        self.assertEqual(views.canonical_value("2026-01-01 00:00:00"), ("ts", "2026-01-01T00:00:00"))
        self.assertEqual(views.canonical_value("2026-01-01T00:00:00.120"),
                         ("ts", "2026-01-01T00:00:00.12"))
        self.assertEqual(views.canonical_value("2026-01-01T01:30:00-00:30"),
                         ("ts", "2026-01-01T02:00:00Z"))
        # A naive timestamp and an instant are different things.
        self.assertNotEqual(views.canonical_value("2026-01-01T00:00:00"),
                            views.canonical_value("2026-01-01T00:00:00Z"))

    def test_plain_strings_stay_strings(self):
        self.assertEqual(views.canonical_value("São Paulo"), "São Paulo")
        self.assertEqual(views.canonical_value("{not json"), "{not json")


class CompactTest(unittest.TestCase):
    def test_last_value_wins_and_tombstones_delete(self):
        view = views.compact([("1", b'{"order_id":1,"x":1}'), ("2", b'{"order_id":2,"x":1}'),
                              ("1", None), ("1", b'{"order_id":1,"x":2}'), ("2", None)])
        self.assertEqual(list(view), ["1"])
        self.assertEqual(view["1"]["x"], ("num", "2"))

    def test_diff_names_what_differs(self):
        a = views.compact([("1", b'{"v":1}'), ("2", b'{"v":2}'), ("3", b'{"v":3}')])
        b = views.compact([("1", b'{"v":1}'), ("2", b'{"v":20}'), ("4", b'{"v":4}')])
        equal, text = views.diff_views(a, b, "x", "y")
        self.assertFalse(equal)
        self.assertIn("1 only in x", text)
        self.assertIn("1 only in y", text)
        self.assertIn("1 differ", text)
        self.assertIn("key 2 differs", text)
        self.assertEqual(views.diff_views(a, dict(a)), (True, "equal: 3 keys"))

    def test_keys(self):
        self.assertEqual(views.key_of(b'{"order_id":10001}'), "10001")
        self.assertEqual(views.key_of(b"10001"), "10001")
        with self.assertRaises(ValueError):
            views.key_of(None)


class LatencyTest(unittest.TestCase):
    def test_first_output_at_or_after_the_send(self):
        inputs = [("a", 100), ("b", 105), ("a", 200), ("c", 300)]
        outputs = [("a", 90), ("a", 110), ("b", 140), ("a", 260)]
        lat, unanswered = views.latency_per_event(inputs, outputs)
        self.assertEqual(lat, [10, 35, 60])
        self.assertEqual(unanswered, 1)  # c never came out

    def test_percentile_nearest_rank(self):
        values = list(range(1, 101))
        self.assertEqual(views.percentile(values, 50), 50)
        self.assertEqual(views.percentile(values, 99), 99)
        self.assertEqual(views.percentile(values, 100), 100)
        self.assertEqual(views.percentile([7], 99), 7)
        self.assertIsNone(views.percentile([], 50))


class OrderIdTest(unittest.TestCase):
    def test_reads_the_payload_not_the_schema(self):
        event = (b'{"schema":{"fields":[{"field":"order_id"}]},"payload":{"before":null,'
                 b'"after":{"shipment_id":7,"order_id":10042,"origin":"Paris"},"op":"c"}}')
        self.assertEqual(views.order_id_of(event), "10042")
        self.assertIsNone(views.order_id_of(None))
        self.assertIsNone(views.order_id_of(b'{"payload":{"after":{"id":101}}}'))


class DebeziumTest(unittest.TestCase):
    def event(self, op, before, after):
        return ('{"schema":{},"payload":' + __import__("json").dumps(
            {"before": before, "after": after, "op": op}, separators=(",", ":")) + "}").encode()

    def test_changes_and_join(self):
        order = {"order_id": 1, "order_date": 1767225600000, "customer_name": "Ada",
                 "price": "PMM=", "product_id": 101, "order_status": False,
                 "created_at": "2026-01-01T00:00:00.000000Z", "order_uuid": "u", "details": None}
        orders, shipments = {}, {}
        views.apply_debezium(orders, self.event("c", None, order), "order_id")
        views.apply_debezium(orders, self.event("c", None, dict(order, order_id=2)), "order_id")
        views.apply_debezium(orders, self.event("u", order, dict(order, order_status=True)),
                             "order_id")
        views.apply_debezium(orders, None, "order_id")  # tombstone
        views.apply_debezium(orders, self.event("d", dict(order, order_id=2), None), "order_id")
        ship = {"shipment_id": 7, "order_id": 1, "origin": "Paris", "destination": "Lagos",
                "is_arrived": True}
        views.apply_debezium(shipments, self.event("c", None, ship), "shipment_id")
        view = views.enriched_view(orders, shipments, {101: {"name": "scooter",
                                                             "description": "d"}})
        self.assertEqual(list(view), ["1"])
        doc = view["1"]
        self.assertEqual(doc["price"], ("num", "155.55"))  # 0x3CC3 = 15555
        self.assertEqual(doc["order_date"], ("ts", "2026-01-01T00:00:00"))
        self.assertEqual(doc["created_at"], ("ts", "2026-01-01T00:00:00Z"))
        self.assertIs(doc["order_status"], True)
        self.assertEqual(doc["origin"], "Paris")
        self.assertEqual(doc["product_name"], "scooter")

    def test_noop_update(self):
        same = (b'{"schema":{},"payload":{"before":{"shipment_id":7,"is_arrived":true},'
                b'"after":{"shipment_id":7,"is_arrived":true},"source":{"ts_ms":1},"op":"u"}}')
        changed = same.replace(b'"before":{"shipment_id":7,"is_arrived":true}',
                               b'"before":{"shipment_id":7,"is_arrived":false}')
        self.assertTrue(views.is_noop_update(same))
        self.assertFalse(views.is_noop_update(changed))
        self.assertFalse(views.is_noop_update(None))

    def test_negative_decimal(self):
        self.assertEqual(views.debezium_decimal("/w==", 2), __import__("decimal").Decimal("-0.01"))


if __name__ == "__main__":
    unittest.main()
