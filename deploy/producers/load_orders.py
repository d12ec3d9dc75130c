#!/usr/bin/python3
"""Writes fake orders and their shipments into the seed pipeline's source database.

Each tick is one transaction and one kind of change:
  insert  a new order and its shipment (the default);
  update  an earlier, still present order (fulfilled, price changed) and its shipment (arrived);
  delete  an earlier order and its shipment.
Mutations that move rows between join keys (all off by default):
  move     a shipment moves to another order that has none (--move-ratio); the order it left
           then has no shipment;
  reorder  an order's product changes (--product-change-ratio);
  rename   a product's name and description change, in the products database
           (--rename-ratio, --products-dsn);
  and --no-shipment-ratio: the share of inserted orders that get no shipment (yet).
--update-ratio, --delete-ratio and the mutation ratios choose the share of each kind of tick
(a tick with nothing to touch becomes an insert). The default pace is one tick every 10 seconds
(--rate 0.1); --rate N is N ticks per second, 0 meaning as fast as the database goes.
--count N stops after N ticks (default: run until interrupted).

With --seed the run is reproducible: the same seed into the same (e.g. fresh) tables writes the
same rows, timestamps included (they then start at --start-time instead of now). At the end,
also on SIGINT/SIGTERM, it prints a JSON summary of what it wrote to stdout.
"""

import argparse
import datetime
import decimal
import json
import os
import random
import signal
import sys
import time
import uuid

try:
    import psycopg2
except ImportError:  # pragma: no cover - depends on the machine
    sys.exit("load_orders: needs python3-psycopg2 (bash deploy/install-deps.sh installs it)")

FIRST_NAMES = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Radia",
               "Niklaus", "Margaret", "John", "Leslie", "Sophie", "Jürgen", "Zoë"]
LAST_NAMES = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
              "Perlman", "Wirth", "Hamilton", "Backus", "Lamport", "Wilson", "Schmidhuber", "Ørsted"]
CITIES = ["Beijing", "Shanghai", "Hangzhou", "Berlin", "Paris", "New York", "São Paulo", "Lagos",
          "Mumbai", "Sydney", "Toronto", "Reykjavík"]
CHANNELS = ["web", "store", "phone", "partner"]
PRODUCT_IDS = list(range(101, 110))  # the catalogue written by load_products.py
MUTATIONS = ("move_ratio", "product_change_ratio", "rename_ratio")
ADJECTIVES = ["deluxe", "compact", "refurbished", "blue", "heavy-duty", "classic", "mini", "pro"]


def default_dsn(dbname="cdcflow"):
    port = os.environ.get("CDCFLOW_PG_PORT", "5432")
    return f"host=127.0.0.1 port={port} user=postgres dbname={dbname}"


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("CDCFLOW_ORDERS_DSN", default_dsn()),
                   help="PostgreSQL connection string of the orders database (default: %(default)s)")
    p.add_argument("--rate", type=float, default=0.1,
                   help="ticks per second; 0 = unthrottled (default 0.1: one every 10 s)")
    p.add_argument("--count", type=int, default=0, help="stop after N ticks (default: run on)")
    p.add_argument("--update-ratio", type=float, default=0.0,
                   help="share of ticks that update an earlier order (0..1)")
    p.add_argument("--delete-ratio", type=float, default=0.0,
                   help="share of ticks that delete an earlier order (0..1)")
    p.add_argument("--move-ratio", type=float, default=0.0,
                   help="share of ticks that move a shipment to an order without one (0..1)")
    p.add_argument("--product-change-ratio", type=float, default=0.0,
                   help="share of ticks that change an order's product (0..1)")
    p.add_argument("--rename-ratio", type=float, default=0.0,
                   help="share of ticks that rename a product in the products database (0..1)")
    p.add_argument("--no-shipment-ratio", type=float, default=0.0,
                   help="share of inserted orders written without a shipment (0..1)")
    p.add_argument("--products-dsn",
                   default=os.environ.get("CDCFLOW_PRODUCTS_DSN", default_dsn("inventory")),
                   help="PostgreSQL connection string of the products database, for --rename-ratio"
                        " (default: %(default)s)")
    p.add_argument("--seed", type=int, default=None, help="makes the run reproducible")
    p.add_argument("--start-time", default="2026-01-01T00:00:00+00:00",
                   help="first order's time when --seed is given (ISO 8601)")
    p.add_argument("--verbose", action="store_true", help="print each change to stderr")
    args = p.parse_args(argv)
    if args.rate < 0:
        p.error("--rate must be >= 0")
    if args.count < 0:
        p.error("--count must be >= 0")
    for name in ("update_ratio", "delete_ratio") + MUTATIONS + ("no_shipment_ratio",):
        if not 0.0 <= getattr(args, name) <= 1.0:
            p.error(f"--{name.replace('_', '-')} must be between 0 and 1")
    if args.update_ratio + args.delete_ratio + sum(getattr(args, m) for m in MUTATIONS) > 1.0:
        p.error("--update-ratio + --delete-ratio (+ the mutation ratios) must not exceed 1")
    try:
        args.start_time = datetime.datetime.fromisoformat(args.start_time)
    except ValueError:
        p.error(f"--start-time: not an ISO 8601 time: {args.start_time!r}")
    if args.start_time.tzinfo is None:
        args.start_time = args.start_time.replace(tzinfo=datetime.timezone.utc)
    return args


