package cdcflow.bench;

import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.table.api.EnvironmentSettings;
import org.apache.flink.table.api.TableEnvironment;
import org.apache.flink.table.api.TableResult;

/**
 * The seed pipeline's order enrichment (orders ⋈ shipments ⋈ products from Debezium topics into an
 * upsert-Kafka topic) written the way a Flink SQL user writes it: debezium-json sources,
 * an upsert-kafka sink, one INSERT ... SELECT. Flink's defaults everywhere except what issue #10
 * fixes: RocksDB state, parallelism 2, a checkpoint every 10 s.
 *
 * <p>Usage: EnrichOrders [--bootstrap 127.0.0.1:9092] [--orders pg.public.orders]
 * [--shipments pg.public.shipments] [--products inventory.public.products]
 * [--output enriched_orders] [--group-id ...] [--parallelism 2] [--checkpoint-interval 10s]
 * [--checkpoint-dir file:///tmp/...] [--target local|remote] [--jobmanager host:restport]
 * [--jar path/to/this.jar] [--restore CHECKPOINT_DIR] [--print-sql]
 *
 * <p>--target local (default) runs the job in a MiniCluster inside this JVM and blocks;
 * --target remote submits it to a standalone session cluster's REST endpoint and returns.
 */
public final class EnrichOrders {
  private EnrichOrders() {}

