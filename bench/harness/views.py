"""Pure functions of the Flink benchmark harness: no Kafka, no processes (unit-tested).

- canonical(): one enriched-order document in a form both engines' JSON encodings map to
  (decimals as exact Decimal text, timestamps as ISO-8601 without a trailing zero fraction,
  JSON-text columns parsed), so that equal data compares equal whatever the serializer.
- compact(): the compacted view of an upsert topic (last value per key, tombstone = absent).
- diff_views(): what differs between two compacted views, as a short report.
- percentile(), latency_per_event(): the latency figures of the fixed-rate phase.
- order_id_of(): the order a Debezium orders/shipments event belongs to (fast regex, no parse).
"""

import bisect
import datetime
import decimal
import json
import re

# Output fields: the enriched order document of jobs/order_enrichment. Fields an engine writes
# beyond these are compared too (a field present on one side only is a difference).
KEY_FIELD = "order_id"

_TS_RE = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")


def _canonical_timestamp(text):
    m = _TS_RE.match(text)
    if not m:
        return None
    date, time, frac, zone = m.groups()
    frac = (frac or "").rstrip("0")
    if frac == ".":
        frac = ""
    if zone in (None, "Z", "+00:00", "+0000", "-00:00"):
        return f"{date}T{time}{frac}" + ("Z" if zone else "")
    # An offset other than UTC: convert to UTC so that "+02:00" and "Z" spellings compare.
    dt = datetime.datetime.fromisoformat(f"{date}T{time}{frac or ''}{zone}")
    dt = dt.astimezone(datetime.timezone.utc)
    out = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        out += (".%06d" % dt.microsecond).rstrip("0")
    return out + "Z"


def canonical_value(v):
    """A JSON value in canonical form (see the module comment)."""
    if isinstance(v, bool) or v is None:
        return v
    if isinstance(v, (int, float, decimal.Decimal)):
        d = decimal.Decimal(str(v)) if isinstance(v, float) else decimal.Decimal(v)
        return ("num", format(d.normalize(), "f"))
    if isinstance(v, str):
        ts = _canonical_timestamp(v)
        if ts is not None:
            return ("ts", ts)
        s = v.strip()
        if s[:1] in ("{", "[") and s[-1:] in ("}", "]"):
            try:
                return ("json", json.dumps(json.loads(s, parse_float=decimal.Decimal),
                                           sort_keys=True, default=str))
            except ValueError:
                pass
        return v
    if isinstance(v, (dict, list)):
        return ("json", json.dumps(v, sort_keys=True, default=str))
    return v


def canonical(doc):
    """Canonical form of one decoded output document (a dict)."""
    return {k: canonical_value(v) for k, v in doc.items()}


def parse_doc(raw):
    """Decodes an output value (bytes) keeping decimals exact; None stays None (tombstone)."""
    if raw is None:
        return None
    return json.loads(raw, parse_float=decimal.Decimal)


def key_of(raw_key):
    """The order_id of an output record's key: {"order_id":N}, a bare N, or "N"."""
    if raw_key is None:
        raise ValueError("output record without a key")
    text = raw_key.decode() if isinstance(raw_key, (bytes, bytearray)) else raw_key
    try:
        k = json.loads(text)
    except ValueError:
        return text
    if isinstance(k, dict):
        if KEY_FIELD in k:
            return str(k[KEY_FIELD])
        if len(k) == 1:
            return str(next(iter(k.values())))
        raise ValueError(f"output key has no {KEY_FIELD}: {text!r}")
    return str(k)


def compact(records):
    """records: iterable of (key, value bytes or None). Returns {key: canonical doc}."""
    view = {}
    for key, value in records:
        if value is None:
            view.pop(key, None)
        else:
            view[key] = value
    return {k: canonical(parse_doc(v)) for k, v in view.items()}


def diff_views(a, b, name_a="a", name_b="b", limit=5):
    """Returns (equal, summary text) comparing two compacted views."""
    only_a = sorted(set(a) - set(b), key=_num_key)
    only_b = sorted(set(b) - set(a), key=_num_key)
    differing = []
    for k in sorted(set(a) & set(b), key=_num_key):
        if a[k] != b[k]:
            differing.append(k)
    if not only_a and not only_b and not differing:
        return True, f"equal: {len(a)} keys"
    lines = [f"{len(a)} keys in {name_a}, {len(b)} in {name_b}: {len(only_a)} only in {name_a}, "
             f"{len(only_b)} only in {name_b}, {len(differing)} differ"]
    for k in only_a[:limit]:
        lines.append(f"  only in {name_a}: {k} {a[k]}")
    for k in only_b[:limit]:
        lines.append(f"  only in {name_b}: {k} {b[k]}")
    for k in differing[:limit]:
        fields = sorted(set(a[k]) | set(b[k]))
        d = {f: (a[k].get(f, "<absent>"), b[k].get(f, "<absent>"))
             for f in fields if a[k].get(f, "<absent>") != b[k].get(f, "<absent>")}
        lines.append(f"  key {k} differs: {d}")
    return False, "\n".join(lines)


