package newswire.testnode;

import org.elasticsearch.Build;
import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginBundle;
import org.elasticsearch.plugins.PluginsLoader;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A single Elasticsearch node for the test suite, built from Maven jars.
 *
 * <p>Usage: {@code TestNode <home> <modules-dir> <http-port> <transport-port> [key=value ...]}; each
 * {@code key=value} is one more node setting and wins over the defaults below (a test instance with a tiny
 * write queue, say). The server jars are on
 * the class path; each module (transport-netty4 and the test node's own) is a folder of jars with a
 * plugin-descriptor.properties, loaded by Elasticsearch's own {@link PluginsLoader} in its own class
 * loader, as on a stock node. Runs until SIGTERM, then closes the node. Started by
 * {@code scripts/services}, never by hand.
 *
 * <p>Unlike the stock launcher ({@code org.elasticsearch.bootstrap.Elasticsearch}) this runs neither
 * the bootstrap checks, the entitlement agent nor the "can not run elasticsearch as root" check: it
 * constructs the {@link Node} directly, as Elasticsearch's single-node test framework does.
 */
public final class TestNode {
    private TestNode() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 4) {
            System.err.println("usage: TestNode <home> <modules-dir> <http-port> <transport-port> [key=value ...]");
            System.exit(2);
        }
        Path home = Path.of(args[0]).toAbsolutePath();
        Path modulesDir = Path.of(args[1]).toAbsolutePath();
        Settings.Builder builder = Settings.builder()
            .put("node.name", "newswire-test")
            .put("cluster.name", "newswire-test")
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", Integer.parseInt(args[2]))
            .put("transport.port", Integer.parseInt(args[3]))
            // A nearly full disk on a developer machine must not turn the test indices read-only.
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put("logger.level", "INFO")
            // libvec/libzstd are not on Maven Central: the node runs without native methods. Keep the
            // one-line notice out of the log as a stack trace (docs/test-services.md says so).
            .put("logger.org.elasticsearch.nativeaccess", "ERROR");
        for (int i = 4; i < args.length; i++) {
            int equals = args[i].indexOf('=');
            if (equals <= 0) {
                System.err.println("not a key=value setting: " + args[i]);
                System.exit(2);
            }
            builder.put(args[i].substring(0, equals), args[i].substring(equals + 1));
        }
        Settings settings = builder.build();
        Files.createDirectories(home.resolve("config"));

        LogConfigurator.configureESLogging();
        LogConfigurator.configureWithoutConfig(settings);

        Set<PluginBundle> modules = PluginsLoader.loadModulesBundles(modulesDir, false);
        PluginsLoader pluginsLoader = PluginsLoader.createPluginsLoader(modules, Set.of(), Map.of(), false);
        Node node = new Node(new Environment(settings, home.resolve("config")), pluginsLoader);

        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "newswire-test-node-shutdown"));

        node.start();
        System.out.println("newswire test node started: elasticsearch " + Build.current().qualifiedVersion()
            + " on http://127.0.0.1:" + args[2]);
        closed.await();
    }
}