  public static void main(String[] argv) throws Exception {
    Map<String, String> a = parse(argv);
    String bootstrap = a.getOrDefault("bootstrap", "127.0.0.1:9092");
    String groupId = a.getOrDefault("group-id", "cdcflow-bench-flink");

    Configuration conf = new Configuration();
    conf.setString("parallelism.default", a.getOrDefault("parallelism", "2"));
    conf.setString("state.backend.type", "rocksdb");
    conf.setString("execution.checkpointing.interval", a.getOrDefault("checkpoint-interval", "10s"));
    conf.setString(
        "execution.checkpointing.dir",
        a.getOrDefault("checkpoint-dir", "file:///tmp/cdcflow-bench-flink-checkpoints"));
    // Kept on cancellation and on a crash, so that a killed job can be resumed from them.
    conf.setString(
        "execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
    if (a.containsKey("restore")) {
      conf.setString("execution.state-recovery.path", a.get("restore"));
    }
    conf.setString("table.local-time-zone", "UTC");
    conf.setString("pipeline.name", "order_enrichment (Flink SQL)");
    String target = a.getOrDefault("target", "local");
    if (target.equals("remote")) {
      String[] hp = a.getOrDefault("jobmanager", "127.0.0.1:8081").split(":");
      conf.setString("execution.target", "remote");
      conf.setString("rest.address", hp[0]);
      conf.setString("rest.port", hp[1]);
      conf.setString("execution.attached", "false");
      if (a.containsKey("jar")) {
        conf.setString("pipeline.jars", "file://" + a.get("jar"));
      }
    } else if (!target.equals("local")) {
      throw new IllegalArgumentException("--target must be local or remote, not " + target);
    }

    TableEnvironment t =
        TableEnvironment.create(
            EnvironmentSettings.newInstance().inStreamingMode().withConfiguration(conf).build());
    t.createTemporarySystemFunction("DEBEZIUM_DECIMAL", DebeziumDecimal.class);

    String[] statements = {
      source(
          "orders",
          "order_id INT NOT NULL, order_date BIGINT, customer_name STRING, price BYTES, "
              + "product_id INT, order_status BOOLEAN, created_at STRING, order_uuid STRING, "
              + "details STRING, PRIMARY KEY (order_id) NOT ENFORCED",
          a.getOrDefault("orders", "pg.public.orders"), bootstrap, groupId),
      source(
          "shipments",
          "shipment_id INT NOT NULL, order_id INT, origin STRING, destination STRING, "
              + "is_arrived BOOLEAN, PRIMARY KEY (shipment_id) NOT ENFORCED",
          a.getOrDefault("shipments", "pg.public.shipments"), bootstrap, groupId),
      source(
          "products",
          "id INT NOT NULL, name STRING, description STRING, PRIMARY KEY (id) NOT ENFORCED",
          a.getOrDefault("products", "inventory.public.products"), bootstrap, groupId),
      "CREATE TABLE enriched_orders (\n"
          + "  order_id INT NOT NULL,\n"
          + "  order_date TIMESTAMP(3),\n"
          + "  customer_name STRING,\n"
          + "  price DECIMAL(10, 2),\n"
          + "  product_id INT,\n"
          + "  order_status BOOLEAN,\n"
          + "  created_at STRING,\n"
          + "  order_uuid STRING,\n"
          + "  details STRING,\n"
          + "  product_name STRING,\n"
          + "  product_description STRING,\n"
          + "  shipment_id INT,\n"
          + "  origin STRING,\n"
          + "  destination STRING,\n"
          + "  is_arrived BOOLEAN,\n"
          + "  PRIMARY KEY (order_id) NOT ENFORCED\n"
          + ") WITH (\n"
          + "  'connector' = 'upsert-kafka',\n"
          + "  'topic' = '" + a.getOrDefault("output", "enriched_orders") + "',\n"
          + "  'properties.bootstrap.servers' = '" + bootstrap + "',\n"
          + "  'key.format' = 'json',\n"
          + "  'value.format' = 'json',\n"
          + "  'value.json.timestamp-format.standard' = 'ISO-8601',\n"
          + "  'value.json.encode.decimal-as-plain-number' = 'true'\n"
          + ")",
    };
    String insert =
        "INSERT INTO enriched_orders\n"
            + "SELECT o.order_id,\n"
            + "       CAST(TO_TIMESTAMP_LTZ(o.order_date, 3) AS TIMESTAMP(3)),\n"
            + "       o.customer_name, DEBEZIUM_DECIMAL(o.price), o.product_id, o.order_status,\n"
            + "       o.created_at, o.order_uuid, o.details,\n"
            + "       p.name, p.description,\n"
            + "       s.shipment_id, s.origin, s.destination, s.is_arrived\n"
            + "FROM orders AS o\n"
            + "LEFT JOIN products AS p ON o.product_id = p.id\n"
            + "LEFT JOIN shipments AS s ON o.order_id = s.order_id";
    for (String s : statements) {
      if (a.containsKey("print-sql")) {
        System.out.println(s + ";\n");
      }
      t.executeSql(s);
    }
    if (a.containsKey("print-sql")) {
      System.out.println(insert + ";\n");
      System.out.println(t.explainSql(insert));
      return;
    }
    TableResult result = t.executeSql(insert);
    System.out.println(
        "flink-bench: submitted job "
            + result.getJobClient().map(c -> c.getJobID().toString()).orElse("?"));
    if (target.equals("local")) {
      result.await();
    }
  }

  private static String source(
      String name, String columns, String topic, String bootstrap, String groupId) {
    return "CREATE TABLE " + name + " (" + columns + ") WITH (\n"
        + "  'connector' = 'kafka',\n"
        + "  'topic' = '" + topic + "',\n"
        + "  'properties.bootstrap.servers' = '" + bootstrap + "',\n"
        + "  'properties.group.id' = '" + groupId + "',\n"
        + "  'scan.startup.mode' = 'earliest-offset',\n"
        + "  'format' = 'debezium-json',\n"
        + "  'debezium-json.schema-include' = 'true'\n"
        + ")";
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> m = new HashMap<>();
    for (int i = 0; i < argv.length; ++i) {
      if (!argv[i].startsWith("--")) {
        throw new IllegalArgumentException("unexpected argument " + argv[i]);
      }
      String k = argv[i].substring(2);
      if (k.equals("print-sql")) {
        m.put(k, "true");
      } else if (i + 1 < argv.length) {
        m.put(k, argv[++i]);
      } else {
        throw new IllegalArgumentException("--" + k + " needs a value");
      }
    }
    return m;
  }
}
