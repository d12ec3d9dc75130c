// Runs a single OpenSearch 2.19 node from plain Maven Central jars, for the local pipeline and
// the integration tests only.
//
// A packaged distribution starts through org.opensearch.bootstrap.OpenSearch, which refuses to run
// as root, installs a security manager and loads modules from per-module directories holding
// descriptor and policy files that only the distribution archive ships. None of that is on Maven
// Central, so this launcher builds the node directly with its modules as classpath plugins, the
// way OpenSearch's own test framework does. Security is off: there is no security plugin.
//
// Usage: java -cp '<jars>:<this class>' -Dopensearch.path.home=HOME LocalOpenSearch
// HOME/config must hold opensearch.yml and log4j2.properties.

import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

public final class LocalOpenSearch {
  private static final class LocalNode extends Node {
    LocalNode(Environment environment, Collection<Class<? extends Plugin>> plugins) {
      super(environment, plugins, true);
    }
  }

  public static void main(String[] args) throws Exception {
    Path home = Paths.get(System.getProperty("opensearch.path.home"));
    Settings initial = Settings.builder().put("path.home", home.toString()).build();
    Environment environment = InternalSettingsPreparer.prepareEnvironment(
        initial, Map.of(), home.resolve("config"), () -> "cdcflow-local");
    LogConfigurator.registerErrorListener();
    LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(environment.settings()));
    LogConfigurator.configure(environment);

    Node node = new LocalNode(
        environment, List.of(Netty4Plugin.class, CommonAnalysisPlugin.class));
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      try {
        node.close();
        node.awaitClose(10, TimeUnit.SECONDS);
      } catch (Exception e) {
        e.printStackTrace();
      } finally {
        stopped.countDown();
      }
    }));
    node.start();
    System.out.println("LocalOpenSearch: node started");
    stopped.await();
  }
}