class OrderWriter:
    """Generates changes from one seeded random stream and writes them, one tick per transaction."""

    def __init__(self, conn, rng, clock, products_conn=None):
        self.conn = conn
        self.products_conn = products_conn  # opened only for renames
        self.rng = rng
        self.clock = clock  # tick index -> aware datetime
        self.live = []  # order ids present in the table, ascending by insertion
        self.counts = {t: {"inserted": 0, "updated": 0, "deleted": 0}
                       for t in ("orders", "shipments", "products")}
        self.inserted_ids, self.updated_ids, self.deleted_ids = [], [], []
        self.moves = self.product_changes = self.renames = 0
        with conn.cursor() as cur:
            cur.execute("SELECT order_id FROM orders ORDER BY order_id")
            self.live = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT o.order_id FROM orders o WHERE NOT EXISTS"
                        " (SELECT 1 FROM shipments s WHERE s.order_id = o.order_id)"
                        " ORDER BY o.order_id")
            self.unshipped = [r[0] for r in cur.fetchall()]  # live orders without a shipment

    def tick(self, index, args):
        r = self.rng.random()
        bound = args.delete_ratio
        if self.live and r < bound:
            return self.delete(index)
        bound += args.update_ratio
        if self.live and r < bound:
            return self.update(index)
        bound += args.move_ratio
        if r < bound and self.unshipped and len(self.unshipped) < len(self.live):
            return self.move(index)
        bound += args.product_change_ratio
        if r < bound and self.live:
            return self.change_product(index)
        bound += args.rename_ratio
        if r < bound and self.products_conn is not None:
            return self.rename(index)
        return self.insert(index, args.no_shipment_ratio)

    def move(self, index):
        """Moves the shipment of a random shipped order to a random order without one."""
        unshipped = set(self.unshipped)
        shipped = [o for o in self.live if o not in unshipped]
        source = self.rng.choice(shipped)
        target = self.unshipped.pop(self.rng.randrange(len(self.unshipped)))
        with self.conn.cursor() as cur:
            cur.execute("UPDATE shipments SET order_id = %s WHERE order_id = %s", (target, source))
            moved = cur.rowcount
        self.conn.commit()
        self.unshipped.append(source)
        self.moves += 1
        self.counts["shipments"]["updated"] += moved
        return f"move the shipment of order {source} to order {target}"

    def change_product(self, index):
        order_id = self.rng.choice(self.live)
        product_id = self.rng.choice(PRODUCT_IDS)
        with self.conn.cursor() as cur:
            cur.execute("UPDATE orders SET product_id = %s WHERE order_id = %s",
                        (product_id, order_id))
            changed = cur.rowcount
        self.conn.commit()
        self.product_changes += 1
        self.counts["orders"]["updated"] += changed
        return f"order {order_id} now has product {product_id}"

    def rename(self, index):
        product_id = self.rng.choice(PRODUCT_IDS)
        adjective = self.rng.choice(ADJECTIVES)
        with self.products_conn.cursor() as cur:
            cur.execute("UPDATE products SET name = split_part(name, ' (', 1) || %s,"
                        " description = split_part(description, ' (', 1) || %s WHERE id = %s",
                        (f" ({adjective} {index})", f" ({adjective})", product_id))
            renamed = cur.rowcount
        self.products_conn.commit()
        self.renames += 1
        self.counts["products"]["updated"] += renamed
        return f"rename product {product_id} ({adjective} {index})"

    def insert(self, index, no_shipment_ratio=0.0):
        rng = self.rng
        now = self.clock(index)
        customer = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        price = decimal.Decimal(rng.randrange(100, 100000)) / 100
        product_id = rng.choice(PRODUCT_IDS)
        order_uuid = uuid.UUID(int=rng.getrandbits(128), version=4)
        details = {"channel": rng.choice(CHANNELS), "items": rng.randint(1, 5),
                   "gift": rng.random() < 0.2, "note": rng.choice([None, "leave at door", "fragile ✓"])}
        origin, destination = rng.sample(CITIES, 2)
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO orders (order_date, customer_name, price, product_id, order_status,"
                " created_at, order_uuid, details) VALUES (%s, %s, %s, %s, false, %s, %s, %s)"
                " RETURNING order_id",
                (now.astimezone(datetime.timezone.utc).replace(tzinfo=None), customer, price,
                 product_id, now, str(order_uuid), json.dumps(details, ensure_ascii=False)))
            order_id = cur.fetchone()[0]
            # Only drawn when asked for, so that seeded runs without it stay as they were.
            ship = no_shipment_ratio <= 0 or rng.random() >= no_shipment_ratio
            if ship:
                cur.execute(
                    "INSERT INTO shipments (order_id, origin, destination, is_arrived)"
                    " VALUES (%s, %s, %s, false)", (order_id, origin, destination))
        self.conn.commit()
        self.live.append(order_id)
        if not ship:
            self.unshipped.append(order_id)
        self.inserted_ids.append(order_id)
        self.counts["orders"]["inserted"] += 1
        self.counts["shipments"]["inserted"] += int(ship)
        return f"insert order {order_id} ({customer}, {price}, product {product_id})"

    def update(self, index):
        order_id = self.rng.choice(self.live)
        new_price = decimal.Decimal(self.rng.randrange(100, 100000)) / 100
        with self.conn.cursor() as cur:
            cur.execute("UPDATE orders SET order_status = true, price = %s WHERE order_id = %s",
                        (new_price, order_id))
            orders = cur.rowcount
            cur.execute("UPDATE shipments SET is_arrived = true WHERE order_id = %s", (order_id,))
            shipments = cur.rowcount
        self.conn.commit()
        self.updated_ids.append(order_id)
        self.counts["orders"]["updated"] += orders
        self.counts["shipments"]["updated"] += shipments
        return f"update order {order_id} (price {new_price}, fulfilled, arrived)"

    def delete(self, index):
        order_id = self.live.pop(self.rng.randrange(len(self.live)))
        if order_id in self.unshipped:
            self.unshipped.remove(order_id)
        with self.conn.cursor() as cur:
            cur.execute("DELETE FROM shipments WHERE order_id = %s", (order_id,))
            shipments = cur.rowcount
            cur.execute("DELETE FROM orders WHERE order_id = %s", (order_id,))
            orders = cur.rowcount
        self.conn.commit()
        self.deleted_ids.append(order_id)
        self.counts["orders"]["deleted"] += orders
        self.counts["shipments"]["deleted"] += shipments
        return f"delete order {order_id}"