def _num_key(k):
    try:
        return (0, int(k), "")
    except (TypeError, ValueError):
        return (1, 0, str(k))


def percentile(sorted_values, p):
    """Nearest-rank percentile (p in 0..100) of an ascending list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, -(-len(sorted_values) * p // 100))  # ceil(n * p / 100)
    return sorted_values[int(rank) - 1]


def latency_per_event(inputs, outputs):
    """Latency of each input event: the first output record for its key at or after the
    event's send time, minus that send time (ms).

    inputs:  iterable of (key, send_ms); outputs: iterable of (key, output_ms).
    Returns (sorted latencies, number of inputs that no output followed).
    """
    each = match_latencies(inputs, outputs)
    latencies = sorted(x for x in each if x is not None)
    return latencies, len(each) - len(latencies)


def match_latencies(inputs, outputs):
    """Like latency_per_event, but one entry per input in input order (None: no output)."""
    out_by_key = {}
    for key, ts in outputs:
        out_by_key.setdefault(key, []).append(ts)
    for ts_list in out_by_key.values():
        ts_list.sort()
    result = []
    for key, sent in inputs:
        ts_list = out_by_key.get(key)
        i = bisect.bisect_left(ts_list, sent) if ts_list else 0
        result.append(ts_list[i] - sent if ts_list and i < len(ts_list) else None)
    return result


_ORDER_ID_RE = re.compile(rb'"order_id":(-?\d+)')
_PAYLOAD_RE = re.compile(rb'"payload":')


def order_id_of(value, key=None):
    """The order_id a Debezium orders/shipments change belongs to, read from the payload's
    first row image (before, else after) without a full parse; None for a tombstone or an
    event without one (e.g. products)."""
    if value is None:
        return None
    m = _PAYLOAD_RE.search(value)
    start = m.end() if m else 0
    m = _ORDER_ID_RE.search(value, start)
    return m.group(1).decode() if m else None


def _debezium_payload(value):
    doc = json.loads(value, parse_float=decimal.Decimal)
    return doc.get("payload", doc) if isinstance(doc, dict) and "payload" in doc else doc


def apply_debezium(table, value, pk):
    """Applies one Debezium change (JSON bytes, with or without schemas) to `table`
    ({pk value: row dict}); a tombstone (None) changes nothing."""
    if value is None:
        return
    p = _debezium_payload(value)
    op, before, after = p.get("op"), p.get("before"), p.get("after")
    if op in ("c", "r", "u"):
        if before is not None and before.get(pk) != after.get(pk):
            table.pop(before[pk], None)
        table[after[pk]] = after
    elif op == "d":
        table.pop(before[pk], None)


def debezium_decimal(text, scale):
    """Kafka Connect's Decimal (base64 of the big-endian two's-complement unscaled value)."""
    import base64
    unscaled = int.from_bytes(base64.b64decode(text), "big", signed=True)
    return decimal.Decimal(unscaled).scaleb(-scale)


def enriched_view(orders, shipments, products):
    """The enrichment computed from decoded tables (rows as Debezium JSON writes them: dates in
    epoch ms, decimals in base64): orders LEFT JOIN shipments LEFT JOIN products, canonical."""
    by_order = {}
    for s in shipments.values():
        by_order[s["order_id"]] = s
    view = {}
    for oid, o in orders.items():
        s = by_order.get(oid, {})
        p = products.get(o["product_id"], {})
        order_date = datetime.datetime.fromtimestamp(o["order_date"] / 1000,
                                                     datetime.timezone.utc).replace(tzinfo=None)
        doc = {"order_id": oid, "order_date": order_date.isoformat(),
               "customer_name": o["customer_name"], "price": debezium_decimal(o["price"], 2),
               "product_id": o["product_id"], "order_status": o["order_status"],
               "created_at": o["created_at"], "order_uuid": o["order_uuid"],
               "details": o["details"], "product_name": p.get("name"),
               "product_description": p.get("description"),
               "shipment_id": s.get("shipment_id"), "origin": s.get("origin"),
               "destination": s.get("destination"), "is_arrived": s.get("is_arrived")}
        view[str(oid)] = canonical(doc)
    return view


_BEFORE = b'"payload":{"before":'


def is_noop_update(value):
    """True for a Debezium update whose before and after images are identical (e.g. a shipment
    set to arrived twice): an engine may rightly write nothing for it, so it has no latency."""
    if value is None:
        return False
    i = value.find(_BEFORE)
    if i < 0:
        return False
    i += len(_BEFORE)
    j = value.find(b',"after":', i)
    k = value.find(b',"source":', j)
    if j < 0 or k < 0:
        return False
    before, after = value[i:j], value[j + len(b',"after":'):k]
    return before == after and before != b"null"
