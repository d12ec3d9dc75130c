#!/usr/bin/python3
"""The fixture's OpenSearch node: the expected version, and it indexes, updates, deletes and
finds documents by id (what the Elasticsearch/OpenSearch sink relies on)."""

import json
import sys
import unittest
import urllib.error
import urllib.request

import localpipeline as lp


def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(lp.env("CDCFLOW_OPENSEARCH_URL") + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


class OpenSearchTest(unittest.TestCase):
    def test_version_and_cluster(self):
        status, info = call("GET", "/")
        self.assertEqual(status, 200)
        self.assertEqual(info["version"]["distribution"], "opensearch")
        self.assertTrue(info["version"]["number"].startswith("2.19."), info["version"])
        status, health = call("GET", "/_cluster/health")
        self.assertIn(health["status"], ("green", "yellow"))
        self.assertEqual(health["number_of_nodes"], 1)

    def test_upsert_and_delete_by_id(self):
        index = "cdcflow_opensearch_test"
        call("DELETE", f"/{index}")
        status, _ = call("PUT", f"/{index}/_doc/10001?refresh=true",
                         {"order_id": 10001, "customer_name": "Zoë", "price": "12.34"})
        self.assertEqual(status, 201)
        status, _ = call("POST", f"/{index}/_update/10001?refresh=true",
                         {"doc": {"price": "0.01"}, "doc_as_upsert": True})
        self.assertEqual(status, 200)
        status, doc = call("GET", f"/{index}/_doc/10001")
        self.assertEqual(doc["_source"], {"order_id": 10001, "customer_name": "Zoë", "price": "0.01"})
        status, found = call("POST", f"/{index}/_search", {"query": {"match": {"customer_name": "zoë"}}})
        self.assertEqual(found["hits"]["total"]["value"], 1)
        status, _ = call("DELETE", f"/{index}/_doc/10001?refresh=true")
        self.assertEqual(status, 200)
        status, _ = call("GET", f"/{index}/_doc/10001")
        self.assertEqual(status, 404)
        call("DELETE", f"/{index}")


if __name__ == "__main__":
    sys.exit(0 if unittest.main(exit=False, verbosity=2).result.wasSuccessful() else 1)