def main(argv):
    args = parse_args(argv)
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**31)
    rng = random.Random(seed)
    interval = 1.0 / args.rate if args.rate > 0 else 1.0
    if args.seed is not None:
        def clock(i):
            return args.start_time + datetime.timedelta(seconds=i * interval)
    else:
        def clock(_):
            return datetime.datetime.now(datetime.timezone.utc)

    # A signal stops the run between ticks, so that the summary counts every committed tick.
    stopping = []

    def on_signal(signum, _frame):
        stopping.append(signum)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        conn = psycopg2.connect(args.dsn)
    except psycopg2.Error as e:
        sys.exit(f"load_orders: cannot connect to {args.dsn!r}: {e}".strip())
    products_conn = None
    if args.rename_ratio > 0:
        try:
            products_conn = psycopg2.connect(args.products_dsn)
        except psycopg2.Error as e:
            sys.exit(f"load_orders: cannot connect to the products database {args.products_dsn!r}:"
                     f" {e}".strip())
    writer = OrderWriter(conn, rng, clock, products_conn)
    started = time.monotonic()
    ticks = 0
    try:
        while (args.count == 0 or ticks < args.count) and not stopping:
            if args.rate > 0:
                due = started + ticks * interval
                while not stopping and time.monotonic() < due:
                    time.sleep(max(0.0, min(0.2, due - time.monotonic())))
                if stopping:
                    break
            what = writer.tick(ticks, args)
            ticks += 1
            if args.verbose:
                print(f"load_orders: {what}", file=sys.stderr, flush=True)
    except psycopg2.Error as e:
        print(f"load_orders: database error after {ticks} ticks: {e}".strip(), file=sys.stderr)
        print_summary(args, seed, ticks, started, writer)
        return 1
    finally:
        conn.close()
        if products_conn is not None:
            products_conn.close()
    print_summary(args, seed, ticks, started, writer)
    return 0


def print_summary(args, seed, ticks, started, writer):
    summary = {
        "ticks": ticks,
        "seed": seed,
        "rate": args.rate,
        "update_ratio": args.update_ratio,
        "delete_ratio": args.delete_ratio,
        "elapsed_s": round(time.monotonic() - started, 3),
        "orders": writer.counts["orders"],
        "shipments": writer.counts["shipments"],
        "products": writer.counts["products"],
        "moves": writer.moves,
        "product_changes": writer.product_changes,
        "renames": writer.renames,
        "inserted_order_ids": writer.inserted_ids,
        "updated_order_ids": writer.updated_ids,
        "deleted_order_ids": writer.deleted_ids,
        "live_order_ids": sorted(writer.live),
    }
    print(json.dumps(summary), flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
