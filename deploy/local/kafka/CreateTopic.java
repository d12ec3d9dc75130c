// Creates a Kafka topic with the given partitions and configs, or, when it exists, sets its
// configs (the partition count is then left alone). Run as a single-file Java program with the
// Kafka jars that deploy/local/services.sh fetched:
//   java -cp "$CDCFLOW_LIB_DIR/kafka/*" deploy/local/kafka/CreateTopic.java \
//     BOOTSTRAP TOPIC PARTITIONS [key=value ...]
// e.g. ... 127.0.0.1:9092 enriched_orders 2 cleanup.policy=compact
// Used for the upsert topic of the order-enrichment job, which must be compacted.
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.errors.TopicExistsException;

public class CreateTopic {
  public static void main(String[] args) throws Exception {
    if (args.length < 3) {
      System.err.println("usage: CreateTopic BOOTSTRAP TOPIC PARTITIONS [key=value ...]");
      System.exit(2);
    }
    Map<String, String> configs = new HashMap<>();
    for (int i = 3; i < args.length; i++) {
      int eq = args[i].indexOf('=');
      if (eq <= 0) {
        System.err.println("CreateTopic: not key=value: " + args[i]);
        System.exit(2);
      }
      configs.put(args[i].substring(0, eq), args[i].substring(eq + 1));
    }
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, "30000");
    try (Admin admin = Admin.create(props)) {
      NewTopic topic = new NewTopic(args[1], Integer.parseInt(args[2]), (short) 1).configs(configs);
      try {
        admin.createTopics(Set.of(topic)).all().get();
        System.out.println("created topic " + args[1] + " " + configs);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw e;
        List<AlterConfigOp> ops = new ArrayList<>();
        configs.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v), AlterConfigOp.OpType.SET)));
        ConfigResource res = new ConfigResource(ConfigResource.Type.TOPIC, args[1]);
        admin.incrementalAlterConfigs(Map.of(res, ops)).all().get();
        System.out.println("topic " + args[1] + " exists; set " + configs);
      }
    }
  }
}
